//! A project's leaderboard: every agent and model that raced in its arenas, with wins, completed lanes,
//! check pass rate and median wall time and speed — which local model to use for this repository.

use std::collections::BTreeMap;

use boocode_protocol::{Arena, CheckStatus, LeaderboardEntry, ProjectId, TaskState};

use super::{ArenaError, list};
use crate::app::AppState;

/// The leaderboard over the project's arenas, best first: most wins, then best check pass rate, then
/// fastest.
pub async fn leaderboard(
    state: &AppState,
    project: &ProjectId,
) -> Result<Vec<LeaderboardEntry>, ArenaError> {
    Ok(rank(&list(state, project).await?))
}

#[derive(Default)]
struct Tally {
    arenas: u32,
    wins: u32,
    completed: u32,
    checks_run: u32,
    checks_passed: u32,
    times: Vec<u64>,
    speeds: Vec<f64>,
}

/// The entries for these arenas (pure, so it is tested without a server).
pub fn rank(arenas: &[Arena]) -> Vec<LeaderboardEntry> {
    let mut tallies: BTreeMap<(String, Option<String>), Tally> = BTreeMap::new();
    for arena in arenas {
        for lane in &arena.contenders {
            let t = tallies
                .entry((lane.agent.clone(), lane.model.clone()))
                .or_default();
            t.arenas += 1;
            if arena.picked == Some(lane.index) {
                t.wins += 1;
            }
            if lane.state == TaskState::Completed {
                t.completed += 1;
                t.times.extend(lane.duration_ms);
                t.speeds.extend(lane.tokens_per_second);
            }
            if let Some(check) = &lane.check {
                t.checks_run += 1;
                if check.status == CheckStatus::Passed {
                    t.checks_passed += 1;
                }
            }
        }
    }
    let mut out: Vec<LeaderboardEntry> = tallies
        .into_iter()
        .map(|((agent, model), mut t)| LeaderboardEntry {
            agent,
            model,
            arenas: t.arenas,
            wins: t.wins,
            completed: t.completed,
            checks_run: t.checks_run,
            checks_passed: t.checks_passed,
            median_ms: median_u64(&mut t.times),
            median_tokens_per_second: median_f64(&mut t.speeds),
        })
        .collect();
    let rate = |e: &LeaderboardEntry| {
        if e.checks_run == 0 {
            -1.0
        } else {
            f64::from(e.checks_passed) / f64::from(e.checks_run)
        }
    };
    out.sort_by(|a, b| {
        b.wins.cmp(&a.wins).then(rate(b).total_cmp(&rate(a))).then(
            a.median_ms
                .unwrap_or(u64::MAX)
                .cmp(&b.median_ms.unwrap_or(u64::MAX)),
        )
    });
    out
}

fn median_u64(v: &mut [u64]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

fn median_f64(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}
