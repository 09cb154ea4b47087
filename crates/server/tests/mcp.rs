//! The MCP server at `/mcp` with a plain JSON-RPC client over streamable HTTP: initialize, list the tools,
//! queue a task that then runs, tool errors for bad input, and the Host guard.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

struct Mcp<'a> {
    kit: &'a Kit,
    session: Option<String>,
    next: u64,
}

impl<'a> Mcp<'a> {
    async fn post(&mut self, body: Value) -> (u16, Option<Value>) {
        let mut req = self
            .kit
            .http
            .post(format!("{}/mcp", self.kit.base))
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        if let Some(id) = resp.headers().get("mcp-session-id") {
            self.session = Some(id.to_str().unwrap().to_owned());
        }
        let text = resp.text().await.unwrap();
        // Either a JSON body or an SSE stream whose data lines carry the response.
        let value = serde_json::from_str(&text).ok().or_else(|| {
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .find(|v| v.get("id").is_some())
        });
        (status, value)
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let (status, value) = self
            .post(json!({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params}))
            .await;
        assert_eq!(status, 200, "{method}: {value:?}");
        value.unwrap_or_else(|| panic!("{method}: no response"))
    }

    async fn start(kit: &'a Kit) -> Self {
        let mut mcp = Self {
            kit,
            session: None,
            next: 0,
        };
        let init = mcp
            .call("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}))
            .await;
        assert_eq!(init["result"]["serverInfo"]["name"], "boocode", "{init}");
        mcp.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        mcp
    }
}

#[tokio::test]
async fn tools_are_listed_and_new_task_queues_a_task_that_runs() {
    let kit = Kit::start().await;
    let (pid, _) = kit.coding_project("mcp").await;
    let mut mcp = Mcp::start(&kit).await;
    let tools = mcp.call("tools/list", json!({})).await;
    let mut names: Vec<String> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
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
    let new_task = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "new_task")
        .unwrap()
        .clone();
    assert!(
        new_task["inputSchema"]["properties"]["input"]["description"]
            .as_str()
            .unwrap()
            .contains("agent should do")
    );

    let input = r#"[[tool:write_file {"path":"from-mcp.txt","content":"hi"}]] [[reply:done]]"#;
    let called = mcp.call("tools/call", json!({"name": "new_task", "arguments": {"input": input, "project_id": pid, "model": "fake-model"}})).await;
    assert_ne!(called["result"]["isError"], true, "{called}");
    let task: Value =
        serde_json::from_str(called["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let done = kit.wait_task(task["id"].as_str().unwrap()).await;
    assert_eq!(done["state"], "completed");
    let sid = done["session_id"].as_str().unwrap();
    let got = mcp
        .call(
            "tools/call",
            json!({"name": "get_task", "arguments": {"task_id": task["id"]}}),
        )
        .await;
    assert!(
        got["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("completed")
    );
    let changes = mcp
        .call(
            "tools/call",
            json!({"name": "get_changes", "arguments": {"session_id": sid, "status": "pending"}}),
        )
        .await;
    assert!(
        changes["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("from-mcp.txt")
    );
    let listed = mcp
        .call(
            "tools/call",
            json!({"name": "list_tasks", "arguments": {"session_id": sid}}),
        )
        .await;
    assert!(
        listed["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains(task["id"].as_str().unwrap())
    );

    // Bad input is a tool error with a message, not a transport failure.
    let bad = mcp.call("tools/call", json!({"name": "new_task", "arguments": {"input": "x", "project_id": "01a2f000-0000-7000-8000-000000000000"}})).await;
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    assert!(
        bad["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("not found")
    );
    let bad = mcp
        .call(
            "tools/call",
            json!({"name": "new_task", "arguments": {"input": "x"}}),
        )
        .await;
    assert!(
        bad["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("project_id")
    );
}

#[tokio::test]
async fn new_arena_races_two_models_and_refuses_one_contender() {
    let kit = Kit::start().await;
    let (pid, _) = kit.coding_project("arena").await;
    let mut mcp = Mcp::start(&kit).await;
    let one = mcp
        .call(
            "tools/call",
            json!({"name": "new_arena", "arguments": {"input": "x", "project_id": pid,
            "contenders": [{"agent": "native", "model": "fake-model"}]}}),
        )
        .await;
    assert_eq!(one["result"]["isError"], true, "{one}");
    let made = mcp
        .call("tools/call", json!({"name": "new_arena", "arguments": {"input": "[[reply:raced]]", "project_id": pid,
            "contenders": [{"agent": "native", "model": "fake-model"}, {"agent": "native", "model": "fake-model-2"}]}}))
        .await;
    assert_ne!(made["result"]["isError"], true, "{made}");
    let arena: Value =
        serde_json::from_str(made["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let id = arena["id"].as_str().unwrap();
    for _ in 0..200 {
        let a = kit.ok("GET", &format!("/api/arenas/{id}"), None).await;
        if a["status"] == "finished" {
            let models: Vec<&str> = a["contenders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["model"].as_str().unwrap())
                .collect();
            assert_eq!(models, ["fake-model", "fake-model-2"]);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the arena never finished");
}

#[tokio::test]
async fn mcp_is_behind_the_same_guard() {
    let kit = Kit::start_with(None, |c| c.token = Some("mcp-secret".into())).await;
    let port = kit.base.rsplit(':').next().unwrap().to_owned();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let send = |host: String, token: Option<&'static str>, origin: Option<&'static str>| {
        let mut req = kit
            .http
            .post(format!("{}/mcp", kit.base))
            .header("host", host)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        send(format!("evil.example:{port}"), Some("mcp-secret"), None).await,
        403
    );
    assert_eq!(
        send(
            format!("127.0.0.1:{port}"),
            Some("mcp-secret"),
            Some("http://evil.example")
        )
        .await,
        403
    );
    assert_eq!(send(format!("127.0.0.1:{port}"), None, None).await, 401);
    assert_eq!(
        send(format!("127.0.0.1:{port}"), Some("mcp-secret"), None).await,
        200
    );
}
