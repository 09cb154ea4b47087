//! Terminal routes: create in the worktree or the project, resize, delete, and the byte WebSocket
//! (binary frames both ways; text `{"type":"resize","cols","rows"}` from the client, `{"type":"exit"}`
//! or `{"type":"error",…}` to it).

use std::path::PathBuf;

use axum::Json;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use boocode_protocol::{
    CreateTerminalRequest, CreateTerminalResponse, ResizeTerminalRequest, SessionId, TerminalCwd,
    TerminalInfo, TerminalState,
};
use futures::SinkExt as _;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::terminals::{TermError, TermEvent, Terminal};

fn term_error(e: TermError) -> ApiError {
    match e {
        TermError::BadSize => ApiError::bad_request(e.to_string()),
        TermError::TooMany => ApiError::conflict(e.to_string()),
        TermError::Spawn { .. } | TermError::Closed => ApiError::internal(e.to_string()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<CreateTerminalRequest>,
) -> Result<(StatusCode, Json<CreateTerminalResponse>), ApiError> {
    let session = state.store.get_session(&SessionId(id)).await?;
    let project = state.store.get_project(&session.project_id).await?;
    let (cwd, earlier) = match &req.restore {
        Some(old) => {
            let (kept, output) = state.terminals.kept(&session.id, old).ok_or_else(|| {
                ApiError::not_found(format!(
                    "terminal {old} of session {} cannot be restarted: nothing was kept of it",
                    session.id
                ))
            })?;
            let mut earlier = output;
            earlier.extend(crate::terminals::restart_marker(&kept.cwd));
            (kept.cwd, earlier)
        }
        None => (
            match req.cwd {
                TerminalCwd::Project => PathBuf::from(&project.path),
                TerminalCwd::Worktree => {
                    let wt = crate::coding::ensure_worktree(
                        state.store.as_ref(),
                        &state.worktrees_dir,
                        &session,
                        &project,
                    )
                    .await
                    .map_err(ApiError::bad_request)?;
                    PathBuf::from(wt.worktree_path)
                }
            },
            Vec::new(),
        ),
    };
    if !cwd.is_dir() {
        return Err(ApiError::bad_request(format!(
            "{} does not exist",
            cwd.display()
        )));
    }
    let terminal = state
        .terminals
        .open(
            &session.id,
            &cwd,
            req.cols,
            req.rows,
            state.shell.as_deref(),
            earlier,
        )
        .map_err(term_error)?;
    if let Some(old) = &req.restore {
        state.terminals.forget(old);
    }
    Ok((
        StatusCode::CREATED,
        Json(CreateTerminalResponse {
            id: terminal.id.clone(),
        }),
    ))
}

pub async fn resize(
    State(state): State<AppState>,
    Path((id, tid)): Path<(String, String)>,
    JsonBody(req): JsonBody<ResizeTerminalRequest>,
) -> Result<StatusCode, ApiError> {
    let terminal = find(&state, id, &tid).await?;
    terminal.resize(req.cols, req.rows).map_err(term_error)?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<AppState>,
    Path((id, tid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let session = SessionId(id);
    state.store.get_session(&session).await?;
    if state.terminals.close(&session, &tid) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "terminal {tid} not found in session {session}"
        )))
    }
}

async fn find(
    state: &AppState,
    session: String,
    tid: &str,
) -> Result<std::sync::Arc<Terminal>, ApiError> {
    let session = SessionId(session);
    state.store.get_session(&session).await?;
    state.terminals.get(&session, tid).ok_or_else(|| {
        ApiError::not_found(format!("terminal {tid} not found in session {session}"))
    })
}

pub async fn socket(
    State(state): State<AppState>,
    Path((id, tid)): Path<(String, String)>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let terminal = find(&state, id, &tid).await?;
    let upgrade = upgrade.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let stop = state.shutdown.clone();
    Ok(upgrade
        .on_upgrade(move |ws| run(ws, terminal, stop))
        .into_response())
}

async fn run(
    mut ws: WebSocket,
    terminal: std::sync::Arc<Terminal>,
    stop: tokio_util::sync::CancellationToken,
) {
    let (scrollback, mut events, exited) = terminal.attach();
    if !scrollback.is_empty() && ws.send(WsMessage::Binary(scrollback.into())).await.is_err() {
        return;
    }
    if exited {
        let _ = ws
            .send(WsMessage::Text(json!({"type": "exit"}).to_string().into()))
            .await;
        let _ = ws.close().await;
        return;
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            event = events.recv() => match event {
                Ok(TermEvent::Output(bytes)) => {
                    if ws.send(WsMessage::Binary(bytes.to_vec().into())).await.is_err() {
                        return;
                    }
                }
                Ok(TermEvent::Exit) | Err(RecvError::Closed) => {
                    let _ = ws.send(WsMessage::Text(json!({"type": "exit"}).to_string().into())).await;
                    break;
                }
                // Too slow to follow: the client reattaches and gets the scrollback.
                Err(RecvError::Lagged(_)) => break,
            },
            incoming = ws.recv() => match incoming {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    if terminal.write(&bytes).is_err() {
                        break;
                    }
                }
                Some(Ok(WsMessage::Text(text))) => {
                    let reply = match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(v) if v["type"] == "resize" => {
                            let dim = |k: &str| v[k].as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0);
                            terminal.resize(dim("cols"), dim("rows")).err().map(|e| e.to_string())
                        }
                        _ => Some("expected binary input or {\"type\":\"resize\",\"cols\":…,\"rows\":…}".to_owned()),
                    };
                    if let Some(message) = reply {
                        let _ = ws.send(WsMessage::Text(json!({"type": "error", "message": message}).to_string().into())).await;
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = ws.close().await;
}

/// Where a terminal stands, including one that ended with a restart and can be brought back.
pub async fn info(
    State(state): State<AppState>,
    Path((id, tid)): Path<(String, String)>,
) -> Result<Json<TerminalInfo>, ApiError> {
    let session = SessionId(id);
    state.store.get_session(&session).await?;
    if let Some(t) = state.terminals.get(&session, &tid) {
        let exited = t.exited();
        let cwd = state
            .terminals
            .kept(&session, &tid)
            .map(|(k, _)| k.cwd.display().to_string());
        return Ok(Json(TerminalInfo {
            id: tid,
            state: if exited {
                TerminalState::Exited
            } else {
                TerminalState::Running
            },
            cwd,
        }));
    }
    match state.terminals.kept(&session, &tid) {
        Some((kept, _)) => Ok(Json(TerminalInfo {
            id: tid,
            state: TerminalState::Gone,
            cwd: Some(kept.cwd.display().to_string()),
        })),
        None => Err(ApiError::not_found(format!(
            "terminal {tid} not found in session {session}"
        ))),
    }
}
