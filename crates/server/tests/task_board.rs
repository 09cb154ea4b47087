//! The task board's API: every task of a project across its sessions, and retrying an ended task.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_projects_tasks_across_sessions_and_retry_of_an_ended_one() {
    let kit = Kit::start().await;
    let (pid, _) = kit.coding_project("app").await;
    let (other, _) = kit.coding_project("other").await;
    let quick = |project: &str| json!({"project_id": project, "agent": "native", "model": "fake-model", "input": "[[reply:ok]]"});
    let a = kit.task(quick(&pid)).await;
    let b = kit.task(quick(&pid)).await;
    let c = kit.task(quick(&other)).await;
    assert_ne!(a["session_id"], b["session_id"], "two sessions");
    for t in [&a, &b, &c] {
        kit.wait_task(t["id"].as_str().unwrap()).await;
    }
    let listed = kit
        .ok("GET", &format!("/api/tasks?project_id={pid}"), None)
        .await;
    let ids: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert!(ids.contains(&a["id"]) && ids.contains(&b["id"]));
    let one = kit
        .ok("GET", &format!("/api/tasks?project_id={pid}&limit=1"), None)
        .await;
    assert_eq!(one.as_array().unwrap().len(), 1);

    // A running task cannot be retried; once cancelled it runs again as a new task, same turn.
    let slow = kit
        .task(
            json!({"project_id": pid, "agent": "native", "model": "fake-model",
            "input": "[[delay_ms:200]] [[tokens:200]]"}),
        )
        .await;
    let sid = slow["id"].as_str().unwrap();
    for _ in 0..200 {
        let t = kit.ok("GET", &format!("/api/tasks/{sid}"), None).await;
        if t["state"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, body) = kit
        .call("POST", &format!("/api/tasks/{sid}/retry"), None)
        .await;
    assert_eq!(status, 409, "{body}");
    kit.ok("POST", &format!("/api/tasks/{sid}/cancel"), None)
        .await;
    kit.wait_task(sid).await;
    let again = kit
        .ok("POST", &format!("/api/tasks/{sid}/retry"), None)
        .await;
    assert_ne!(again["id"], slow["id"]);
    for field in ["input", "agent", "model", "session_id", "chat_id"] {
        assert_eq!(again[field], slow[field], "{field}");
    }
    let (status, _) = kit
        .call(
            "POST",
            "/api/tasks/01a2f000-0000-7000-8000-000000000000/retry",
            None,
        )
        .await;
    assert_eq!(status, 404);
}
