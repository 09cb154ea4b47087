//! Model-affinity benchmark: a queue alternating two models (A, B, A, B, …) behind fakellm emulating
//! llama-swap (one model loaded at a time; each switch costs `SWAP_MS`), drained FIFO and with model
//! affinity. Reports the swaps fakellm made and the wall time to drain the queue.
//! Run: `cargo bench -p boocode-server --bench affinity`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use boocode_fakellm::FakeOptions;
use common::Kit;
use serde_json::json;

const TASKS: usize = 24;
const SWAP_MS: u64 = 400;
const PARALLEL: usize = 2;

async fn drain(affinity: bool) -> (usize, f64, f64) {
    let options = FakeOptions {
        swap_delay: Some(Duration::from_millis(SWAP_MS)),
        ..FakeOptions::default()
    };
    let kit = Kit::start_with_llm(options, |c| {
        c.max_parallel_tasks = PARALLEL;
        c.scheduling.model_affinity = affinity;
        c.scheduling.max_wait = Duration::from_secs(600);
    })
    .await;
    let (pid, _) = kit.coding_project("bench").await;
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..TASKS {
        let model = if i % 2 == 0 {
            "fake-model"
        } else {
            "fake-model-2"
        };
        let t = kit
            .task(json!({"project_id": pid, "input": "[[tokens:20]] [[delay_ms:5]]", "agent": "native", "model": model}))
            .await;
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    let mut longest_wait: f64 = 0.0;
    for id in &ids {
        let t = kit.wait_task_for(id, Duration::from_secs(600)).await;
        assert_eq!(t["state"], "completed", "{t}");
        let at = |k: &str| chrono::DateTime::parse_from_rfc3339(t[k].as_str().unwrap()).unwrap();
        let waited = (at("started_at") - at("created_at")).num_milliseconds() as f64 / 1000.0;
        longest_wait = longest_wait.max(waited);
    }
    (
        kit.fake.swaps(),
        started.elapsed().as_secs_f64(),
        longest_wait,
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut out = format!(
        "{TASKS} tasks alternating two models, {PARALLEL} at a time, {SWAP_MS} ms per model switch.\n\n\
         | order | model switches | total (s) | longest wait (s) |\n|---|---|---|---|\n"
    );
    for (name, affinity) in [("FIFO", false), ("model affinity", true)] {
        let (swaps, total, wait) = drain(affinity).await;
        out.push_str(&format!("| {name} | {swaps} | {total:.2} | {wait:.2} |\n"));
    }
    println!("{out}");
    let target =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-affinity.md");
    std::fs::write(target, &out).unwrap();
}
