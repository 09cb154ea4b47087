//! Two real `boocode serve` workers sharing one PostgreSQL database: kill -9 of the worker streaming a
//! chat reply, and the other worker closes the reply (it no longer stays `streaming`) and tells its own
//! clients with a frame. Workers here count as dead after 3 s of silence (`worker_silence_secs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use boocode_fakellm::{FakeLlm, FakeOptions};
use futures::StreamExt as _;
use serde_json::{Value, json};
use support::{git_init, ready_url};

/// A fresh database on the test cluster; `None` (and a skip, where allowed) without PostgreSQL.
fn fresh_database() -> Option<String> {
    let Ok(url) = std::env::var("BOOCODE_TEST_DATABASE_URL") else {
        let allowed = std::env::var("BOOCODE_TEST_ALLOW_MISSING").unwrap_or_default();
        assert!(
            allowed.split(',').any(|k| k.trim() == "postgres"),
            "the two-worker test needs PostgreSQL (BOOCODE_TEST_DATABASE_URL): run scripts/test, or set \
             BOOCODE_TEST_ALLOW_MISSING=postgres to skip knowingly"
        );
        eprintln!("SKIPPED (postgres missing): the two-worker kill -9 test");
        return None;
    };
    let name = format!(
        "boocode_k_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let status = Command::new("psql")
        .args([url.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .unwrap();
    assert!(status.success());
    let (base, _) = url.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}

fn worker(data: &Path, llm: &str, database: &str) -> Child {
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join("boocode.toml"), "worker_silence_secs = 3\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_boocode"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data)
        .args(["--llm-url", llm, "--database-url", database])
        .env_remove("BOOCODE_TOKEN")
        .env("BOOCODE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn call(http: &reqwest::Client, method: &str, url: String, body: Option<Value>) -> Value {
    let mut req = http.request(method.parse().unwrap(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn kill_9_of_a_postgres_worker_mid_reply_is_closed_by_the_other() {
    let Some(database) = fresh_database() else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    git_init(&repo);
    let mut a = worker(&dir.path().join("a"), &fake.url(), &database);
    let base_a = ready_url(&mut a);
    let mut b = worker(&dir.path().join("b"), &fake.url(), &database);
    let base_b = ready_url(&mut b);
    let http = reqwest::Client::new();
    let p = call(
        &http,
        "POST",
        format!("{base_a}/api/projects"),
        Some(json!({"path": repo})),
    )
    .await;
    let s = call(
        &http,
        "POST",
        format!(
            "{base_a}/api/projects/{}/sessions",
            p["id"].as_str().unwrap()
        ),
        Some(json!({"model": "fake-model"})),
    )
    .await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let c = call(
        &http,
        "POST",
        format!("{base_a}/api/sessions/{sid}/chats"),
        Some(json!({})),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    // A client of B follows the session; the reply streams on A.
    let ws_url = format!(
        "{}/api/sessions/{sid}/ws",
        base_b.replace("http://", "ws://")
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let sent = call(
        &http,
        "POST",
        format!("{base_a}/api/chats/{cid}/messages"),
        Some(json!({"content": "[[tokens:20000]] [[delay_ms:2]]"})),
    )
    .await;
    let reply = sent["assistant_message_id"].as_str().unwrap().to_owned();
    // Kill A once it has checkpointed part of the reply (seen from B), however loaded the machine is.
    let checkpointed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let msgs = call(
                &http,
                "GET",
                format!("{base_b}/api/chats/{cid}/messages"),
                None,
            )
            .await;
            let started = msgs.as_array().into_iter().flatten().any(|m| {
                m["id"] == reply.as_str()
                    && m["content"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("tok0 "))
            });
            if started {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        checkpointed.is_ok(),
        "A checkpointed part of the reply within 20 s"
    );
    a.kill().unwrap();
    a.wait().unwrap();

    // B notices A's silence, closes the reply and tells its client.
    let announced = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(msg)) = ws.next().await {
            let Ok(text) = msg.into_text() else { continue };
            let f: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if f["type"] == "message_error" && f["message_id"] == reply.as_str() {
                return f;
            }
        }
        Value::Null
    })
    .await
    .expect("B announced the interrupted reply within 30 s");
    assert!(
        announced["error"]
            .as_str()
            .unwrap()
            .contains("worker streaming it stopped"),
        "{announced}"
    );
    let msgs = call(
        &http,
        "GET",
        format!("{base_b}/api/chats/{cid}/messages"),
        None,
    )
    .await;
    let stored = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == reply.as_str())
        .cloned()
        .unwrap();
    assert_eq!(stored["status"], "error", "{stored}");
    assert!(
        stored["content"].as_str().unwrap().starts_with("tok0 "),
        "what A checkpointed is kept: {stored}"
    );
    b.kill().unwrap();
    b.wait().unwrap();
}
