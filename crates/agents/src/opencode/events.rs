//! One `GET /event?directory=…` stream per directory in use, shared by the turns there and routed to each
//! by `sessionID` — never one stream scoped to whichever directory was used last, which loses the events
//! of concurrent sessions in other worktrees. The stream reconnects after a drop (with backoff) and tells
//! its turns, which then reconcile; malformed lines are logged and skipped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use eventsource_stream::Eventsource as _;
use futures::StreamExt as _;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::server::OpencodeServer;
use crate::backend::AgentError;

/// What a turn hears from its directory's stream.
#[derive(Debug, Clone)]
pub(crate) enum Heard {
    /// An event for the turn's session: `{type, properties}`.
    Event(Value),
    /// The stream dropped and is back: events may have been missed.
    Reconnected,
}

type Routes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Heard>>>>;

/// A directory's event stream.
pub(crate) struct DirStream {
    routes: Routes,
    connected: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// A session's share of a stream; unregisters itself when dropped.
pub(crate) struct Route {
    session: String,
    routes: Routes,
    pub(crate) rx: mpsc::UnboundedReceiver<Heard>,
}

impl Drop for Route {
    fn drop(&mut self) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.remove(&self.session);
        }
    }
}

impl Drop for DirStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DirStream {
    /// Starts following `directory` on `server`.
    pub(crate) fn open(server: Arc<OpencodeServer>, directory: PathBuf) -> Arc<Self> {
        let routes: Routes = Arc::default();
        let (tx, connected) = watch::channel(false);
        let task = tokio::spawn(follow(
            Arc::downgrade(&server),
            directory,
            routes.clone(),
            tx,
        ));
        Arc::new(Self {
            routes,
            connected,
            task,
        })
    }

    /// Waits until the stream has said `server.connected` once.
    pub(crate) async fn ready(&self, limit: Duration) -> Result<(), AgentError> {
        let mut connected = self.connected.clone();
        match tokio::time::timeout(limit, connected.wait_for(|c| *c)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(AgentError::Backend(format!(
                "opencode's event stream did not connect within {} s",
                limit.as_secs()
            ))),
        }
    }

    /// Routes `session`'s events to the returned receiver (replacing an earlier route).
    pub(crate) fn route(&self, session: &str) -> Route {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(session.to_owned(), tx);
        }
        Route {
            session: session.to_owned(),
            routes: self.routes.clone(),
            rx,
        }
    }
}

/// The session an event belongs to, wherever opencode put it.
fn session_of(event: &Value) -> Option<&str> {
    let p = event.get("properties")?;
    p.get("sessionID")
        .or_else(|| p.pointer("/info/sessionID"))
        .or_else(|| p.pointer("/part/sessionID"))
        .and_then(Value::as_str)
}

async fn follow(
    server: Weak<OpencodeServer>,
    directory: PathBuf,
    routes: Routes,
    connected: watch::Sender<bool>,
) {
    let mut backoff = Duration::from_millis(200);
    let mut ever_connected = false;
    loop {
        let Some(live) = server.upgrade().filter(|s| s.is_alive()) else {
            return;
        };
        let resp = live
            .request(reqwest::Method::GET, "/event", Some(&directory))
            .header("accept", "text/event-stream")
            .send()
            .await;
        drop(live);
        match resp {
            Ok(r) if r.status().is_success() => {
                let mut events = r.bytes_stream().eventsource();
                while let Some(item) = events.next().await {
                    let data = match item {
                        Ok(ev) => ev.data,
                        Err(e) => {
                            tracing::warn!(dir = %directory.display(), "opencode event stream broke: {e}");
                            break;
                        }
                    };
                    let event: Value = match serde_json::from_str(&data) {
                        Ok(v) => v,
                        Err(e) => {
                            tracing::warn!(dir = %directory.display(), "skipping a malformed opencode event ({e}): {}", data.chars().take(200).collect::<String>());
                            continue;
                        }
                    };
                    if event.get("type").and_then(Value::as_str) == Some("server.connected") {
                        backoff = Duration::from_millis(200);
                        if ever_connected {
                            broadcast(&routes, &Heard::Reconnected);
                        }
                        ever_connected = true;
                        let _ = connected.send(true);
                        continue;
                    }
                    let Some(session) = session_of(&event) else {
                        continue;
                    };
                    let sender = routes.lock().ok().and_then(|r| r.get(session).cloned());
                    if let Some(tx) = sender {
                        let _ = tx.send(Heard::Event(event));
                    }
                }
            }
            Ok(r) => {
                tracing::warn!(dir = %directory.display(), status = %r.status(), "opencode refused the event stream");
            }
            Err(e) => {
                tracing::warn!(dir = %directory.display(), "cannot open opencode's event stream: {e}");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

fn broadcast(routes: &Routes, heard: &Heard) {
    if let Ok(r) = routes.lock() {
        for tx in r.values() {
            let _ = tx.send(heard.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_routed_by_whichever_session_field_they_carry() {
        let delta = json!({"type": "message.part.delta", "properties": {"sessionID": "ses_a"}});
        let part =
            json!({"type": "message.part.updated", "properties": {"part": {"sessionID": "ses_b"}}});
        let info =
            json!({"type": "message.updated", "properties": {"info": {"sessionID": "ses_c"}}});
        let global = json!({"type": "file.edited", "properties": {"file": "x"}});
        assert_eq!(session_of(&delta), Some("ses_a"));
        assert_eq!(session_of(&part), Some("ses_b"));
        assert_eq!(session_of(&info), Some("ses_c"));
        assert_eq!(session_of(&global), None);
    }
}
