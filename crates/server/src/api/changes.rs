//! Pending changes over REST: the history per session, accept and reject — thin adapters over
//! `ChangeService` (`crate::changes`).

use axum::Json;
use axum::extract::{Path, Query, State};
use boocode_protocol::{
    AcceptChangeRequest, ChangeDecision, ChangeDetail, ChangeId, ChangeStatus, PendingChange,
    RejectChangeRequest, SessionId,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::OptionalJsonBody;

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
