//! fake-acp-agent: a scripted ACP agent for the cases real agents cannot produce on demand (docs/ARCHITECTURE.md
//! §14). Directives in the prompt script each turn: `[[say:T]]`, `[[think:T]]`, `[[write:PATH CONTENT]]`,
//! `[[read:PATH]]`, `[[permission:PATH CONTENT]]`, `[[commands]]`, `[[plan]]`, `[[slow:N]]`, `[[crash]]`,
//! `[[hang]]`, `[[malformed]]`, `[[unknown_update]]`, `[[unknown_method]]`, `[[pid]]`, `[[home_file:REL]]`
//! (what `$HOME/REL` holds), `[[env:NAME]]`,
//! `[[mcp_new_task:INPUT]]`, `[[mcp_call:TOOL|JSON ARGS]]` (any tool of boocode's MCP server, as a hostile
//! agent would call it). Environment: `FAKE_ACP_EXIT_ON_INIT=1`, `FAKE_ACP_PROTOCOL=N`,
//! `FAKE_ACP_SLOW_START_MS=N`, `FAKE_ACP_NO_LOAD=1`, `FAKE_ACP_RECORD=FILE` (appends every `session/new`
//! request and the agent's environment to FILE, to check what boocode hands an agent).
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tokio::sync::oneshot;

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

#[derive(Clone)]
struct Agent {
    out: Arc<Mutex<std::io::Stdout>>,
    waiters: Waiters,
    next_id: Arc<AtomicU64>,
    cancelled: Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>,
    /// Per session: model, effort, mode.
    config: Arc<Mutex<HashMap<String, [String; 3]>>>,
    /// Per session: the MCP servers session/new listed.
    mcp: Arc<Mutex<HashMap<String, Value>>>,
}

/// One MCP request over HTTP/1.1 (no client library): returns the session header and the JSON-RPC
/// response, whether it came as plain JSON or as an SSE `data:` line.
async fn mcp_post(
    server: &Value,
    session: Option<&str>,
    body: &Value,
) -> Result<(Option<String>, Option<Value>), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = server["url"].as_str().ok_or("no url")?;
    let rest = url.strip_prefix("http://").ok_or("not http")?;
    let (authority, path) = rest
        .split_once('/')
        .map(|(a, p)| (a, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| e.to_string())?;
    let text = body.to_string();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        text.len()
    );
    for h in server["headers"].as_array().into_iter().flatten() {
        req.push_str(&format!(
            "{}: {}\r\n",
            h["name"].as_str().unwrap_or(""),
            h["value"].as_str().unwrap_or("")
        ));
    }
    if let Some(s) = session {
        req.push_str(&format!("mcp-session-id: {s}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&text);
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw)).await;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let session_id = head.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("mcp-session-id"))
            .map(|(_, v)| v.trim().to_owned())
    });
    let response = serde_json::from_str::<Value>(payload.trim())
        .ok()
        .or_else(|| {
            payload
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .find(|v| v.get("id").is_some())
        });
    Ok((session_id, response))
}

/// MCP over a stdio server `session/new` listed: starts its command, writes the messages one per line
/// and returns the response to the last one (each request waits for its response first).
async fn mcp_stdio(server: &Value, messages: &[Value]) -> Result<Value, String> {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(server["command"].as_str().ok_or("no command")?);
    for a in server["args"].as_array().into_iter().flatten() {
        cmd.arg(a.as_str().unwrap_or_default());
    }
    for e in server["env"].as_array().into_iter().flatten() {
        cmd.env(
            e["name"].as_str().unwrap_or_default(),
            e["value"].as_str().unwrap_or_default(),
        );
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the MCP server: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let mut last = Value::Null;
    for message in messages {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let Some(id) = message.get("id") else {
            continue;
        };
        last = loop {
            let line = tokio::time::timeout(Duration::from_secs(10), stdout.next_line())
                .await
                .map_err(|_| "the MCP server did not answer in 10 s".to_owned())?
                .map_err(|e| e.to_string())?
                .ok_or("the MCP server exited")?;
            let got: Value = serde_json::from_str(&line).map_err(|e| e.to_string())?;
            if got.get("id") == Some(id) {
                break got;
            }
        };
    }
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    Ok(last)
}

fn config_options(c: &[String; 3]) -> Value {
    json!([
        {"id": "model", "name": "Model", "category": "model", "type": "select", "currentValue": c[0],
         "options": [{"value": "fake-a", "name": "Fake A"}, {"group": "more", "name": "More", "options": [{"value": "fake-b", "name": "Fake B"}]}]},
        {"id": "effort", "name": "Effort", "category": "thought_level", "type": "select", "currentValue": c[1],
         "options": [{"value": "low", "name": "Low"}, {"value": "high", "name": "High"}]}
    ])
}

impl Agent {
    fn send(&self, msg: &Value) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{msg}");
            let _ = out.flush();
        }
    }

    fn raw(&self, line: &str) {
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    fn respond(&self, id: &Value, result: Value) {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "result": result}));
    }

    fn error(&self, id: &Value, code: i64, message: &str) {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        );
    }

    fn update(&self, session: &str, update: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": session, "update": update}}));
    }

    fn say(&self, session: &str, text: &str) {
        self.update(session, json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}));
    }

    async fn request(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut w) = self.waiters.lock() {
            w.insert(id, tx);
        }
        // String ids, as the SDK and codex-acp send them.
        self.send(&json!({"jsonrpc": "2.0", "id": format!("req-{id}"), "method": method, "params": params}));
        rx.await.unwrap_or(Value::Null)
    }
}

fn directives(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        let Some(len) = rest[start..].find("]]") else {
            break;
        };
        let inner = &rest[start + 2..start + len];
        rest = &rest[start + len + 2..];
        let (name, arg) = inner.split_once(':').unwrap_or((inner, ""));
        out.push((name.trim().to_owned(), arg.to_owned()));
    }
    out
}

async fn turn(agent: Agent, id: Value, session: String, text: String) {
    let cancelled = Arc::new(AtomicBool::new(false));
    if let Ok(mut c) = agent.cancelled.lock() {
        c.insert(session.clone(), cancelled.clone());
    }
    let script = directives(&text);
    if script.is_empty() {
        agent.say(&session, "Hello from fake-acp-agent.");
    }
    for (n, (name, arg)) in script.into_iter().enumerate() {
        let call_id = format!("call-{n}");
        match name.as_str() {
            "say" => agent.say(&session, &arg),
            "think" => agent.update(&session, json!({"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": arg}})),
            "pid" => agent.say(&session, &format!("pid {} session {session}", std::process::id())),
            // What the agent's own home holds and what its environment says (for home tests).
            "home_file" => {
                let home = std::env::var("HOME").unwrap_or_default();
                let text = std::fs::read_to_string(std::path::Path::new(&home).join(&arg))
                    .map_or_else(|_| "missing".to_owned(), |t| t.trim().to_owned());
                agent.say(&session, &format!("home_file {arg}: {text}\n"));
            }
            "env" => {
                let value = std::env::var(&arg).unwrap_or_else(|_| "unset".into());
                agent.say(&session, &format!("env {arg}={value}\n"));
            }
            "mcp_new_task" | "mcp_call" => {
                let server = agent.mcp.lock().ok().and_then(|m| m.get(&session).cloned());
                let Some(server) = server else {
                    agent.say(&session, "no MCP server");
                    continue;
                };
                let (tool, arguments) = if name == "mcp_new_task" {
                    ("new_task".to_owned(), json!({"input": arg}))
                } else {
                    let (tool, args) = arg.split_once('|').unwrap_or((arg.as_str(), "{}"));
                    (tool.trim().to_owned(), serde_json::from_str(args).unwrap_or(json!({})))
                };
                let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fake-acp-agent", "version": "1"}}});
                let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
                let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}});
                let result = if server.get("command").is_some() {
                    mcp_stdio(&server, &[init, initialized, call]).await
                } else {
                    async {
                        let (sid, _) = mcp_post(&server, None, &init).await?;
                        let sid = sid.ok_or("no mcp-session-id")?;
                        mcp_post(&server, Some(&sid), &initialized).await?;
                        let (_, response) = mcp_post(&server, Some(&sid), &call).await?;
                        response.ok_or_else(|| "no response".to_owned())
                    }
                    .await
                };
                match result {
                    Ok(r) if name == "mcp_call" => {
                        let error = r.pointer("/result/isError").and_then(Value::as_bool).unwrap_or(false);
                        let text = r.pointer("/result/content/0/text").and_then(Value::as_str).unwrap_or("");
                        agent.say(&session, &format!("mcp {} {text}", if error { "error" } else { "ok" }));
                    }
                    Ok(r) => {
                        let text = r.pointer("/result/content/0/text").and_then(Value::as_str).unwrap_or("");
                        let task: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                        agent.say(&session, &format!("mcp queued {} in {}", task["id"].as_str().unwrap_or("?"), task["session_id"].as_str().unwrap_or("?")));
                    }
                    Err(e) => agent.say(&session, &format!("mcp failed: {e}")),
                }
            }
            "config" => {
                let c = agent.config.lock().ok().and_then(|c| c.get(&session).cloned()).unwrap_or_default();
                agent.say(&session, &format!("model={} effort={} mode={}", c[0], c[1], c[2]));
            }
            "write" | "permission" => {
                let (path, content) = arg.split_once(' ').unwrap_or((arg.as_str(), ""));
                agent.update(&session, json!({"sessionUpdate": "tool_call", "toolCallId": call_id, "title": format!("Write {path}"),
                    "kind": "edit", "status": "pending", "locations": [{"path": path}],
                    "rawInput": {"path": path, "content": content}}));
                if name == "permission" {
                    let answer = agent
                        .request("session/request_permission", json!({"sessionId": session,
                            "toolCall": {"toolCallId": call_id, "title": format!("Write {path}"), "kind": "edit",
                                "locations": [{"path": path}], "rawInput": {"path": path, "content": content},
                                "content": [{"type": "diff", "path": path, "newText": content}]},
                            "options": [{"optionId": "yes-once", "name": "Allow", "kind": "allow_once"},
                                        {"optionId": "yes-always", "name": "Always allow", "kind": "allow_always"},
                                        {"optionId": "no-once", "name": "Reject", "kind": "reject_once"}]}))
                        .await;
                    let outcome = answer.pointer("/result/outcome/outcome").and_then(Value::as_str).unwrap_or("error");
                    let option = answer.pointer("/result/outcome/optionId").and_then(Value::as_str).unwrap_or("");
                    agent.say(&session, &format!("permission {outcome} {option}"));
                    if option != "yes-once" && option != "yes-always" {
                        agent.update(&session, json!({"sessionUpdate": "tool_call_update", "toolCallId": call_id, "status": "failed"}));
                        continue;
                    }
                }
                agent.update(&session, json!({"sessionUpdate": "tool_call_update", "toolCallId": call_id, "status": "in_progress"}));
                let answer = agent.request("fs/write_text_file", json!({"sessionId": session, "path": path, "content": content})).await;
                let (status, note) = match answer.get("error") {
                    Some(err) => ("failed", format!("write failed: {}", err["message"].as_str().unwrap_or("?"))),
                    None => ("completed", format!("wrote {path}")),
                };
                agent.update(&session, json!({"sessionUpdate": "tool_call_update", "toolCallId": call_id, "status": status,
                    "content": [{"type": "diff", "path": path, "newText": content}], "rawOutput": {"note": note}}));
                agent.say(&session, &note);
            }
            "read" => {
                let answer = agent.request("fs/read_text_file", json!({"sessionId": session, "path": arg})).await;
                match answer.get("error") {
                    Some(err) => agent.say(&session, &format!("read failed: {}", err["message"].as_str().unwrap_or("?"))),
                    None => {
                        let content = answer.pointer("/result/content").and_then(Value::as_str).unwrap_or("");
                        agent.say(&session, &format!("read {} bytes: {content}", content.len()));
                    }
                }
            }
            "terminal" | "terminal_kill" => {
                let (limit, command) = match arg.split_once('|') {
                    Some((l, c)) => (l.trim().parse::<u64>().ok(), c.to_owned()),
                    None => (None, arg.clone()),
                };
                let mut params = json!({"sessionId": session, "command": "sh", "args": ["-c", command], "env": [{"name": "FROM_AGENT", "value": "yes"}]});
                if let Some(limit) = limit {
                    params["outputByteLimit"] = json!(limit);
                }
                let created = agent.request("terminal/create", params).await;
                let Some(tid) = created.pointer("/result/terminalId").and_then(Value::as_str).map(str::to_owned) else {
                    agent.say(&session, &format!("terminal failed: {created}"));
                    continue;
                };
                if name == "terminal_kill" {
                    agent.request("terminal/kill", json!({"sessionId": session, "terminalId": tid})).await;
                }
                let exit = agent.request("terminal/wait_for_exit", json!({"sessionId": session, "terminalId": tid})).await;
                let out = agent.request("terminal/output", json!({"sessionId": session, "terminalId": tid})).await;
                agent.request("terminal/release", json!({"sessionId": session, "terminalId": tid})).await;
                let code = exit.pointer("/result/exitCode").cloned().unwrap_or(Value::Null);
                let signal = exit.pointer("/result/signal").cloned().unwrap_or(Value::Null);
                let output = out.pointer("/result/output").and_then(Value::as_str).unwrap_or("");
                let truncated = out.pointer("/result/truncated").and_then(Value::as_bool).unwrap_or(false);
                agent.say(&session, &format!("terminal exit {code} signal {signal} truncated {truncated}: {output}"));
            }
            "commands" => agent.update(&session, json!({"sessionUpdate": "available_commands_update",
                "availableCommands": [{"name": "review", "description": "Review the changes", "input": {"hint": "path"}}]})),
            "plan" => agent.update(&session, json!({"sessionUpdate": "plan",
                "entries": [{"content": "Read the code", "priority": "high", "status": "completed"},
                            {"content": "Write the fix", "priority": "high", "status": "in_progress"}]})),
            "usage" => agent.update(&session, json!({"sessionUpdate": "usage_update", "used": 1200, "size": 32768})),
            "slow" => {
                let n: usize = arg.trim().parse().unwrap_or(50);
                for i in 0..n {
                    if cancelled.load(Ordering::Relaxed) {
                        agent.respond(&id, json!({"stopReason": "cancelled"}));
                        return;
                    }
                    agent.say(&session, &format!("chunk{i} "));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            "crash" => {
                eprintln!("fake-acp-agent: crashing on purpose (line 1)");
                eprintln!("fake-acp-agent: last words before exit 17");
                std::process::exit(17);
            }
            "hang" => std::future::pending::<()>().await,
            "malformed" => agent.raw("{this is not json"),
            "unknown_update" => agent.update(&session, json!({"sessionUpdate": "brand_new_thing", "stuff": 1})),
            "unknown_method" => {
                let answer = agent.request("craft/drainMidTurnQueue", json!({})).await;
                let code = answer.pointer("/error/code").and_then(Value::as_i64).unwrap_or(0);
                agent.say(&session, &format!("client answered {code}"));
            }
            _ => {}
        }
    }
    let stop = if cancelled.load(Ordering::Relaxed) {
        "cancelled"
    } else {
        "end_turn"
    };
    agent.respond(&id, json!({"stopReason": stop}));
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--version") {
        println!("fake-acp-agent {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if let Some(ms) = std::env::var("FAKE_ACP_SLOW_START_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let agent = Agent {
        out: Arc::new(Mutex::new(std::io::stdout())),
        waiters: Arc::default(),
        next_id: Arc::new(AtomicU64::new(1)),
        cancelled: Arc::default(),
        config: Arc::default(),
        mcp: Arc::default(),
    };
    let sessions = AtomicU64::new(0);
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let id = msg.get("id").cloned();
        let method = msg
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let params = msg.get("params").cloned().unwrap_or(Value::Null);
        if method.is_empty() {
            // A response to one of our requests.
            let key = id
                .as_ref()
                .and_then(Value::as_str)
                .and_then(|s| s.strip_prefix("req-"))
                .and_then(|n| n.parse().ok());
            if let Some(waiter) =
                key.and_then(|k: u64| agent.waiters.lock().ok().and_then(|mut w| w.remove(&k)))
            {
                let _ = waiter.send(msg);
            }
            continue;
        }
        let Some(id) = id else {
            if method == "session/cancel" {
                let session = params["sessionId"].as_str().unwrap_or_default();
                if let Some(flag) = agent
                    .cancelled
                    .lock()
                    .ok()
                    .and_then(|c| c.get(session).cloned())
                {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            continue;
        };
        match method.as_str() {
            "initialize" => {
                if std::env::var_os("FAKE_ACP_EXIT_ON_INIT").is_some() {
                    eprintln!("fake-acp-agent: refusing to initialize");
                    std::process::exit(3);
                }
                let version: u64 = std::env::var("FAKE_ACP_PROTOCOL")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                let load = std::env::var_os("FAKE_ACP_NO_LOAD").is_none();
                agent.respond(&id, json!({"protocolVersion": version,
                    "agentCapabilities": {"loadSession": load, "promptCapabilities": {}, "mcpCapabilities": {"http": std::env::var_os("FAKE_ACP_NO_HTTP_MCP").is_none()}},
                    "agentInfo": {"name": "fake-acp-agent", "version": env!("CARGO_PKG_VERSION")}, "authMethods": []}));
            }
            "session/new" => {
                if let Some(file) = std::env::var_os("FAKE_ACP_RECORD") {
                    let env: HashMap<String, String> = std::env::vars().collect();
                    let record = json!({"method": "session/new", "params": params, "env": env});
                    if let Ok(mut f) = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(file)
                    {
                        let _ = writeln!(f, "{record}");
                    }
                }
                let n = sessions.fetch_add(1, Ordering::Relaxed);
                let sid = format!("fake-{}-{n}", std::process::id());
                let c = ["fake-a".to_owned(), "low".to_owned(), "default".to_owned()];
                let options = config_options(&c);
                if let Ok(mut all) = agent.config.lock() {
                    all.insert(sid.clone(), c);
                }
                if let (Some(first), Ok(mut all)) =
                    (params["mcpServers"].get(0).cloned(), agent.mcp.lock())
                {
                    all.insert(sid.clone(), first);
                }
                agent.respond(&id, json!({"sessionId": sid, "configOptions": options,
                    "modes": {"currentModeId": "default", "availableModes": [{"id": "default", "name": "Default"}, {"id": "plan", "name": "Plan"}]}}));
                // Real agents announce their slash commands right after the session opens.
                agent.update(&sid, json!({"sessionUpdate": "available_commands_update",
                    "availableCommands": [{"name": "review", "description": "Review the changes", "input": {"hint": "path"}}]}));
            }
            "session/load" => {
                let session = params["sessionId"].as_str().unwrap_or_default().to_owned();
                agent.update(&session, json!({"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": "earlier question"}}));
                agent.say(&session, "(replayed) ");
                agent.respond(&id, json!({}));
            }
            "session/set_mode" | "session/set_config_option" => {
                let session = params["sessionId"].as_str().unwrap_or_default().to_owned();
                let mut all = agent.config.lock().unwrap_or_else(|e| e.into_inner());
                let c = all
                    .entry(session)
                    .or_insert_with(|| ["fake-a".into(), "low".into(), "default".into()]);
                match (method.as_str(), params["configId"].as_str()) {
                    ("session/set_mode", _) => {
                        c[2] = params["modeId"].as_str().unwrap_or_default().to_owned()
                    }
                    (_, Some("model")) => {
                        c[0] = params["value"].as_str().unwrap_or_default().to_owned()
                    }
                    (_, Some("effort")) => {
                        c[1] = params["value"].as_str().unwrap_or_default().to_owned()
                    }
                    _ => {}
                }
                let options = config_options(c);
                drop(all);
                agent.respond(
                    &id,
                    if method == "session/set_mode" {
                        json!({})
                    } else {
                        json!({"configOptions": options})
                    },
                );
            }
            "session/prompt" => {
                let session = params["sessionId"].as_str().unwrap_or_default().to_owned();
                let text: String = params["prompt"]
                    .as_array()
                    .map(|blocks| {
                        blocks
                            .iter()
                            .filter_map(|b| b["text"].as_str())
                            .collect::<Vec<_>>()
                            .join("")
                    })
                    .unwrap_or_default();
                tokio::spawn(turn(agent.clone(), id, session, text));
            }
            _ => agent.error(&id, -32601, &format!("method not found: {method}")),
        }
    }
}
