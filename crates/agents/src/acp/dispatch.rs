//! The dispatch loop of a live ACP session: answers the agent's requests (files through the path guard,
//! terminals, permissions through the turn's relay) and turns its updates into the running turn's
//! events. It never waits on a handler: each request is answered from its own task.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use boocode_protocol::AgentEvent;

use super::rpc::{INTERNAL_ERROR, INVALID_PARAMS, Incoming, METHOD_NOT_FOUND, RpcConnection};
use super::session::{Current, KeptCommands};
use super::terminal::Terminals;
use super::translate::Translator;
use crate::backend::{PermissionAnswer, PermissionAsk, PermissionChoice, TurnContext};

/// What the agent's requests are answered with.
#[derive(Clone)]
pub(super) struct Handlers {
    pub(super) root: PathBuf,
    pub(super) terminals: Terminals,
    pub(super) env: Arc<Vec<(String, String)>>,
    pub(super) commands: KeptCommands,
}

/// Answers the agent's requests and routes its updates, one message at a time, never waiting.
pub(super) async fn dispatch(
    mut incoming: UnboundedReceiver<Incoming>,
    conn: RpcConnection,
    current: Current,
    handlers: Handlers,
) {
    while let Some(msg) = incoming.recv().await {
        match msg {
            Incoming::Notification { method, params } if method == "session/update" => {
                let update = &params["update"];
                // The agent's commands are kept even outside a turn (agents announce them right after
                // session/new); the next turn frames them.
                if update.get("sessionUpdate").and_then(Value::as_str)
                    == Some("available_commands_update")
                {
                    for event in Translator::default().translate(update) {
                        if let (AgentEvent::Commands { commands }, Ok(mut kept)) =
                            (event, handlers.commands.lock())
                        {
                            *kept = Some((commands, false));
                        }
                    }
                }
                let Ok(mut current) = current.lock() else {
                    continue;
                };
                if let Some(turn) = current.as_mut() {
                    for event in turn.translator.translate(update) {
                        if let (AgentEvent::Commands { .. }, Ok(mut kept)) =
                            (&event, handlers.commands.lock())
                            && let Some((_, framed)) = kept.as_mut()
                        {
                            *framed = true;
                        }
                        turn.ctx.emit(event);
                    }
                }
            }
            Incoming::Notification { method, .. } => {
                tracing::debug!(%method, "agent notification ignored")
            }
            Incoming::Response { key, result } => conn.complete(key, result),
            Incoming::Closed => conn.fail_all(),
            Incoming::Request { id, method, params } => {
                let conn = conn.clone();
                let handlers = handlers.clone();
                let ctx = current
                    .lock()
                    .ok()
                    .and_then(|c| c.as_ref().map(|t| t.ctx.clone()));
                tokio::spawn(async move {
                    let answer = handle_request(&method, params, &handlers, ctx).await;
                    conn.respond(id, answer);
                });
            }
        }
    }
}

async fn handle_request(
    method: &str,
    params: Value,
    handlers: &Handlers,
    ctx: Option<TurnContext>,
) -> Result<Value, (i64, String)> {
    let root = handlers.root.as_path();
    let terminals = &handlers.terminals;
    let path = || {
        params
            .get("path")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or((INVALID_PARAMS, "missing path".to_owned()))
    };
    match method {
        "fs/read_text_file" => {
            let path = path()?;
            let root = root.to_path_buf();
            let asked = path.clone();
            // Resolved and opened beneath the worktree's handle in one step (no swap in between).
            let read = tokio::task::spawn_blocking(move || {
                let dir = boocode_workspace::WorktreeDir::open(&root)?;
                match dir.kind(&asked)? {
                    // A file that does not exist yet reads as empty, as agents expect before creating it.
                    None => Ok(Vec::new()),
                    Some(_) => dir.read(&asked),
                }
            })
            .await
            .map_err(|e| (INTERNAL_ERROR, e.to_string()))?;
            let text = match read {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(e @ boocode_workspace::WorkspaceError::OutsideWorktree { .. }) => {
                    return Err((INVALID_PARAMS, e.to_string()));
                }
                Err(e) => return Err((INTERNAL_ERROR, format!("cannot read {path}: {e}"))),
            };
            let line = params
                .get("line")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1) as usize;
            let limit = params
                .get("limit")
                .and_then(Value::as_u64)
                .map(|l| l as usize);
            let content = if line > 1 || limit.is_some() {
                let lines = text.lines().skip(line - 1);
                let picked: Vec<&str> = match limit {
                    Some(l) => lines.take(l).collect(),
                    None => lines.collect(),
                };
                picked.join("\n")
            } else {
                text
            };
            Ok(json!({"content": content}))
        }
        "fs/write_text_file" => {
            let path = path()?;
            if let Some(ctx) = &ctx
                && !ctx.may_write().await
            {
                return Err((
                    INTERNAL_ERROR,
                    "this worker no longer owns the task (its lease was taken over); nothing was written"
                        .to_owned(),
                ));
            }
            let content = params
                .get("content")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let root = root.to_path_buf();
            let written = tokio::task::spawn_blocking(move || {
                let dir = boocode_workspace::WorktreeDir::open(&root).map_err(|e| e.to_string())?;
                crate::tools::fs::write_file(&dir, crate::tools::fs::WriteFile { path, content })
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            written
                .map(|_| Value::Null)
                .map_err(|e| (INVALID_PARAMS, e))
        }
        "session/request_permission" => {
            let options: Vec<PermissionChoice> = params
                .get("options")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|o| {
                            Some(PermissionChoice {
                                option_id: o.get("optionId")?.as_str()?.to_owned(),
                                name: o
                                    .get("name")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_owned(),
                                // An option of a kind ACP does not define is not offered.
                                kind: o
                                    .get("kind")
                                    .and_then(Value::as_str)
                                    .and_then(boocode_protocol::PermissionKind::parse)?,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let ask = PermissionAsk {
                tool_call: params.get("toolCall").cloned().unwrap_or(Value::Null),
                options,
            };
            let answer = match ctx {
                Some(ctx) => ctx.ask_permission(ask).await,
                None => ask.deny(),
            };
            Ok(match answer {
                PermissionAnswer::Selected(id) => {
                    json!({"outcome": {"outcome": "selected", "optionId": id}})
                }
                PermissionAnswer::Cancelled => json!({"outcome": {"outcome": "cancelled"}}),
            })
        }
        "terminal/create" => terminals.create(&params, root, &handlers.env).await,
        "terminal/output" => terminals.output(&params),
        "terminal/wait_for_exit" => terminals.wait_for_exit(&params).await,
        "terminal/kill" => terminals.kill(&params),
        "terminal/release" => terminals.release(&params),
        other => Err((METHOD_NOT_FOUND, format!("method not found: {other}"))),
    }
}
