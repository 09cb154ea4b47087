//! Sessions over REST — thin adapters over `SessionService` (`crate::sessions`) and the store.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boocode_protocol::{CreateSessionRequest, ProjectId, Session, SessionId, UpdateSessionRequest};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, OptionalJsonBody};

/// A session with `last_seq` as the broker knows it (frames not yet journaled included).
async fn with_live_seq(state: &AppState, mut session: Session) -> Session {
    if let Ok(seq) = state.broker.last_seq(&session.id).await {
        session.last_seq = session.last_seq.max(seq);
    }
    session
}

pub async fn list(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<Vec<Session>>, ApiError> {
    let project = ProjectId(project);
    state.store.get_project(&project).await?;
    let mut out = Vec::new();
    for s in state.store.list_sessions(&project).await? {
        out.push(with_live_seq(&state, s).await);
    }
    Ok(Json(out))
}

pub async fn create(
    State(state): State<AppState>,
    Path(project): Path<String>,
    OptionalJsonBody(req): OptionalJsonBody<CreateSessionRequest>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let session = state
        .sessions
        .create_session(&ProjectId(project), req)
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    let session = state.store.get_session(&SessionId(id)).await?;
    Ok(Json(with_live_seq(&state, session).await))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateSessionRequest>,
) -> Result<Json<Session>, ApiError> {
    if req.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::bad_request("name must not be empty"));
    }
    let session = state.store.update_session(&SessionId(id), &req).await?;
    Ok(Json(with_live_seq(&state, session).await))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.sessions.delete_session(&SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sessions/{id}/agents`: the external agent sessions the session keeps warm or resumable.
pub async fn agents(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<boocode_protocol::AgentSessionInfo>>, ApiError> {
    let session = boocode_protocol::SessionId(id);
    state.store.get_session(&session).await?;
    let rows = state.store.list_agent_sessions(&session).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| boocode_protocol::AgentSessionInfo {
                agent: r.agent,
                backend: r.backend,
                agent_session_id: r.agent_session_id,
                status: r.status,
            })
            .collect(),
    ))
}
