//! ACP warm-session benchmark: time from `POST /api/tasks` to the first delta on the session's WebSocket,
//! for the first turn of a session (cold: spawn, initialize, session/new) and the second (warm: the same
//! process and agent session). The agent is the scripted fake agent, whose own start-up is a few
//! milliseconds; real agents add their initialize time (1–2 s, real-agents.md) to the cold turn only.
//! Run: `cargo bench -p boocode-fake-acp-agent --bench acp_warm`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{Kit, frames_until};
use serde_json::json;

const SESSIONS: usize = 20;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn first_delta_ms(kit: &Kit, pid: &str, session: &str) -> f64 {
    let mut ws = kit.ws(session, None).await;
    let started = Instant::now();
    let task = kit.task(json!({"project_id": pid, "session_id": session, "input": "[[say:hello]]", "agent": "fake"})).await;
    frames_until(&mut ws, |f| f["type"] == "delta" && f["content"] == "hello").await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    kit.wait_task(task["id"].as_str().unwrap()).await;
    ms
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let providers =
        json!({"providers": {"fake": {"command": env!("CARGO_BIN_EXE_fake-acp-agent")}}})
            .to_string();
    let kit = Kit::start_with_files(&[("providers.json", providers)], |_| {}).await;
    let (pid, _) = kit.coding_project("bench").await;
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..SESSIONS {
        let s = kit
            .ok(
                "POST",
                &format!("/api/projects/{pid}/sessions"),
                Some(json!({})),
            )
            .await;
        let sid = s["id"].as_str().unwrap().to_owned();
        cold.push(first_delta_ms(&kit, &pid, &sid).await);
        warm.push(first_delta_ms(&kit, &pid, &sid).await);
    }
    let (c50, c99) = (pct(&mut cold, 0.5), pct(&mut cold, 0.99));
    let (w50, w99) = (pct(&mut warm, 0.5), pct(&mut warm, 0.99));
    let out = format!(
        "{SESSIONS} sessions, each a cold then a warm turn of the fake ACP agent.\n\n\
         | turn | POST → first delta p50 / p99 (ms) |\n|---|---|\n\
         | cold (spawn + initialize + session/new + worktree) | {c50:.1} / {c99:.1} |\n\
         | warm (same process and agent session) | {w50:.1} / {w99:.1} |\n\n\
         Cold / warm ratio (p50): {:.1}×\n",
        c50 / w50
    );
    println!("{out}");
    let target =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-acp-warm.md");
    std::fs::write(target, &out).unwrap();
}
