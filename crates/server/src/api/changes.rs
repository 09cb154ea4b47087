//! Pending changes over REST: the history per session, accept and reject — thin adapters over
//! `ChangeService` (`crate::changes`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boocode_protocol::{
    AcceptChangeRequest, AddCommentRequest, ChangeDecision, ChangeDetail, ChangeId, ChangeStatus,
    CommentId, CommitMessageDraft, PendingChange, RejectChangeRequest, RequestChangesRequest,
    ReviewComment, SessionId, Task,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, OptionalJsonBody};

/// `GET /api/sessions/{id}/changes` filter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeQuery {
    status: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Path(session): Path<String>,
    query: Result<Query<ChangeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<PendingChange>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(ChangeStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown status {s:?} (pending, superseded, accepted, rejected)"
            ))
        })?),
    };
    let session = SessionId(session);
    state.store.get_session(&session).await?;
    Ok(Json(state.store.list_changes(&session, status).await?))
}

pub async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ChangeDetail>, ApiError> {
    Ok(Json(state.changes.detail(&ChangeId(id)).await?))
}

/// The body is optional: none (or an empty one) takes the whole change.
pub async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<AcceptChangeRequest>,
) -> Result<Json<ChangeDecision>, ApiError> {
    Ok(Json(state.changes.accept(&ChangeId(id), request).await?))
}

/// The body is optional: none (or an empty one) rejects the whole change.
pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<RejectChangeRequest>,
) -> Result<Json<ChangeDecision>, ApiError> {
    Ok(Json(state.changes.reject(&ChangeId(id), request).await?))
}

/// `GET /api/changes/{id}/source?path=…` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceQuery {
    path: String,
}

/// The file's text before the change, as plain text (for expanding unchanged lines in the review).
pub async fn source(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<SourceQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<String, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(state.changes.old_source(&ChangeId(id), &q.path).await?)
}

pub async fn comments(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReviewComment>>, ApiError> {
    Ok(Json(state.changes.comments(&ChangeId(id)).await?))
}

pub async fn add_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<AddCommentRequest>,
) -> Result<(StatusCode, Json<ReviewComment>), ApiError> {
    let comment = state.changes.add_comment(&ChangeId(id), request).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

pub async fn delete_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.changes.delete_comment(&CommentId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the unsent comments to the agent as its next turn; answers the queued task.
pub async fn request_changes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJsonBody(request): OptionalJsonBody<RequestChangesRequest>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let task = state
        .changes
        .request_changes(&ChangeId(id), request, &state.tasks)
        .await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// A commit message drafted by the model that made the change (or the session's default model).
pub async fn draft_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CommitMessageDraft>, ApiError> {
    let id = ChangeId(id);
    let (change, _) = state.store.get_change(&id).await?;
    let task_model = match &change.task_id {
        Some(task) => state.store.get_task(task).await?.model,
        None => None,
    };
    let model = state.chat.model_in(&change.session_id, task_model).await?;
    let message = state.changes.draft_message(&id, &state.llm, &model).await?;
    Ok(Json(CommitMessageDraft { message, model }))
}
