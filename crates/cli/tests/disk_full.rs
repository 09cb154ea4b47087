//! The real `boocode` binary with its data dir on a small tmpfs (mounted in a private mount namespace,
//! `unshare -rm`): the disk fills mid-reply, then is freed. Writes fail clearly while it is full, health
//! says what is wrong, nothing keeps failing after it is freed, and the reply whose last write failed
//! does not stay `streaming`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use boocode_fakellm::{FakeLlm, FakeOptions};
use futures::StreamExt as _;
use serde_json::{Value, json};
use support::{git_init, ready_url};

/// `boocode serve` with `data` on a fresh 16 MiB tmpfs only it can see.
fn spawn_on_tmpfs(data: &Path, llm: &str) -> Child {
    std::fs::create_dir_all(data).unwrap();
    Command::new("unshare")
        .args(["-rm", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o size=16m tmpfs "$1" && exec "$2" serve --port 0 --data-dir "$1" --llm-url "$3""#)
        .args(["sh"])
        .arg(data)
        .arg(env!("CARGO_BIN_EXE_boocode"))
        .arg(llm)
        .env_remove("BOOCODE_TOKEN")
        .env("BOOCODE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("unshare (util-linux) runs boocode in its own mount namespace")
}

/// Fills the child's tmpfs (seen through `/proc/<pid>/root`) until the disk is full.
fn fill(filler: &Path) {
    let mut file = std::fs::File::create(filler).unwrap();
    let chunk = vec![7u8; 256 * 1024];
    loop {
        if file.write_all(&chunk).is_err() {
            break;
        }
    }
    // Whatever is left in partial pages goes too.
    while file.write_all(&[7u8; 512]).is_ok() {}
}

async fn call(
    http: &reqwest::Client,
    method: &str,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method.parse().unwrap(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn message(http: &reqwest::Client, base: &str, chat: &str, id: &str) -> Value {
    let (_, msgs) = call(
        http,
        "GET",
        format!("{base}/api/chats/{chat}/messages"),
        None,
    )
    .await;
    msgs.as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_full_disk_fails_writes_clearly_and_everything_recovers_once_freed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    git_init(&repo);
    let data = dir.path().join("data");
    let mut child = spawn_on_tmpfs(&data, &fake.url());
    let base = ready_url(&mut child);
    let filler: PathBuf = format!("/proc/{}/root{}/filler", child.id(), data.display()).into();
    let http = reqwest::Client::new();
    let (_, p) = call(
        &http,
        "POST",
        format!("{base}/api/projects"),
        Some(json!({"path": repo})),
    )
    .await;
    let (_, s) = call(
        &http,
        "POST",
        format!("{base}/api/projects/{}/sessions", p["id"].as_str().unwrap()),
        Some(json!({"model": "fake-model"})),
    )
    .await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let chat = |_: u8| {
        let (http, base, sid) = (http.clone(), base.clone(), sid.clone());
        async move {
            let (_, c) = call(
                &http,
                "POST",
                format!("{base}/api/sessions/{sid}/chats"),
                Some(json!({})),
            )
            .await;
            c["id"].as_str().unwrap().to_owned()
        }
    };
    let (c1, c2) = (chat(1).await, chat(2).await);
    let ws_url = format!("{}/api/sessions/{sid}/ws", base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();

    // A long reply streams; the disk fills under it.
    let (status, sent) = call(
        &http,
        "POST",
        format!("{base}/api/chats/{c1}/messages"),
        Some(json!({"content": "[[tokens:1500]] [[delay_ms:2]]"})),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let reply = sent["assistant_message_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    fill(&filler);

    // While full: writes are refused with a clear 503, and health says what is wrong. SQLite may still
    // reuse a few pages already in its WAL, so a write or two can still land: keep writing (a new chat,
    // a message in it) until the disk says no.
    let mut refused = Value::Null;
    for _ in 0..100 {
        let (status, chat) = call(
            &http,
            "POST",
            format!("{base}/api/sessions/{sid}/chats"),
            Some(json!({})),
        )
        .await;
        if status == 503 {
            refused = chat;
            break;
        }
        let (status, v) = call(
            &http,
            "POST",
            format!("{base}/api/chats/{}/messages", chat["id"].as_str().unwrap()),
            Some(json!({"content": "hello"})),
        )
        .await;
        if status == 503 {
            refused = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(refused["error"]["code"], "storage_unavailable", "{refused}");
    let mut health = Value::Null;
    for _ in 0..100 {
        (_, health) = call(&http, "GET", format!("{base}/api/health"), None).await;
        if health["status"] == "degraded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(
        health["problems"][0]
            .as_str()
            .unwrap()
            .contains("refuses writes"),
        "{health}"
    );

    // The reply ends for its viewers even though its final write failed.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(msg)) = ws.next().await {
            let Ok(text) = msg.into_text() else { continue };
            let f: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if f["message_id"] == reply.as_str()
                && (f["type"] == "message_complete" || f["type"] == "message_error")
            {
                return f;
            }
        }
        Value::Null
    })
    .await
    .unwrap();
    assert!(!ended.is_null());

    // Freed: writes work again without a restart, and the reply is stored final, not `streaming`.
    std::fs::remove_file(&filler).unwrap();
    let (_, health) = call(&http, "GET", format!("{base}/api/health"), None).await;
    assert_eq!(health["status"], "ok", "{health}");
    let (status, sent) = call(
        &http,
        "POST",
        format!("{base}/api/chats/{c2}/messages"),
        Some(json!({"content": "[[reply:after]]"})),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let mut last = Value::Null;
    for _ in 0..300 {
        last = message(&http, &base, &c1, &reply).await;
        if last["status"] != "streaming" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(last["status"], "streaming", "{last}");
    let after = sent["assistant_message_id"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        last = message(&http, &base, &c2, &after).await;
        if last["status"] == "complete" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["content"], "after", "{last}");
    child.kill().unwrap();
    child.wait().unwrap();
}
