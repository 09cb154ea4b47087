//! `boocode mcp`, the stdio bridge, as a real child of a real token-protected `boocode serve`: an MCP
//! client speaking JSON-RPC lines lists the tools and queues a task that runs; malformed lines and a
//! missing token get JSON-RPC errors; the bridge exits when its stdin closes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use boocode_fakellm::{FakeLlm, FakeOptions};
use serde_json::{Value, json};
use support::{committed_repo, ready_url};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

const TOKEN: &str = "s3cret-api-token";

struct Bridge {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Bridge {
    fn spawn(url: &str, token: Option<&str>) -> Self {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_boocode"));
        cmd.args(["mcp", "--url", url])
            .env_remove("BOOCODE_TOKEN")
            .env("BOOCODE_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if let Some(t) = token {
            cmd.env("BOOCODE_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            stdout,
        }
    }

    async fn send(&mut self, line: &str) {
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.write_all(b"\n").await.unwrap();
    }

    async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), self.stdout.next_line())
            .await
            .expect("a line within 20 s")
            .unwrap()
            .expect("the bridge is still running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        )
        .await;
        let got = self.read().await;
        assert_eq!(got["id"], id, "{got}");
        got
    }
}

fn initialize() -> Value {
    json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "stdio-test", "version": "1"}})
}

#[tokio::test]
async fn a_stdio_client_queues_a_task_through_the_bridge() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    committed_repo(&repo);
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_boocode"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--llm-url", &fake.url()])
        .env("BOOCODE_TOKEN", TOKEN)
        .env("BOOCODE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = ready_url(&mut serve);
    let http = reqwest::Client::new();
    let project: Value = http
        .post(format!("{base}/api/projects"))
        .bearer_auth(TOKEN)
        .json(&json!({"path": repo}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mcp_url = format!("{base}/mcp");

    // Without the API token the server refuses, and the client hears why.
    let mut refused = Bridge::spawn(&mcp_url, None);
    let init = refused.call(1, "initialize", initialize()).await;
    let message = init["error"]["message"].as_str().unwrap();
    assert!(message.contains("401"), "{init}");

    let mut bridge = Bridge::spawn(&mcp_url, Some(TOKEN));
    let init = bridge.call(1, "initialize", initialize()).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "boocode", "{init}");
    bridge
        .send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    bridge.send("{not json").await;
    let parse = bridge.read().await;
    assert_eq!(parse["error"]["code"], -32700, "{parse}");

    let tools = bridge.call(2, "tools/list", json!({})).await;
    let mut names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "get_changes",
            "get_task",
            "list_tasks",
            "new_arena",
            "new_task"
        ]
    );

    let unknown = bridge
        .call(
            3,
            "tools/call",
            json!({"name": "new_task", "arguments": {"input": "x", "project_id": "nope"}}),
        )
        .await;
    assert_eq!(unknown["result"]["isError"], true, "{unknown}");

    let input = r#"[[tool:write_file {"path":"via-stdio.txt","content":"hi"}]] [[reply:done]]"#;
    let called = bridge
        .call(4, "tools/call", json!({"name": "new_task", "arguments": {"input": input, "project_id": project["id"], "model": "fake-model"}}))
        .await;
    assert_ne!(called["result"]["isError"], true, "{called}");
    let task: Value =
        serde_json::from_str(called["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let task_url = format!("{base}/api/tasks/{}", task["id"].as_str().unwrap());
    let mut state = Value::Null;
    for _ in 0..200 {
        let t: Value = http
            .get(&task_url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state = t["state"].clone();
        if state != "pending" && state != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state, "completed");
    let changes = bridge
        .call(5, "tools/call", json!({"name": "get_changes", "arguments": {"session_id": task["session_id"], "status": "pending"}}))
        .await;
    assert!(
        changes["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("via-stdio.txt"),
        "{changes}"
    );

    // Closing stdin ends the bridge cleanly.
    drop(bridge.stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), bridge.child.wait())
        .await
        .expect("the bridge exits when stdin closes")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let _ = serve.kill();
    let _ = serve.wait();
}
