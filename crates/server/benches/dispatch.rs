//! Queue benchmark: enqueue → start latency through the wake-up path (in-process notify on SQLite,
//! `LISTEN tasks_new` on PostgreSQL) and how many no-op tasks the queue drains per second.
//!
//! Latency is `started_at − created_at` of each task, both stamped by the server, for tasks enqueued one
//! at a time over HTTP (each in its own session, so nothing queues behind another). Drain: 2,000 tasks
//! in 100 sessions, 4 concurrent workers claiming and finishing through the store with no turn in
//! between. PostgreSQL runs when `BOOCODE_TEST_DATABASE_URL` is set.
//! Run: `cargo bench -p boocode-server --bench dispatch`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use boocode_protocol::*;
use boocode_store::{Store, TaskOutcome};
use chrono::Utc;
use common::Kit;
use serde_json::json;

const LATENCY_SAMPLES: usize = 100;
const DRAIN_TASKS: usize = 2000;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn wake_latency(database_url: Option<String>) -> (f64, f64) {
    let kit = Kit::start_with(database_url, |c| c.max_parallel_tasks = 64).await;
    let (pid, _) = kit.coding_project("bench").await;
    let mut samples = Vec::new();
    for _ in 0..LATENCY_SAMPLES {
        let t = kit.task(json!({"project_id": pid, "input": "[[reply:ok]]", "agent": "native", "model": "fake-model"})).await;
        let id = t["id"].as_str().unwrap().to_owned();
        let task = loop {
            let t = kit.ok("GET", &format!("/api/tasks/{id}"), None).await;
            if !t["started_at"].is_null() {
                break t;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(task[k].as_str().unwrap()).unwrap();
        samples.push(
            (at("started_at") - at("created_at"))
                .num_microseconds()
                .unwrap() as f64
                / 1000.0,
        );
        // Let the task finish so the next sample measures an idle dispatcher.
        kit.wait_task(&id).await;
    }
    (pct(&mut samples, 0.5), pct(&mut samples, 0.99))
}

async fn drain(store: Arc<dyn Store>) -> f64 {
    let project = Project {
        id: ProjectId::new(),
        name: "drain".into(),
        path: format!("/tmp/drain-{}", ProjectId::new()),
        default_model: None,
        created_at: Utc::now(),
    };
    store.insert_project(&project).await.unwrap();
    let mut sessions = Vec::new();
    for _ in 0..100 {
        let s = Session {
            id: SessionId::new(),
            project_id: project.id.clone(),
            name: "s".into(),
            model: None,
            status: OpenStatus::Open,
            created_at: Utc::now(),
            last_seq: 0,
        };
        store.insert_session(&s).await.unwrap();
        let c = Chat::new(s.id.clone(), "c", ChatKind::Coder);
        store.insert_chat(&c).await.unwrap();
        sessions.push((s.id, c.id));
    }
    for n in 0..DRAIN_TASKS {
        let (s, c) = &sessions[n % sessions.len()];
        let task = Task {
            id: TaskId::new(),
            project_id: project.id.clone(),
            session_id: s.clone(),
            chat_id: c.clone(),
            message_id: None,
            input: "noop".into(),
            agent: "noop".into(),
            model: None,
            mode_id: None,
            thinking_option_id: None,
            feature_values: None,
            state: TaskState::Pending,
            execution_path: None,
            output_summary: None,
            error: None,
            cost_tokens: None,
            attempts: 0,
            worker_id: None,
            created_at: Utc::now(),
            started_at: None,
            ended_at: None,
        };
        store.insert_task(&task).await.unwrap();
    }
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut done = 0usize;
            let mut empty = 0;
            while empty < 3 {
                let lease = Utc::now() + chrono::Duration::seconds(30);
                match store.claim_task(&format!("w{w}"), lease).await.unwrap() {
                    Some(c) => {
                        empty = 0;
                        let outcome = TaskOutcome {
                            state: TaskState::Completed,
                            output_summary: None,
                            error: None,
                            cost_tokens: None,
                        };
                        store
                            .finish_task(&c.task.id, c.generation, &outcome)
                            .await
                            .unwrap();
                        done += 1;
                    }
                    None => {
                        empty += 1;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            done
        }));
    }
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(total, DRAIN_TASKS, "every task exactly once");
    total as f64 / started.elapsed().as_secs_f64()
}

async fn fresh_pg(url: &str) -> String {
    let name = format!("boocode_bench_{}", common::uuid_like());
    let status = std::process::Command::new("psql")
        .args([url, "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(status.success());
    format!("{}/{name}", url.rsplit_once('/').unwrap().0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut rows = Vec::new();
    let (p50, p99) = wake_latency(None).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = boocode_store::open(&format!(
        "sqlite://{}",
        dir.path().join("drain.db").display()
    ))
    .await
    .unwrap();
    let rate = drain(sqlite).await;
    rows.push(format!("| SQLite | {p50:.2} / {p99:.2} | {rate:.0} |"));
    match std::env::var("BOOCODE_TEST_DATABASE_URL") {
        Ok(url) => {
            let (p50, p99) = wake_latency(Some(fresh_pg(&url).await)).await;
            let pg = boocode_store::open(&fresh_pg(&url).await).await.unwrap();
            let rate = drain(pg).await;
            rows.push(format!("| PostgreSQL | {p50:.2} / {p99:.2} | {rate:.0} |"));
        }
        Err(_) => rows.push("| PostgreSQL | skipped: BOOCODE_TEST_DATABASE_URL unset | |".into()),
    }
    let mut out = String::new();
    out.push_str(&format!(
        "{LATENCY_SAMPLES} tasks enqueued one at a time over HTTP; {DRAIN_TASKS} no-op tasks drained by 4 workers.\n\n"
    ));
    out.push_str("| store | enqueue → start p50 / p99 (ms) | no-op tasks drained per second |\n|---|---|---|\n");
    for r in rows {
        out.push_str(&r);
        out.push('\n');
    }
    println!("{out}");
    let target =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-dispatch.md");
    std::fs::write(target, &out).unwrap();
}
