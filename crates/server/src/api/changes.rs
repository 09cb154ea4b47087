//! Pending changes: the history per session, accept (apply the stored diff to the project's working tree,
//! all or nothing) and reject (return the worktree to the last accepted state). Operations on one
//! session's changes are serialised so a change is never applied twice.

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use boocode_protocol::{ChangeId, ChangeStatus, FrameBody, PendingChange, SessionId};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;

/// Per-session locks for accept/reject.
#[derive(Clone, Default)]
pub struct ChangeLocks(Arc<Mutex<HashMap<SessionId, Arc<tokio::sync::Mutex<()>>>>>);

impl ChangeLocks {
    fn for_session(&self, session: &SessionId) -> Arc<tokio::sync::Mutex<()>> {
        match self.0.lock() {
            Ok(mut map) => map.entry(session.clone()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }
}

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

async fn publish(state: &AppState, mut change: PendingChange) -> PendingChange {
    let full = change.clone();
    change.diff = None;
    let session = change.session_id.clone();
    if let Err(e) = state
        .broker
        .publish(&session, FrameBody::PendingChange { change })
        .await
    {
        tracing::warn!(error = %e, "pending_change not published");
    }
    full
}

/// A pending change with its session's lock held (accept and reject never interleave), and its head.
async fn pending_locked(
    state: &AppState,
    id: &ChangeId,
) -> Result<
    (
        tokio::sync::OwnedMutexGuard<()>,
        PendingChange,
        Option<String>,
    ),
    ApiError,
> {
    let (change, _) = state.store.get_change(id).await?;
    let held = state
        .change_locks
        .for_session(&change.session_id)
        .lock_owned()
        .await;
    let (change, head) = state.store.get_change(id).await?;
    if change.status != ChangeStatus::Pending {
        return Err(ApiError::conflict(format!(
            "change {id} is {}, not pending",
            change.status.as_str()
        )));
    }
    Ok((held, change, head))
}

pub async fn accept(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PendingChange>, ApiError> {
    Ok(Json(accept_change(&state, &ChangeId(id)).await?))
}

/// Applies a pending change to its project (all or nothing; a conflict is a 409 and changes nothing)
/// and marks it accepted. Arenas pick through this too.
pub async fn accept_change(state: &AppState, id: &ChangeId) -> Result<PendingChange, ApiError> {
    let id = id.clone();
    let (_held, change, head) = pending_locked(state, &id).await?;
    let session = state.store.get_session(&change.session_id).await?;
    let project = state.store.get_project(&session.project_id).await?;
    if !FsPath::new(&project.path).is_dir() {
        return Err(ApiError::bad_request(format!(
            "the project directory {} no longer exists",
            project.path
        )));
    }
    let diff = change.diff.clone().unwrap_or_default();
    boocode_workspace::apply_to_project(FsPath::new(&project.path), &diff)
        .await
        .map_err(|e| match e {
            boocode_workspace::WorkspaceError::Conflict(why) => ApiError::conflict(format!(
                "the change does not apply to the project; nothing was changed: {why}"
            )),
            other => ApiError::internal(other.to_string()),
        })?;
    let accepted = state
        .store
        .resolve_change(&id, ChangeStatus::Accepted)
        .await?;
    if let Some(head) = head {
        state
            .store
            .set_worktree_base(&change.session_id, &head)
            .await?;
    }
    Ok(publish(state, accepted).await)
}

pub async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PendingChange>, ApiError> {
    let id = ChangeId(id);
    let (_held, change, _) = pending_locked(&state, &id).await?;
    if let Some(worktree) = state.store.get_worktree(&change.session_id).await? {
        boocode_workspace::reset_to(FsPath::new(&worktree.worktree_path), &worktree.base_commit)
            .await
            .map_err(|e| ApiError::internal(format!("the worktree could not be reset: {e}")))?;
    }
    let rejected = state
        .store
        .resolve_change(&id, ChangeStatus::Rejected)
        .await?;
    Ok(Json(publish(&state, rejected).await))
}
