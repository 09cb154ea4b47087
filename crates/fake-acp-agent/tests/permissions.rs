//! Permissions that wait for the user: a session's pending requests over REST (what a reloaded page
//! shows), "always allow" as a revocable rule of the session, and requests closed by a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../server/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

mod fake_kit;

use fake_kit::*;

/// The permission requests of a session that are still waiting, over REST.
async fn pending_permissions(kit: &Kit, sid: &str) -> Vec<Value> {
    kit.ok(
        "GET",
        &format!("/api/sessions/{sid}/permissions?state=pending"),
        None,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

/// Waits until the session has a pending request (a reloaded page sees it the same way).
async fn a_pending_permission(kit: &Kit, sid: &str) -> Value {
    for _ in 0..400 {
        if let Some(p) = pending_permissions(kit, sid).await.first() {
            return p.clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no pending permission request in {sid}");
}

#[tokio::test]
async fn pending_permissions_are_listed_and_always_allow_is_a_revocable_rule() {
    let kit = kit_with_fake(|_| {}).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = kit
        .task(task_body(&pid, None, "[[permission:one.txt first]]"))
        .await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    let request = a_pending_permission(&kit, &sid).await;
    assert_eq!(request["decision"], Value::Null);
    assert_eq!(request["tool_call"]["kind"], "edit");
    assert_eq!(
        request["tool_call"]["content"][0]["newText"], "first",
        "the request carries what would be written"
    );
    let (status, body) = kit
        .call(
            "GET",
            &format!("/api/sessions/{sid}/permissions?state=bogus"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // "Always allow": the session remembers it for edits.
    kit.answer_permission(&request, "allow_always").await;
    kit.wait_task(t["id"].as_str().unwrap()).await;
    assert!(pending_permissions(&kit, &sid).await.is_empty());
    let rules = kit
        .ok(
            "GET",
            &format!("/api/sessions/{sid}/permission-rules"),
            None,
        )
        .await;
    assert_eq!(rules.as_array().unwrap().len(), 1, "{rules}");
    assert_eq!(rules[0]["kind"], "edit");

    // The next edit is allowed by the rule without asking.
    let t2 = kit
        .task(task_body(&pid, Some(&sid), "[[permission:two.txt second]]"))
        .await;
    let t2 = kit.wait_task(t2["id"].as_str().unwrap()).await;
    assert!(
        kit.reply_of(&t2).await["content"]
            .as_str()
            .unwrap()
            .contains("permission selected yes-always")
    );
    let all = kit
        .ok("GET", &format!("/api/sessions/{sid}/permissions"), None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[1]["decision"], "yes-always");

    // Revoked, the rule no longer answers: the third edit waits for the user again.
    let rid = rules[0]["id"].as_str().unwrap();
    kit.ok("DELETE", &format!("/api/permission-rules/{rid}"), None)
        .await;
    let (status, _) = kit
        .call("DELETE", &format!("/api/permission-rules/{rid}"), None)
        .await;
    assert_eq!(status, 404);
    let t3 = kit
        .task(task_body(
            &pid,
            Some(&sid),
            "[[permission:three.txt third]]",
        ))
        .await;
    let asked = a_pending_permission(&kit, &sid).await;
    kit.answer_permission(&asked, "reject_once").await;
    let t3 = kit.wait_task(t3["id"].as_str().unwrap()).await;
    assert!(
        kit.reply_of(&t3).await["content"]
            .as_str()
            .unwrap()
            .contains("permission selected no-once")
    );
}

#[tokio::test]
async fn a_restart_closes_requests_whose_turn_died() {
    let mut kit = kit_with_fake(|_| {}).await;
    let (pid, _) = kit.coding_project("app").await;
    let t = kit
        .task(task_body(&pid, None, "[[permission:late.txt x]]"))
        .await;
    let sid = t["session_id"].as_str().unwrap().to_owned();
    let request = a_pending_permission(&kit, &sid).await;
    kit.restart().await;
    assert!(
        pending_permissions(&kit, &sid).await.is_empty(),
        "nothing is left dangling"
    );
    let all = kit
        .ok("GET", &format!("/api/sessions/{sid}/permissions"), None)
        .await;
    let closed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == request["id"])
        .unwrap();
    // A graceful restart cancels the turn, and says so.
    assert_eq!(closed["decision"], "cancelled");
    // The turn is queued again after the restart, and its agent asks again.
    let again = a_pending_permission(&kit, &sid).await;
    assert_ne!(again["id"], request["id"]);
    assert_eq!(again["task_id"], t["id"]);
    kit.answer_permission(&again, "allow_once").await;
    let done = kit.wait_task(t["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "completed", "{done}");
}
