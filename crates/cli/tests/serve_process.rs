//! The real `boocode` binary as a child process: ready line, SIGTERM mid-reply, refusal to bind openly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use boocode_fakellm::{FakeLlm, FakeOptions};
use serde_json::{Value, json};
use support::{committed_repo, git_init, ready_url, spawn_serve, stderr_of, wait_exit};

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let resp = http.post(url).json(&body).send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

#[tokio::test]
async fn sigterm_mid_reply_cancels_persists_and_exits_zero() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    git_init(&repo);
    let mut child = spawn_serve(&dir.path().join("data"), &fake.url(), &[]);
    let base = ready_url(&mut child);
    let http = reqwest::Client::new();
    let p = post(&http, format!("{base}/api/projects"), json!({"path": repo})).await;
    let s = post(
        &http,
        format!("{base}/api/projects/{}/sessions", p["id"].as_str().unwrap()),
        json!({"model": "fake-model"}),
    )
    .await;
    let c = post(
        &http,
        format!("{base}/api/sessions/{}/chats", s["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let sent = post(
        &http,
        format!("{base}/api/chats/{cid}/messages"),
        json!({"content": "[[tokens:5000]] [[delay_ms:2]]"}),
    )
    .await;
    let aid = sent["assistant_message_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Restart: the reply is cancelled with the reason, its partial text kept, its final frame journaled.
    let (mut child, base) = sigterm_and_restart(child, &dir.path().join("data"), &fake.url());
    let reply = chat_message(&http, &base, &cid, &aid).await;
    assert_eq!(reply["status"], "cancelled");
    assert_eq!(reply["error"], "server shutting down");
    let content = reply["content"].as_str().unwrap();
    assert!(content.starts_with("tok0 tok1 "), "{reply}");
    let session: Value = http
        .get(format!("{base}/api/sessions/{}", s["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(session["last_seq"].as_u64().unwrap() > 5);
    assert!(
        fake.requests().iter().any(|r| r.stream && r.disconnected),
        "upstream aborted"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn open_bind_without_token_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_serve(dir.path(), "http://127.0.0.1:9/v1", &["--host", "0.0.0.0"]);
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("exits");
    assert!(!status.success());
    let err = stderr_of(&mut child);
    assert!(
        err.contains("BOOCODE_TOKEN") && err.contains("--insecure-no-auth"),
        "{err}"
    );
}

#[test]
fn bad_config_file_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("boocode.toml"), "port = \"not a number\"\n").unwrap();
    let mut child = spawn_serve(dir.path(), "http://127.0.0.1:9/v1", &[]);
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("exits");
    assert!(!status.success());
    let err = stderr_of(&mut child);
    assert!(err.contains("boocode.toml"), "{err}");
}

#[tokio::test]
async fn kill_9_mid_reply_keeps_flushed_text_and_marks_it_interrupted() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    git_init(&repo);
    let mut child = spawn_serve(&dir.path().join("data"), &fake.url(), &[]);
    let base = ready_url(&mut child);
    let http = reqwest::Client::new();
    let p = post(&http, format!("{base}/api/projects"), json!({"path": repo})).await;
    let pid = p["id"].as_str().unwrap();
    let s = post(
        &http,
        format!("{base}/api/projects/{pid}/sessions"),
        json!({"model": "fake-model"}),
    )
    .await;
    let c = post(
        &http,
        format!("{base}/api/sessions/{}/chats", s["id"].as_str().unwrap()),
        json!({}),
    )
    .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    let sid = s["id"].as_str().unwrap().to_owned();
    // A tab follows the session live; it has seen frames up to `seen` when the process dies, some of
    // them not journaled yet (frames go out before their 50 ms batch lands).
    let mut tab = ws(&base, &sid, Some(0)).await;
    let body = json!({"content": "[[tokens:5000]] [[delay_ms:2]]"});
    let sent = post(&http, format!("{base}/api/chats/{cid}/messages"), body).await;
    let aid = sent["assistant_message_id"].as_str().unwrap().to_owned();
    let mut seen = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(Some(frame)) = tokio::time::timeout_at(until, next_frame(&mut tab)).await {
        seen = seen.max(frame["seq"].as_u64().unwrap_or(0));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(seen > 10, "the tab saw the reply stream ({seen})");
    let mut child = spawn_serve(&dir.path().join("data"), &fake.url(), &[]);
    let base = ready_url(&mut child);
    // Numbering continues past every number the tab could have seen: reconnecting with its last `since`
    // never hands it a different frame under a number it already has.
    let session = get(&http, format!("{base}/api/sessions/{sid}")).await;
    let last = session["last_seq"].as_u64().unwrap();
    assert!(
        last > seen,
        "numbering restarted at {last}, the tab saw {seen}"
    );
    let mut tab = ws(&base, &sid, Some(seen)).await;
    let first = next_frame(&mut tab).await.unwrap();
    assert!(
        first["type"] == "resync" || first["seq"].as_u64().unwrap() > seen,
        "{first}"
    );
    // The interrupted reply is announced with a frame, so a connected tab stops showing it streaming.
    let mut tab = ws(&base, &sid, Some(last - 1)).await;
    let announced = next_frame(&mut tab).await.unwrap();
    assert_eq!(
        (announced["type"].as_str(), announced["message_id"].as_str()),
        (Some("message_error"), Some(aid.as_str())),
        "{announced}"
    );
    assert_eq!(announced["error"], "interrupted by restart");
    let reply = chat_message(&http, &base, &cid, &aid).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["error"], "interrupted by restart");
    // At most one checkpoint interval (250 ms) of text is lost: after 800 ms there is text.
    assert!(
        reply["content"].as_str().unwrap().starts_with("tok0 "),
        "{reply}"
    );
    let msgs = get(&http, format!("{base}/api/chats/{cid}/messages")).await;
    assert_eq!(msgs[0]["content"], "[[tokens:5000]] [[delay_ms:2]]");
    child.kill().unwrap();
    child.wait().unwrap();
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A session's frame socket, from `since`.
async fn ws(base: &str, session: &str, since: Option<u64>) -> Socket {
    let q = since.map(|s| format!("?since={s}")).unwrap_or_default();
    let url = format!(
        "{}/api/sessions/{session}/ws{q}",
        base.replace("http://", "ws://")
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// The next JSON frame (or control message); `None` when the socket ended.
async fn next_frame(socket: &mut Socket) -> Option<Value> {
    use futures::StreamExt as _;
    while let Some(msg) = socket.next().await {
        if let Ok(tokio_tungstenite::tungstenite::Message::Text(text)) = msg {
            return serde_json::from_str(&text).ok();
        }
    }
    None
}

/// One message of a chat, as the server lists it after a restart.
async fn chat_message(http: &reqwest::Client, base: &str, cid: &str, id: &str) -> Value {
    let msgs = get(http, format!("{base}/api/chats/{cid}/messages")).await;
    msgs.as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap()
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn kill_9_mid_task_fails_it_keeps_the_text_and_the_next_task_runs() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    committed_repo(&repo);
    let data = dir.path().join("data");
    let mut child = spawn_serve(&data, &fake.url(), &[]);
    let base = ready_url(&mut child);
    let http = reqwest::Client::new();
    let p = post(&http, format!("{base}/api/projects"), json!({"path": repo})).await;
    let body = json!({"project_id": p["id"], "input": "[[tokens:5000]] [[delay_ms:2]]", "agent": "native", "model": "fake-model"});
    let task = post(&http, format!("{base}/api/tasks"), body).await;
    let tid = task["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(900)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let mut child = spawn_serve(&data, &fake.url(), &[]);
    let base = ready_url(&mut child);
    let t = get(&http, format!("{base}/api/tasks/{tid}")).await;
    assert_eq!(t["state"], "failed", "{t}");
    assert_eq!(t["error"], "interrupted by restart");
    let msgs = get(
        &http,
        format!(
            "{base}/api/chats/{}/messages",
            t["chat_id"].as_str().unwrap()
        ),
    )
    .await;
    let reply = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == t["message_id"])
        .unwrap()
        .clone();
    assert_eq!(reply["status"], "error");
    assert!(
        reply["content"].as_str().unwrap().starts_with("tok0 "),
        "{reply}"
    );
    let body = json!({"project_id": p["id"], "session_id": t["session_id"], "input": "[[reply:next]]", "agent": "native", "model": "fake-model"});
    let next = post(&http, format!("{base}/api/tasks"), body).await;
    let mut state = Value::Null;
    for _ in 0..200 {
        state = get(
            &http,
            format!("{base}/api/tasks/{}", next["id"].as_str().unwrap()),
        )
        .await["state"]
            .clone();
        if state == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        state, "completed",
        "the session is not stuck behind the dead task"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// SIGTERM, a clean exit within 10 s, and a fresh server on the same data dir: its child and base URL.
fn sigterm_and_restart(
    mut child: std::process::Child,
    data: &std::path::Path,
    llm: &str,
) -> (std::process::Child, String) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("exit within 10 s");
    assert!(status.success(), "{status:?}");
    let mut child = spawn_serve(data, llm, &[]);
    let base = ready_url(&mut child);
    (child, base)
}

/// Polls a task until it reaches `state` (or 30 s pass); returns it.
async fn task_reaching(http: &reqwest::Client, base: &str, id: &str, state: &str) -> Value {
    let mut t = Value::Null;
    for _ in 0..600 {
        t = get(http, format!("{base}/api/tasks/{id}")).await;
        if t["state"] == state {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t
}

/// SIGTERM mid-task (an upgrade, `systemctl restart`): the task goes back to the queue instead of being
/// cancelled for good, and the restarted server runs it again; its first attempt's output stays in the
/// chat, marked interrupted, and what it wrote stays in the worktree. Claiming stops during shutdown.
#[tokio::test]
async fn sigterm_mid_task_queues_it_again_and_the_restart_runs_it() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    committed_repo(&repo);
    let data = dir.path().join("data");
    let mut child = spawn_serve(&data, &fake.url(), &[]);
    let base = ready_url(&mut child);
    let http = reqwest::Client::new();
    let p = post(&http, format!("{base}/api/projects"), json!({"path": repo})).await;
    let input = r#"[[tool:write_file {"path":"partial.txt","content":"p"}]] [[tokens:3000]] [[delay_ms:2]]"#;
    let body =
        json!({"project_id": p["id"], "input": input, "agent": "native", "model": "fake-model"});
    let task = post(&http, format!("{base}/api/tasks"), body).await;
    let tid = task["id"].as_str().unwrap().to_owned();
    let sid = task["session_id"].as_str().unwrap().to_owned();
    let queued = post(&http, format!("{base}/api/tasks"), json!({"project_id": p["id"], "session_id": sid, "input": "later", "agent": "native", "model": "fake-model"})).await;
    task_reaching(&http, &base, &tid, "running").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut child, base) = sigterm_and_restart(child, &data, &fake.url());
    let t = task_reaching(&http, &base, &tid, "completed").await;
    assert_eq!(
        (t["state"].as_str(), t["attempts"].as_u64()),
        (Some("completed"), Some(2)),
        "{t}"
    );
    let msgs = get(
        &http,
        format!(
            // Every branch: the interrupted reply and the retry are siblings under the one input.
            "{base}/api/chats/{}/messages?tree=1",
            t["chat_id"].as_str().unwrap()
        ),
    )
    .await;
    let msgs = msgs.as_array().unwrap();
    let inputs = msgs.iter().filter(|m| m["content"] == input).count();
    assert_eq!(inputs, 1, "the input is not repeated: {msgs:?}");
    let first = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(first["status"], "cancelled", "{first}");
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .contains("interrupted by shutdown (attempt 1 of 3)"),
        "{first}"
    );
    let changes = get(&http, format!("{base}/api/sessions/{sid}/changes")).await;
    assert!(
        changes[0]["diff"].as_str().unwrap().contains("partial.txt"),
        "{changes}"
    );
    // The queued task was not claimed during shutdown; it runs after the interrupted one.
    let q = task_reaching(&http, &base, queued["id"].as_str().unwrap(), "completed").await;
    assert_eq!(
        (q["state"].as_str(), q["attempts"].as_u64()),
        (Some("completed"), Some(1))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// With `max_task_attempts = 1` a shutdown ends the task for good, saying why.
#[tokio::test]
async fn sigterm_past_the_attempt_cap_cancels_with_the_reason() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    committed_repo(&repo);
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("boocode.toml"), "max_task_attempts = 1\n").unwrap();
    let mut child = spawn_serve(&data, &fake.url(), &[]);
    let base = ready_url(&mut child);
    let http = reqwest::Client::new();
    let p = post(&http, format!("{base}/api/projects"), json!({"path": repo})).await;
    let body = json!({"project_id": p["id"], "input": "[[tokens:5000]] [[delay_ms:2]]", "agent": "native", "model": "fake-model"});
    let task = post(&http, format!("{base}/api/tasks"), body).await;
    let tid = task["id"].as_str().unwrap().to_owned();
    task_reaching(&http, &base, &tid, "running").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut child, base) = sigterm_and_restart(child, &data, &fake.url());
    let t = get(&http, format!("{base}/api/tasks/{tid}")).await;
    assert_eq!(t["state"], "cancelled", "{t}");
    assert!(
        t["error"]
            .as_str()
            .unwrap()
            .starts_with("server shutting down (attempt 1 of 1"),
        "{t}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
