//! The stdio side of boocode's MCP server (`boocode mcp`, docs/ARCHITECTURE.md §11): MCP clients that only speak
//! stdio (some ACP agents, desktop assistants) run it as a child. Each JSON-RPC line read from stdin is
//! POSTed to `/mcp` (streamable HTTP) with the session and API tokens, and every JSON-RPC message the
//! server answers with — a JSON body or SSE `data:` lines — is written to stdout as one line.
//! Requests run concurrently (a slow `tools/call` does not hold up `tools/list`); `initialize` runs alone
//! because its response carries the `mcp-session-id` every later request must present.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, mpsc};

/// The variable `boocode mcp` reads the per-session token from (set by boocode for its agents).
pub const SESSION_TOKEN_ENV: &str = "BOOCODE_MCP_SESSION_TOKEN";
/// The variable `boocode mcp` reads the API token from (the same one `serve` uses).
pub const API_TOKEN_ENV: &str = "BOOCODE_TOKEN";

/// Where the bridge forwards to and what it presents.
#[derive(Debug, Clone)]
pub struct BridgeTarget {
    /// The `/mcp` URL, e.g. `http://127.0.0.1:9500/mcp`.
    pub url: String,
    /// The per-session token naming the calling session (sent as `x-boocode-session`).
    pub session_token: Option<String>,
    /// boocode's API token, when the server has one.
    pub api_token: Option<String>,
}

/// Why the bridge stopped.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("stdio failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the bridge until `input` ends, then closes the MCP session on the server.
pub async fn run_bridge<R, W>(target: BridgeTarget, input: R, output: W) -> Result<(), BridgeError>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    // The client is built with TLS support (an `https` URL to a remote boocode works too).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| BridgeError::Client(e.to_string()))?;
    let forwarder = Forwarder {
        http,
        target: Arc::new(target),
        session: Arc::new(Mutex::new(None)),
    };
    // One writer task: lines from concurrent requests never interleave.
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(line) = rx.recv().await {
            output.write_all(line.as_bytes()).await?;
            output.write_all(b"\n").await?;
            output.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut in_flight = tokio::task::JoinSet::new();
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(&line) {
            Ok(m) => m,
            Err(e) => {
                let _ = tx.send(error_line(
                    &Value::Null,
                    -32700,
                    &format!("parse error: {e}"),
                ));
                continue;
            }
        };
        if message.get("method").and_then(Value::as_str) == Some("initialize") {
            forwarder.forward(message, &tx).await;
        } else {
            let (f, tx) = (forwarder.clone(), tx.clone());
            in_flight.spawn(async move { f.forward(message, &tx).await });
        }
    }
    while in_flight.join_next().await.is_some() {}
    forwarder.close().await;
    drop(tx);
    writer
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    Ok(())
}

#[derive(Clone)]
struct Forwarder {
    http: reqwest::Client,
    target: Arc<BridgeTarget>,
    /// The `mcp-session-id` the server gave `initialize`.
    session: Arc<Mutex<Option<String>>>,
}

impl Forwarder {
    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, &self.target.url)
            .header("accept", "application/json, text/event-stream");
        if let Some(token) = &self.target.session_token {
            req = req.header(crate::mcp::SESSION_HEADER, token);
        }
        if let Some(token) = &self.target.api_token {
            req = req.bearer_auth(token);
        }
        req
    }

    /// Sends one message and writes every message of the answer; failures become JSON-RPC errors
    /// for requests (notifications have nobody to tell).
    async fn forward(&self, message: Value, out: &mpsc::UnboundedSender<String>) {
        let id = message.get("id").cloned();
        let mut req = self.request(reqwest::Method::POST).json(&message);
        if let Some(session) = self.session.lock().await.clone() {
            req = req.header("mcp-session-id", session);
        }
        let fail = |text: String| {
            if let Some(id) = &id {
                let _ = out.send(error_line(id, -32603, &text));
            } else {
                tracing::warn!("mcp bridge: {text}");
            }
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return fail(format!("cannot reach boocode at {}: {e}", self.target.url)),
        };
        if let Some(session) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            *self.session.lock().await = Some(session.to_owned());
        }
        let status = resp.status();
        let sse = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            // The server may answer a JSON-RPC error with a non-2xx status: pass it on as it is.
            if let Some(message) = serde_json::from_str::<Value>(&body)
                .ok()
                .filter(|v| v.get("jsonrpc").is_some())
            {
                let _ = out.send(message.to_string());
                return;
            }
            return fail(format!("boocode answered {status}: {}", body.trim()));
        }
        if sse {
            self.relay_events(resp, out).await;
            return;
        }
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return fail(format!("reading boocode's answer: {e}")),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            // 202 Accepted for notifications and responses.
            return;
        }
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(batch)) => batch.iter().for_each(|m| {
                let _ = out.send(m.to_string());
            }),
            Ok(m) => {
                let _ = out.send(m.to_string());
            }
            Err(e) => fail(format!("boocode answered invalid JSON: {e}")),
        }
    }

    /// Writes each SSE event's data (one JSON-RPC message) as a line, as the events arrive.
    async fn relay_events(&self, resp: reqwest::Response, out: &mpsc::UnboundedSender<String>) {
        use futures::StreamExt as _;
        let mut stream = resp.bytes_stream();
        let mut buf = Vec::<u8>::new();
        let mut data = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            buf.extend_from_slice(&chunk);
            while let Some(end) = buf.iter().position(|b| *b == b'\n') {
                let raw: Vec<u8> = buf.drain(..=end).collect();
                let line = String::from_utf8_lossy(&raw);
                let line = line.trim_end_matches(['\n', '\r']);
                if line.is_empty() {
                    flush_event(&mut data, out);
                } else if let Some(d) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                }
            }
        }
        flush_event(&mut data, out);
    }

    /// Ends the MCP session so the server can forget it.
    async fn close(&self) {
        let Some(session) = self.session.lock().await.clone() else {
            return;
        };
        let _ = self
            .request(reqwest::Method::DELETE)
            .header("mcp-session-id", session)
            .send()
            .await;
    }
}

fn flush_event(data: &mut String, out: &mpsc::UnboundedSender<String>) {
    let event = std::mem::take(data);
    // Priming events carry no data; anything that is not JSON is not a message for the client.
    if let Ok(message) = serde_json::from_str::<Value>(&event) {
        let _ = out.send(message.to_string());
    }
}

fn error_line(id: &Value, code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn malformed_lines_get_a_parse_error_and_an_unreachable_server_an_error_per_request() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = BridgeTarget {
            url: format!("http://127.0.0.1:{port}/mcp"),
            session_token: None,
            api_token: None,
        };
        let input = b"not json\n\n{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
        let (client, server) = tokio::io::duplex(64 * 1024);
        run_bridge(target, &input[..], client).await.unwrap();
        let mut lines = tokio::io::BufReader::new(server).lines();
        let mut got = Vec::new();
        while let Some(l) = lines.next_line().await.unwrap() {
            got.push(serde_json::from_str::<Value>(&l).unwrap());
        }
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0]["error"]["code"], -32700);
        assert_eq!(got[0]["id"], Value::Null);
        assert_eq!(got[1]["id"], 7);
        assert!(
            got[1]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cannot reach boocode"),
            "{got:?}"
        );
    }
}
