//! `GET /api/sessions/{id}/ws?since=N`: replays retained frames after N, then goes live. A client that
//! falls more than `CLIENT_QUEUE` frames behind is disconnected and reconnects with `since`; it never
//! slows the turn that produces the frames.

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use boocode_protocol::{ControlFrame, SessionId};
use futures::SinkExt as _;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::broker::Subscription;
use crate::error::ApiError;

/// Query of the frames socket.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    since: Option<u64>,
}

/// Upgrades after checking the session exists (Host/Origin/token were checked by the guard).
pub async fn frames(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<WsQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let session = SessionId(id);
    state.store.get_session(&session).await?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let upgrade = upgrade.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let sub = state
        .broker
        .subscribe(&session, q.since)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let stop = state.shutdown.clone();
    Ok(upgrade
        .on_upgrade(move |socket| run(socket, sub, stop))
        .into_response())
}

async fn run(mut socket: WebSocket, sub: Subscription, stop: tokio_util::sync::CancellationToken) {
    let (backlog, mut live) = match sub {
        Subscription::Resync => {
            let text = serde_json::to_string(&ControlFrame::Resync).unwrap_or_default();
            let _ = socket.send(WsMessage::Text(text.into())).await;
            let _ = socket.close().await;
            return;
        }
        Subscription::Stream { backlog, live } => (backlog, live),
    };
    let mut last = 0;
    for frame in backlog {
        last = frame.seq;
        if socket
            .send(WsMessage::Text(frame.text.as_ref().into()))
            .await
            .is_err()
        {
            return;
        }
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                let _ = socket.close().await;
                return;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            frame = live.recv() => match frame {
                Ok(frame) if frame.seq <= last => {}
                Ok(frame) => {
                    last = frame.seq;
                    if socket.send(WsMessage::Text(frame.text.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, last, "slow frame client disconnected; it will resume with since");
                    let _ = socket.close().await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}
