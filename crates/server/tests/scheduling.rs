//! Model-affinity scheduling against fakellm emulating llama-swap (one model loaded at a time, a load per
//! switch): a queue alternating models swaps less than FIFO order, held tasks show `waiting_for_model`,
//! and no task waits past the age bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use boocode_fakellm::FakeOptions;
use common::*;
use serde_json::{Value, json};

fn swapping() -> FakeOptions {
    FakeOptions {
        swap_delay: Some(Duration::from_millis(50)),
        ..FakeOptions::default()
    }
}

async fn kit(affinity: bool, max_wait_secs: u64) -> Kit {
    Kit::start_with_llm(swapping(), |c| {
        c.max_parallel_tasks = 1;
        c.scheduling.model_affinity = affinity;
        c.scheduling.max_wait = Duration::from_secs(max_wait_secs);
    })
    .await
}

async fn enqueue(kit: &Kit, pid: &str, model: &str, input: &str) -> Value {
    kit.task(json!({"project_id": pid, "input": input, "agent": "native", "model": model}))
        .await
}

/// A long first task on model A, then B, A, B, … behind it; returns the swaps the queue cost.
async fn alternating(affinity: bool) -> (usize, Vec<Value>) {
    let kit = kit(affinity, 600).await;
    let (pid, _) = kit.coding_project("sched").await;
    let first = enqueue(&kit, &pid, "fake-model", "[[tokens:40]] [[delay_ms:10]]").await;
    let mut queued = Vec::new();
    for i in 0..8 {
        let model = if i % 2 == 0 {
            "fake-model-2"
        } else {
            "fake-model"
        };
        queued.push(enqueue(&kit, &pid, model, "[[reply:ok]]").await);
    }
    let mut done = vec![kit.wait_task(first["id"].as_str().unwrap()).await];
    for t in &queued {
        done.push(
            kit.wait_task_for(t["id"].as_str().unwrap(), Duration::from_secs(30))
                .await,
        );
    }
    assert!(done.iter().all(|t| t["state"] == "completed"), "{done:?}");
    (kit.fake.swaps(), done)
}

#[tokio::test]
async fn affinity_swaps_less_than_fifo_and_shows_the_wait() {
    let (fifo, _) = alternating(false).await;
    let (affine, done) = alternating(true).await;
    assert!(fifo >= 8, "FIFO swaps on every task: {fifo}");
    assert!(
        affine <= 3,
        "affinity batches by model: {affine} swaps (FIFO {fifo})"
    );
    // The A tasks ran before the B tasks that were queued earlier.
    let started = |t: &Value| t["started_at"].as_str().unwrap().to_owned();
    let last_a = done
        .iter()
        .filter(|t| t["model"] == "fake-model")
        .map(started)
        .max()
        .unwrap();
    let first_b = done
        .iter()
        .filter(|t| t["model"] == "fake-model-2")
        .map(started)
        .min()
        .unwrap();
    assert!(last_a < first_b, "{done:?}");
}

#[tokio::test]
async fn held_tasks_wait_for_their_model_but_never_past_the_age_bound() {
    let kit = kit(true, 3).await;
    let (pid, _) = kit.coding_project("sched").await;
    let first = enqueue(&kit, &pid, "fake-model", "[[tokens:20]] [[delay_ms:25]]").await;
    let b = enqueue(&kit, &pid, "fake-model-2", "[[reply:b]]").await;
    let mut a = Vec::new();
    for _ in 0..9 {
        a.push(enqueue(&kit, &pid, "fake-model", "[[tokens:20]] [[delay_ms:25]]").await);
    }
    // Once a slot frees, A's tasks go first and B is held back, saying so.
    let mut saw_waiting = false;
    for _ in 0..100 {
        let t = kit
            .ok(
                "GET",
                &format!("/api/tasks/{}", b["id"].as_str().unwrap()),
                None,
            )
            .await;
        if t["state"] == "waiting_for_model" {
            saw_waiting = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(saw_waiting, "B was marked waiting_for_model");
    kit.wait_task(first["id"].as_str().unwrap()).await;
    let b = kit
        .wait_task_for(b["id"].as_str().unwrap(), Duration::from_secs(30))
        .await;
    let mut a_done = Vec::new();
    for t in &a {
        a_done.push(
            kit.wait_task_for(t["id"].as_str().unwrap(), Duration::from_secs(30))
                .await,
        );
    }
    assert_eq!(b["state"], "completed");
    // B ran once it had waited 3 s, while A tasks were still queued: it was not starved.
    let b_start = b["started_at"].as_str().unwrap();
    let after = a_done
        .iter()
        .filter(|t| t["started_at"].as_str().unwrap() > b_start)
        .count();
    assert!(after >= 1, "B starved: {b} / {a_done:?}");
    assert!(
        after < 9,
        "B was held back for A's tasks first: {b} / {a_done:?}"
    );
}

#[tokio::test]
async fn loading_chunks_are_a_status_and_never_reasoning() {
    let kit = kit(true, 600).await;
    let (_, sid, cid) = kit.seed(Some("fake-model-2")).await;
    let mut ws = kit.ws(&sid, Some(0)).await;
    let (_, aid) = kit
        .post(&cid, "[[reasoning:real thought]] [[reply:answer]]")
        .await;
    let frames = frames_until(&mut ws, is_complete_of(&aid)).await;
    let status: Vec<&str> = frames
        .iter()
        .filter(|f| f["type"] == "turn_status")
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        ["llama-swap loading model: fake-model-2", "Done! (0.1s)"]
    );
    let reply = kit.wait_done(&cid, &aid).await;
    assert_eq!(reply["reasoning"], "real thought");
    assert_eq!(reply["content"], "answer");
}

/// An arena racing two models twice each behind one model swapper: lanes run grouped by model (one swap
/// between the groups, not one per lane), and each lane's time is its own run, not the race's.
#[tokio::test]
async fn an_arenas_lanes_run_grouped_by_model_and_time_only_their_own_work() {
    let kit = kit(true, 600).await;
    let (pid, _) = kit.coding_project("race").await;
    let swaps_before = kit.fake.swaps();
    let started = std::time::Instant::now();
    let arena = kit
        .ok(
            "POST",
            "/api/arenas",
            Some(
                json!({"project_id": pid, "input": "[[tokens:30]] [[delay_ms:10]]",
                "contenders": [{"agent": "native", "model": "fake-model"},
                               {"agent": "native", "model": "fake-model-2"},
                               {"agent": "native", "model": "fake-model"},
                               {"agent": "native", "model": "fake-model-2"}]}),
            ),
        )
        .await;
    let id = arena["id"].as_str().unwrap();
    let mut finished = Value::Null;
    for _ in 0..600 {
        finished = kit.ok("GET", &format!("/api/arenas/{id}"), None).await;
        if finished["status"] == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(finished["status"], "finished", "{finished}");
    let race_ms = started.elapsed().as_millis() as u64;
    assert!(
        kit.fake.swaps() - swaps_before <= 2,
        "lanes ran grouped by model: {} swaps",
        kit.fake.swaps() - swaps_before
    );
    for lane in finished["contenders"].as_array().unwrap() {
        assert_eq!(lane["state"], "completed", "{lane}");
        let own = lane["duration_ms"].as_u64().unwrap();
        assert!(
            own * 2 < race_ms,
            "a lane's time ({own} ms) is its own run, not the race's ({race_ms} ms)"
        );
    }
}
