//! Sessions: the unit of frames (and, later, worktrees and agent sessions).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boocode_protocol::{
    CreateSessionRequest, OpenStatus, ProjectId, Session, SessionId, UpdateSessionRequest,
};
use chrono::Utc;

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
    let project = state.store.get_project(&ProjectId(project)).await?;
    let count = state.store.list_sessions(&project.id).await?.len();
    let session = Session {
        id: SessionId::new(),
        project_id: project.id,
        name: req
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("Session {}", count + 1)),
        model: req.model.filter(|m| !m.trim().is_empty()),
        status: OpenStatus::Open,
        created_at: Utc::now(),
        last_seq: 0,
    };
    state.store.insert_session(&session).await?;
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
    delete_session(&state, &SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends everything a session runs (chats, tasks, agents, terminals), deletes it and its worktree.
pub async fn delete_session(state: &AppState, id: &SessionId) -> Result<(), ApiError> {
    let id = id.clone();
    let session = state.store.get_session(&id).await?;
    for chat in state.store.list_chats(&id).await? {
        state.chat.stop(&chat.id);
    }
    state.dispatcher.cancel_session(&id, "session deleted");
    state.providers.close_session(id.as_str()).await;
    state.terminals.close_session(&id);
    let worktree = state.store.get_worktree(&id).await?;
    state.store.delete_session(&id).await?;
    state.broker.forget(&id);
    if let Some(w) = worktree {
        let project = state.store.get_project(&session.project_id).await?;
        boocode_workspace::remove_worktree(
            std::path::Path::new(&project.path),
            std::path::Path::new(&w.worktree_path),
            &w.branch,
        )
        .await
        .map_err(|e| {
            ApiError::internal(format!(
                "session deleted, but its worktree was not removed: {e}"
            ))
        })?;
    }
    Ok(())
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
