//! BooTerm through the real server: a shell in a PTY over a WebSocket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

async fn attach(kit: &Kit, sid: &str, tid: &str) -> Ws {
    let url = format!(
        "{}/api/sessions/{sid}/terminals/{tid}/ws",
        kit.base.replace("http://", "ws://")
    );
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Reads terminal output until it contains `needle`; returns everything read.
async fn read_until(ws: &mut Ws, needle: &str) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(needle) {
        let next = tokio::time::timeout_at(deadline, ws.next()).await;
        match next {
            Ok(Some(Ok(WsMessage::Binary(b)))) => seen.push_str(&String::from_utf8_lossy(&b)),
            Ok(Some(Ok(WsMessage::Text(t)))) => seen.push_str(&t),
            Ok(Some(Ok(_))) => {}
            other => {
                panic!("terminal closed or silent before {needle:?}: {other:?}; seen {seen:?}")
            }
        }
    }
    seen
}

/// Waits for the shell's first output (its prompt): input typed earlier may be flushed at start-up.
async fn wait_prompt(ws: &mut Ws) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(WsMessage::Binary(b)))) if !b.is_empty() => break,
            Ok(Some(Ok(_))) => {}
            other => panic!("no prompt: {other:?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::Binary(text.as_bytes().to_vec().into()))
        .await
        .unwrap();
}

#[tokio::test]
#[allow(unsafe_code)]
async fn shell_echo_resize_reattach_env_and_delete() {
    // SAFETY: set before any thread of this test process reads the environment concurrently.
    unsafe { std::env::set_var("BOOCODE_SECRET_PROBE", "leaked") };
    // A plain shell: the test must not depend on the user's start-up files.
    let kit = Kit::start_with(None, |c| c.shell = Some("/bin/sh".into())).await;
    let (_, sid, _) = kit.seed(None).await;
    let (status, t) = kit
        .call(
            "POST",
            &format!("/api/sessions/{sid}/terminals"),
            Some(json!({"cwd": "project", "cols": 80, "rows": 24})),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    let mut a = attach(&kit, &sid, &tid).await;
    let mut b = attach(&kit, &sid, &tid).await;
    wait_prompt(&mut a).await;
    send(&mut a, "echo sum=$((40+2))\n").await;
    read_until(&mut a, "sum=42").await;
    read_until(&mut b, "sum=42").await;
    // A resize from the socket is what the shell sees.
    a.send(WsMessage::Text(
        json!({"type": "resize", "cols": 100, "rows": 40})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    send(&mut a, "stty size\n").await;
    read_until(&mut a, "40 100").await;
    // boocode's own variables never reach the shell; the cwd is the project.
    // `$((1+1))` only becomes `2` in the output, never in the echoed command line.
    send(
        &mut a,
        "echo probe=${BOOCODE_SECRET_PROBE:-none}-$((1+1))\n",
    )
    .await;
    let out = read_until(&mut a, "-2").await;
    assert!(out.contains("probe=none-2"), "{out}");
    // A client that attaches later gets the scrollback.
    let mut late = attach(&kit, &sid, &tid).await;
    read_until(&mut late, "sum=42").await;
    // A zero-size resize is refused, over REST and over the socket.
    let (status, _) = kit
        .call(
            "POST",
            &format!("/api/sessions/{sid}/terminals/{tid}/resize"),
            Some(json!({"cols": 0, "rows": 10})),
        )
        .await;
    assert_eq!(status, 400);
    a.send(WsMessage::Text(
        json!({"type": "resize", "cols": 0, "rows": 0})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    read_until(&mut a, "\"type\":\"error\"").await;
    // Delete ends the shell's process group.
    send(&mut a, "echo shellpid=$$-$((2+3))\n").await;
    let out = read_until(&mut a, "-5").await;
    let shell_pid: u32 = out
        .rsplit("shellpid=")
        .next()
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (status, _) = kit
        .call(
            "DELETE",
            &format!("/api/sessions/{sid}/terminals/{tid}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    read_until(&mut a, "\"type\":\"exit\"").await;
    for _ in 0..100 {
        if !std::path::Path::new(&format!("/proc/{shell_pid}")).exists() {
            let (status, _) = kit
                .call(
                    "DELETE",
                    &format!("/api/sessions/{sid}/terminals/{tid}"),
                    None,
                )
                .await;
            assert_eq!(status, 404, "deleted once");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("shell {shell_pid} outlived its terminal");
}

#[tokio::test]
async fn worktree_terminals_limits_and_bad_input() {
    let kit = Kit::start_with(None, |c| c.shell = Some("/bin/sh".into())).await;
    let (pid, _) = kit.coding_project("term").await;
    let s = kit
        .ok(
            "POST",
            &format!("/api/projects/{pid}/sessions"),
            Some(json!({})),
        )
        .await;
    let sid = s["id"].as_str().unwrap().to_owned();
    let t = kit
        .ok(
            "POST",
            &format!("/api/sessions/{sid}/terminals"),
            Some(json!({"cwd": "worktree", "cols": 80, "rows": 24})),
        )
        .await;
    let mut ws = attach(&kit, &sid, t["id"].as_str().unwrap()).await;
    wait_prompt(&mut ws).await;
    send(&mut ws, "pwd\n").await;
    read_until(&mut ws, &format!("worktrees/{sid}")).await;
    assert!(
        kit.dir.path().join("data/worktrees").join(&sid).is_dir(),
        "the worktree was created for the terminal"
    );
    let cases = [
        (
            format!(
                "/api/sessions/{}/terminals",
                "01a2f000-0000-7000-8000-000000000000"
            ),
            json!({"cwd": "project", "cols": 80, "rows": 24}),
            404,
        ),
        (
            format!("/api/sessions/{sid}/terminals"),
            json!({"cwd": "project", "cols": 0, "rows": 24}),
            400,
        ),
        (
            format!("/api/sessions/{sid}/terminals"),
            json!({"cwd": "elsewhere", "cols": 80, "rows": 24}),
            400,
        ),
    ];
    for (path, body, want) in cases {
        let (status, v) = kit.call("POST", &path, Some(body)).await;
        assert_eq!(status, want, "{path}: {v}");
    }
    for _ in 1..boocode_server::terminals::PER_SESSION {
        kit.ok(
            "POST",
            &format!("/api/sessions/{sid}/terminals"),
            Some(json!({"cwd": "project", "cols": 80, "rows": 24})),
        )
        .await;
    }
    let (status, _) = kit
        .call(
            "POST",
            &format!("/api/sessions/{sid}/terminals"),
            Some(json!({"cwd": "project", "cols": 80, "rows": 24})),
        )
        .await;
    assert_eq!(status, 409, "per-session limit");
    // Another session cannot reach this terminal.
    let other = kit
        .ok(
            "POST",
            &format!("/api/projects/{pid}/sessions"),
            Some(json!({})),
        )
        .await;
    let url = format!(
        "{}/api/sessions/{}/terminals/{}/ws",
        kit.base.replace("http://", "ws://"),
        other["id"].as_str().unwrap(),
        t["id"].as_str().unwrap()
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 404),
        other => panic!("{other:?}"),
    }
    // Deleting the session ends its terminals.
    let (status, _) = kit
        .call("DELETE", &format!("/api/sessions/{sid}"), None)
        .await;
    assert_eq!(status, 204);
    read_until(&mut ws, "\"type\":\"exit\"").await;
}

#[tokio::test]
async fn a_terminal_comes_back_after_a_restart_in_its_directory_with_its_old_output() {
    let mut kit = Kit::start_with(None, |c| c.shell = Some("/bin/sh".into())).await;
    let (pid, sid, _) = kit.seed(None).await;
    let project = kit.ok("GET", &format!("/api/projects/{pid}"), None).await;
    let t = kit
        .ok(
            "POST",
            &format!("/api/sessions/{sid}/terminals"),
            Some(json!({"cwd": "project", "cols": 80, "rows": 24})),
        )
        .await;
    let old = t["id"].as_str().unwrap().to_owned();
    let mut ws = attach(&kit, &sid, &old).await;
    wait_prompt(&mut ws).await;
    send(&mut ws, "echo before=$((6*7))\n").await;
    read_until(&mut ws, "before=42").await;
    let info = kit
        .ok("GET", &format!("/api/sessions/{sid}/terminals/{old}"), None)
        .await;
    assert_eq!(info["state"], "running");
    drop(ws);

    kit.restart().await;
    let info = kit
        .ok("GET", &format!("/api/sessions/{sid}/terminals/{old}"), None)
        .await;
    assert_eq!(info["state"], "gone", "{info}");
    assert_eq!(info["cwd"], project["path"]);
    // Another session cannot take it; an unknown id is not found.
    let (_, other, _) = kit.seed(None).await;
    for (session, tid) in [(other.as_str(), old.as_str()), (sid.as_str(), "tnothing")] {
        let (status, body) = kit
            .call(
                "POST",
                &format!("/api/sessions/{session}/terminals"),
                Some(json!({"cwd": "worktree", "cols": 80, "rows": 24, "restore": tid})),
            )
            .await;
        assert_eq!(status, 404, "{body}");
    }
    let again = kit
        .ok(
            "POST",
            &format!("/api/sessions/{sid}/terminals"),
            Some(json!({"cwd": "worktree", "cols": 80, "rows": 24, "restore": old})),
        )
        .await;
    let new = again["id"].as_str().unwrap().to_owned();
    let mut ws = attach(&kit, &sid, &new).await;
    let seen = read_until(&mut ws, "boocode restarted").await;
    assert!(
        seen.contains("before=42"),
        "the old output comes first: {seen:?}"
    );
    send(&mut ws, "pwd\n").await;
    read_until(&mut ws, project["path"].as_str().unwrap()).await;
    let (status, _) = kit
        .call("GET", &format!("/api/sessions/{sid}/terminals/{old}"), None)
        .await;
    assert_eq!(status, 404, "the old terminal is forgotten once restarted");
    let (status, _) = kit
        .call(
            "DELETE",
            &format!("/api/sessions/{sid}/terminals/{new}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = kit
        .call("GET", &format!("/api/sessions/{sid}/terminals/{new}"), None)
        .await;
    assert_eq!(status, 404, "a closed tab's terminal is not kept");
}
