//! Newline-delimited JSON-RPC 2.0 over an agent's stdio. A reader task routes responses to their waiting
//! requests and hands requests and notifications to the session in arrival order; it never awaits a
//! handler, so a slow permission answer cannot stall the connection. Every line is logged at debug level;
//! a malformed line is logged and skipped, never fatal.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// JSON-RPC "method not found".
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC "invalid params".
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC "internal error".
pub const INTERNAL_ERROR: i64 = -32603;

/// A failed request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    #[error("agent answered {method} with error {code}: {message}")]
    Remote {
        method: String,
        code: i64,
        message: String,
    },
    #[error("the agent closed the connection")]
    Closed,
}

/// What the agent sent, in arrival order. Responses travel in the same queue as notifications so a
/// request never completes before the updates the agent sent ahead of its answer were handled; the
/// consumer completes them with `RpcConnection::complete` (and `fail_all` on `Closed`).
#[derive(Debug, Clone)]
pub enum Incoming {
    Notification {
        method: String,
        params: Value,
    },
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Response {
        key: u64,
        result: Result<Value, RpcError>,
    },
    Closed,
}

type Pending = Arc<Mutex<HashMap<u64, (String, oneshot::Sender<Result<Value, RpcError>>)>>>;

/// The client end of one agent connection; cheap to clone.
#[derive(Clone)]
pub struct RpcConnection {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    closed: CancellationToken,
    input_closed: CancellationToken,
    label: Arc<str>,
}

impl RpcConnection {
    /// Starts reading `incoming` and writing `outgoing`; returns the connection and the stream of
    /// requests/notifications from the agent.
    pub fn start(
        outgoing: impl AsyncWrite + Send + Unpin + 'static,
        incoming: impl AsyncRead + Send + Unpin + 'static,
        label: &str,
    ) -> (Self, mpsc::UnboundedReceiver<Incoming>) {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let conn = Self {
            out: out_tx,
            pending: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
            closed: CancellationToken::new(),
            input_closed: CancellationToken::new(),
            label: label.into(),
        };
        tokio::spawn(write_loop(
            outgoing,
            out_rx,
            conn.input_closed.clone(),
            conn.label.clone(),
        ));
        tokio::spawn(read_loop(
            incoming,
            in_tx,
            conn.pending.clone(),
            conn.closed.clone(),
            conn.label.clone(),
        ));
        (conn, in_rx)
    }

    fn send_line(&self, value: &Value) {
        let line = value.to_string();
        tracing::debug!(agent = %self.label, "→ {}", redacted(value));
        let _ = self.out.send(line);
    }

    /// Sends a request and waits for its response (or for the connection to close).
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, (method.to_owned(), tx));
        }
        if self.closed.is_cancelled() {
            return Err(RpcError::Closed);
        }
        self.send_line(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        rx.await.unwrap_or(Err(RpcError::Closed))
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Value) {
        self.send_line(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Answers a request of the agent.
    pub fn respond(&self, id: Value, result: Result<Value, (i64, String)>) {
        let msg = match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => {
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            }
        };
        self.send_line(&msg);
    }

    /// Resolves when the agent's stdout closed (exit, crash or EOF).
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    /// Closes the agent's stdin (the first step of a graceful shutdown).
    pub fn close_input(&self) {
        self.input_closed.cancel();
    }

    /// Completes the request `key` (called by the consumer, in arrival order).
    pub fn complete(&self, key: u64, result: Result<Value, RpcError>) {
        if let Some((_, waiter)) = self.pending.lock().ok().and_then(|mut p| p.remove(&key)) {
            let _ = waiter.send(result);
        }
    }

    /// Fails every outstanding request (the agent's stdout closed).
    pub fn fail_all(&self) {
        fail_pending(&self.pending);
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }
}

async fn write_loop(
    mut out: impl AsyncWrite + Send + Unpin,
    mut rx: mpsc::UnboundedReceiver<String>,
    closed: CancellationToken,
    label: Arc<str>,
) {
    loop {
        let line = tokio::select! {
            l = rx.recv() => l,
            () = closed.cancelled() => None,
        };
        let Some(mut line) = line else { break };
        line.push('\n');
        if let Err(e) = async {
            out.write_all(line.as_bytes()).await?;
            out.flush().await
        }
        .await
        {
            tracing::debug!(agent = %label, error = %e, "agent stdin closed");
            break;
        }
    }
    // Dropping stdin is the first step of a graceful agent shutdown.
    let _ = out.shutdown().await;
}

async fn read_loop(
    incoming: impl AsyncRead + Send + Unpin,
    tx: mpsc::UnboundedSender<Incoming>,
    pending: Pending,
    closed: CancellationToken,
    label: Arc<str>,
) {
    let mut lines = BufReader::new(incoming).lines();
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(agent = %label, error = %e, "agent stdout unreadable; closing");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        tracing::debug!(agent = %label, "← {}", redacted_line(&line));
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            tracing::warn!(agent = %label, line = %clip(&line), "agent sent a line that is not JSON; ignored");
            continue;
        };
        route(msg, &tx, &pending, &label);
    }
    closed.cancel();
    // Queued behind everything read so far; with no consumer left, fail the waiters here.
    if tx.send(Incoming::Closed).is_err() {
        fail_pending(&pending);
    }
}

fn fail_pending(pending: &Pending) {
    if let Ok(mut pending) = pending.lock() {
        for (_, (_, waiter)) in pending.drain() {
            let _ = waiter.send(Err(RpcError::Closed));
        }
    }
}

fn route(msg: Value, tx: &mpsc::UnboundedSender<Incoming>, pending: &Pending, label: &str) {
    let method = msg.get("method").and_then(Value::as_str).map(str::to_owned);
    let id = msg.get("id").cloned().filter(|id| !id.is_null());
    match (method, id) {
        (Some(method), Some(id)) => {
            let params = msg.get("params").cloned().unwrap_or(Value::Null);
            let _ = tx.send(Incoming::Request { id, method, params });
        }
        (Some(method), None) => {
            let params = msg.get("params").cloned().unwrap_or(Value::Null);
            let _ = tx.send(Incoming::Notification { method, params });
        }
        (None, Some(id)) => {
            let Some(key) = id.as_u64() else {
                tracing::warn!(agent = %label, %id, "response to an id we never sent; ignored");
                return;
            };
            let method = pending
                .lock()
                .ok()
                .and_then(|p| p.get(&key).map(|(m, _)| m.clone()));
            let Some(method) = method else {
                tracing::warn!(agent = %label, %id, "response to an unknown request; ignored");
                return;
            };
            let result = match msg.get("error") {
                Some(err) => Err(RpcError::Remote {
                    method,
                    code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                    message: err
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("(no message)")
                        .to_owned(),
                }),
                None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
            };
            let _ = tx.send(Incoming::Response { key, result });
        }
        (None, None) => {
            tracing::warn!(agent = %label, "agent sent JSON that is not JSON-RPC; ignored")
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Whether a header, variable or field name carries a credential.
fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "authorization",
        "api_key",
        "apikey",
        "x-boocode-session",
        "cookie",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// A JSON-RPC message fit for a log: values of secret-looking fields, and of `{name, value}` pairs (ACP's
/// headers and environment) with a secret-looking name, replaced.
pub(crate) fn redacted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let pair_is_secret = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(secret_name);
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let hide = (secret_name(k) && !v.is_object() && !v.is_array())
                            || (k == "value" && pair_is_secret);
                        let shown = if hide {
                            Value::String("<redacted>".into())
                        } else {
                            redacted(v)
                        };
                        (k.clone(), shown)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

fn redacted_line(line: &str) -> String {
    match serde_json::from_str::<Value>(line) {
        Ok(v) => redacted(&v).to_string(),
        Err(_) => format!("<{} bytes, not JSON>", line.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_responses_and_garbage() {
        let (client_out, agent_in) = tokio::io::duplex(4096);
        let (agent_out, client_in) = tokio::io::duplex(4096);
        let (conn, mut raw) = RpcConnection::start(client_out, client_in, "test");
        // The consumer completes responses in arrival order and passes the rest on.
        let (fwd, mut incoming) = mpsc::unbounded_channel();
        let consumer = conn.clone();
        tokio::spawn(async move {
            while let Some(msg) = raw.recv().await {
                match msg {
                    Incoming::Response { key, result } => consumer.complete(key, result),
                    Incoming::Closed => consumer.fail_all(),
                    other => {
                        let _ = fwd.send(other);
                    }
                }
            }
        });
        // A tiny scripted peer: answers request 1, sends garbage, a notification and a request.
        tokio::spawn(async move {
            let mut lines = BufReader::new(agent_in).lines();
            let mut out = agent_out;
            let first = lines.next_line().await.unwrap().unwrap();
            let req: Value = serde_json::from_str(&first).unwrap();
            assert_eq!(req["method"], "initialize");
            let reply = format!(
                "not json at all\n{{\"jsonrpc\":\"2.0\",\"method\":\"session/update\",\"params\":{{\"x\":1}}}}\n\
                 {{\"jsonrpc\":\"2.0\",\"id\":\"uuid-1\",\"method\":\"fs/read_text_file\",\"params\":{{}}}}\n\
                 {{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{{\"ok\":true}}}}\n",
                req["id"]
            );
            out.write_all(reply.as_bytes()).await.unwrap();
            let answer = lines.next_line().await.unwrap().unwrap();
            let answer: Value = serde_json::from_str(&answer).unwrap();
            assert_eq!(
                (answer["id"].as_str(), answer["error"]["code"].as_i64()),
                (Some("uuid-1"), Some(METHOD_NOT_FOUND))
            );
            drop(out);
        });
        let result = conn.request("initialize", json!({})).await.unwrap();
        assert_eq!(result, json!({"ok": true}));
        assert!(
            matches!(incoming.recv().await, Some(Incoming::Notification { method, .. }) if method == "session/update")
        );
        match incoming.recv().await {
            Some(Incoming::Request { id, method, .. }) => {
                assert_eq!(method, "fs/read_text_file");
                conn.respond(id, Err((METHOD_NOT_FOUND, "no".into())));
            }
            other => panic!("{other:?}"),
        }
        conn.closed().await;
        assert_eq!(conn.request("late", json!({})).await, Err(RpcError::Closed));
    }

    #[test]
    fn logged_messages_hide_credentials() {
        let msg = json!({"method": "session/new", "params": {"mcpServers": [
            {"type": "http", "url": "http://127.0.0.1:1/mcp", "headers": [{"name": "x-boocode-session", "value": "SESSIONTOKEN"}]},
            {"command": "boocode", "env": [{"name": "BOOCODE_MCP_SESSION_TOKEN", "value": "SESSIONTOKEN"}, {"name": "HOME", "value": "/home/u"}]}
        ], "authorization": "Bearer MASTER", "cwd": "/w"}});
        let shown = super::redacted(&msg).to_string();
        assert!(
            !shown.contains("SESSIONTOKEN") && !shown.contains("MASTER"),
            "{shown}"
        );
        assert!(shown.contains("/home/u") && shown.contains("/w"), "{shown}");
    }
}
