//! Warm-session benchmark: time from `POST /api/tasks` to the first delta on the session's WebSocket,
//! for the first turn of a session (cold: spawn, initialize, session/new) and the second (warm: the same
//! process and agent session). The agent is the scripted fake agent, whose own start-up is a few
//! milliseconds; real agents add their initialize time (1–2 s) to the cold turn only.
//! For opencode's server backend, cold is a new `opencode serve` for the turn (the running one is killed
//! first), warm the next turn on it.
//! Run: `cargo bench -p boocode-fake-acp-agent --bench acp_warm`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{Kit, frames_until, opencode_server_pid};
use serde_json::json;

const SESSIONS: usize = 20;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn first_delta_ms(kit: &Kit, pid: &str, session: &str, agent: &str) -> f64 {
    let mut ws = kit.ws(session, None).await;
    let started = Instant::now();
    // The fake agent answers [[say:…]] itself; real agents relay fakellm's [[reply:…]].
    let input = if agent == "fake" {
        "[[say:hello]]"
    } else {
        "[[reply:hello]]"
    };
    let task = kit
        .task(json!({"project_id": pid, "session_id": session, "input": input, "agent": agent}))
        .await;
    // The reply's first delta: not the user message's frames, which come first.
    let started_frames = frames_until(&mut ws, |f| {
        f["type"] == "message_started" && f["role"] == "assistant"
    })
    .await;
    let reply_id = started_frames.last().unwrap()["message_id"].clone();
    frames_until(&mut ws, |f| {
        f["type"] == "delta" && f["message_id"] == reply_id
    })
    .await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    kit.wait_task_for(
        task["id"].as_str().unwrap(),
        std::time::Duration::from_secs(90),
    )
    .await;
    ms
}

async fn measure(kit: &Kit, pid: &str, agent: &str, sessions: usize) -> String {
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..sessions {
        let s = kit
            .ok(
                "POST",
                &format!("/api/projects/{pid}/sessions"),
                Some(json!({})),
            )
            .await;
        let sid = s["id"].as_str().unwrap().to_owned();
        if agent == "opencode"
            && let Some(server) = opencode_server_pid(&kit.dir.path().join("data"))
        {
            // A new server for the cold turn.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &server.to_string()])
                .status();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        cold.push(first_delta_ms(kit, pid, &sid, agent).await);
        warm.push(first_delta_ms(kit, pid, &sid, agent).await);
    }
    let (c50, c99) = (pct(&mut cold, 0.5), pct(&mut cold, 0.99));
    let (w50, w99) = (pct(&mut warm, 0.5), pct(&mut warm, 0.99));
    format!(
        "| {agent} | {sessions} | {c50:.1} / {c99:.1} | {w50:.1} / {w99:.1} | {:.1}× |\n",
        c50 / w50
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut providers =
        json!({"providers": {"fake": {"command": env!("CARGO_BIN_EXE_fake-acp-agent")}}});
    let real = std::env::var_os("BOOCODE_AGENTS_BIN")
        .map(std::path::PathBuf::from)
        .filter(|d| d.join("qwen").exists());
    if let Some(bin) = &real {
        providers["providers"]["qwen"] = json!({"command": bin.join("qwen")});
        providers["providers"]["opencode"] = json!({"command": bin.join("opencode")});
        providers["providers"]["opencode-acp"] =
            json!({"command": bin.join("opencode"), "backend": "acp", "args": ["acp"]});
    }
    let kit = Kit::start_with_files(&[("providers.json", providers.to_string())], |c| {
        c.default_model = Some("fake-model".into())
    })
    .await;
    let (pid, _) = kit.coding_project("bench").await;
    let mut out = String::from(
        "Time from `POST /api/tasks` to the first delta: a session's first turn (cold) and its second (warm). \
         `opencode` is the warm `opencode serve` backend (cold: a new server for the turn); `opencode-acp` is \
         `opencode acp`.\n\n\
         | agent | sessions | cold p50 / p99 (ms) | warm p50 / p99 (ms) | cold / warm (p50) |\n|---|---|---|---|---|\n",
    );
    out.push_str(&measure(&kit, &pid, "fake", SESSIONS).await);
    match &real {
        Some(_) => {
            for agent in ["qwen", "opencode-acp", "opencode"] {
                out.push_str(&measure(&kit, &pid, agent, 5).await);
            }
        }
        None => out.push_str("\n(real agents skipped: BOOCODE_AGENTS_BIN unset; `eval \"$(scripts/install-test-agents)\"` first)\n"),
    }
    println!("{out}");
    let target =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-acp-warm.md");
    std::fs::write(target, &out).unwrap();
}
