//! Skills through the real server: listing (broken files included), `/name` expansion reaching the model
//! in chat and in tasks, edits picked up without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

fn last_user_text(body: &serde_json::Value) -> String {
    let msgs = body["messages"].as_array().unwrap();
    msgs.iter().rev().find(|m| m["role"] == "user").unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn skills_list_and_expand_in_chat_and_tasks() {
    let files = [
        ("skills/team/review/SKILL.md", "---\nname: review\ndescription: Review carefully\n---\nCHECK EVERY HUNK [[reply:reviewed]]".to_owned()),
        ("skills/team/broken/SKILL.md", "just text".to_owned()),
    ];
    let kit = Kit::start_with_files(&files, |_| {}).await;
    let listed = kit.ok("GET", "/api/skills", None).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["broken", "review"],
        "the shipped skill is only installed into an empty folder"
    );
    assert!(
        listed[0]["error"]
            .as_str()
            .unwrap()
            .contains("front matter")
    );
    assert_eq!(listed[1]["description"], "Review carefully");

    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let (_, aid) = kit.post(&cid, "/review the parser").await;
    let m = kit.wait_done(&cid, &aid).await;
    assert_eq!(m["content"], "reviewed");
    let msgs = kit
        .ok("GET", &format!("/api/chats/{cid}/messages"), None)
        .await;
    assert_eq!(msgs[0]["content"], "/review the parser", "stored as typed");
    let sent = last_user_text(&kit.fake.requests().iter().find(|r| r.stream).unwrap().body);
    assert!(
        sent.starts_with("CHECK EVERY HUNK") && sent.ends_with("the parser"),
        "{sent}"
    );
    let (_, aid) = kit.post(&cid, "/unknown stays as typed").await;
    kit.wait_done(&cid, &aid).await;
    let sent = last_user_text(&kit.fake.requests().last().unwrap().body);
    assert_eq!(sent, "/unknown stays as typed");

    // Edited on disk: the next use sees the new text, no restart.
    std::fs::write(
        kit.dir.path().join("data/skills/team/review/SKILL.md"),
        "---\ndescription: v2\n---\nSECOND VERSION",
    )
    .unwrap();
    let (pid, _) = kit.coding_project("skills").await;
    let t = kit.task(json!({"project_id": pid, "input": "/review the lexer", "agent": "native", "model": "fake-model"})).await;
    kit.wait_task(t["id"].as_str().unwrap()).await;
    let sent = last_user_text(&kit.fake.requests().last().unwrap().body);
    assert!(
        sent.starts_with("SECOND VERSION") && sent.ends_with("the lexer"),
        "{sent}"
    );
}

#[tokio::test]
async fn the_default_skill_is_installed_on_first_start() {
    let kit = Kit::start().await;
    let listed = kit.ok("GET", "/api/skills", None).await;
    assert_eq!(listed[0]["name"], "systematic-debugging");
    assert_eq!(listed[0]["group"], "boocode");
    assert!(
        kit.dir
            .path()
            .join("data/skills/boocode/systematic-debugging/SKILL.md")
            .exists()
    );
}
