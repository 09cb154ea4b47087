//! Model-affinity scheduling (docs/ARCHITECTURE.md §9): people who code with local models share one GPU, and every
//! switch of model behind llama-swap costs a load. Among the tasks that could start, prefer those whose
//! model is loaded (or already running here), so a queue alternating models runs in batches instead of
//! swapping on every task; hold the others back as `waiting_for_model` — but never past an age bound,
//! after which the oldest runs regardless. A per-model cap limits how many tasks of one model run at
//! once. Servers that do not say what is loaded count every model as loaded: plain FIFO.

use std::collections::{HashMap, HashSet};

use boocode_protocol::TaskId;
use boocode_store::ClaimCandidate;
use chrono::{DateTime, Utc};

/// What the scheduler knows when it picks.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Prefer loaded models at all (off: FIFO).
    pub affinity: bool,
    /// Models the server has loaded; `None` when it does not say.
    pub loaded: Option<HashSet<String>>,
    /// Tasks running in this process, per model.
    pub running: HashMap<String, usize>,
    /// Most tasks of one model at once.
    pub per_model_cap: Option<usize>,
    /// A task queued longer than this runs regardless of its model.
    pub starve_after: chrono::Duration,
    /// The model of tasks that name none.
    pub default_model: Option<String>,
}

/// The scheduler's decision for one free slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choice {
    /// The task to start, if any may.
    pub start: Option<TaskId>,
    /// Tasks held back for their model (not yet marked so).
    pub hold: Vec<TaskId>,
}

impl Policy {
    fn model_of(&self, c: &ClaimCandidate) -> Option<String> {
        c.model.clone().or_else(|| self.default_model.clone())
    }

    fn capped(&self, model: Option<&str>) -> bool {
        match (self.per_model_cap, model) {
            (Some(cap), Some(m)) => self.running.get(m).copied().unwrap_or(0) >= cap,
            _ => false,
        }
    }

    /// Picks among `candidates` (oldest first).
    pub fn choose(&self, candidates: &[ClaimCandidate], now: DateTime<Utc>) -> Choice {
        let open: Vec<(&ClaimCandidate, Option<String>)> = candidates
            .iter()
            .map(|c| (c, self.model_of(c)))
            .filter(|(_, m)| !self.capped(m.as_deref()))
            .collect();
        let oldest = open.first().map(|(c, _)| c.id.clone());
        // FIFO when affinity is off or the server does not say what is loaded.
        let Some(loaded) = self.loaded.as_ref().filter(|_| self.affinity) else {
            return Choice {
                start: oldest,
                hold: Vec::new(),
            };
        };
        let hot: HashSet<&str> = loaded
            .iter()
            .map(String::as_str)
            .chain(
                self.running
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .map(|(m, _)| m.as_str()),
            )
            .collect();
        let is_hot = |m: &Option<String>| m.as_deref().is_none_or(|m| hot.contains(m));
        let starving = |c: &ClaimCandidate| now - c.created_at >= self.starve_after;
        let running_here: usize = self.running.values().sum();
        let start = open
            .iter()
            .find(|(c, _)| starving(c))
            .or_else(|| open.iter().find(|(_, m)| is_hot(m)))
            // Nothing loaded is wanted and nothing runs here: a swap is due; the oldest goes first.
            .or_else(|| open.first().filter(|_| running_here == 0))
            .map(|(c, _)| c.id.clone());
        let hold = open
            .iter()
            .filter(|(c, m)| Some(&c.id) != start.as_ref() && !c.waiting && !is_hot(m))
            .map(|(c, _)| c.id.clone())
            .collect();
        Choice { start, hold }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str, model: &str, age_s: i64, now: DateTime<Utc>) -> ClaimCandidate {
        ClaimCandidate {
            id: TaskId(id.into()),
            model: Some(model.into()),
            created_at: now - chrono::Duration::seconds(age_s),
            waiting: false,
            project_path: String::new(),
            note: None,
        }
    }

    fn policy(loaded: Option<&[&str]>, running: &[(&str, usize)]) -> Policy {
        Policy {
            affinity: true,
            loaded: loaded.map(|l| l.iter().map(|m| (*m).to_owned()).collect()),
            running: running.iter().map(|(m, n)| ((*m).to_owned(), *n)).collect(),
            per_model_cap: None,
            starve_after: chrono::Duration::seconds(60),
            default_model: None,
        }
    }

    #[test]
    fn loaded_models_go_first_and_the_others_are_held() {
        let now = Utc::now();
        let queue = [
            cand("b1", "B", 5, now),
            cand("a1", "A", 4, now),
            cand("b2", "B", 3, now),
        ];
        let c = policy(Some(&["A"]), &[]).choose(&queue, now);
        assert_eq!(c.start, Some(TaskId("a1".into())));
        assert_eq!(c.hold, [TaskId("b1".into()), TaskId("b2".into())]);
    }

    #[test]
    fn a_model_running_here_counts_as_loaded_and_a_swap_waits_for_it() {
        let now = Utc::now();
        let queue = [cand("b1", "B", 5, now), cand("a2", "A", 4, now)];
        // A is loading for a running task (the server may not say so yet).
        let c = policy(Some(&[]), &[("A", 1)]).choose(&queue, now);
        assert_eq!(c.start, Some(TaskId("a2".into())));
        let only_b = [cand("b1", "B", 5, now)];
        let c = policy(Some(&["A"]), &[("A", 1)]).choose(&only_b, now);
        assert_eq!(c.start, None, "B waits until A's task is done");
        // Once nothing runs here, the swap happens, oldest first.
        let c = policy(Some(&["A"]), &[]).choose(&only_b, now);
        assert_eq!(c.start, Some(TaskId("b1".into())));
    }

    #[test]
    fn nobody_starves_past_the_age_bound() {
        let now = Utc::now();
        let queue = [cand("b1", "B", 61, now), cand("a1", "A", 1, now)];
        let c = policy(Some(&["A"]), &[("A", 1)]).choose(&queue, now);
        assert_eq!(c.start, Some(TaskId("b1".into())));
    }

    #[test]
    fn servers_that_do_not_say_and_affinity_off_mean_fifo() {
        let now = Utc::now();
        let queue = [cand("b1", "B", 5, now), cand("a1", "A", 4, now)];
        assert_eq!(
            policy(None, &[]).choose(&queue, now).start,
            Some(TaskId("b1".into()))
        );
        let mut off = policy(Some(&["A"]), &[]);
        off.affinity = false;
        let c = off.choose(&queue, now);
        assert_eq!((c.start, c.hold), (Some(TaskId("b1".into())), Vec::new()));
    }

    #[test]
    fn the_per_model_cap_holds_even_loaded_models() {
        let now = Utc::now();
        let queue = [cand("a2", "A", 5, now), cand("b1", "B", 4, now)];
        let mut p = policy(Some(&["A", "B"]), &[("A", 2)]);
        p.per_model_cap = Some(2);
        assert_eq!(p.choose(&queue, now).start, Some(TaskId("b1".into())));
    }
}
