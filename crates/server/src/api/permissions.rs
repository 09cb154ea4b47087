//! Permission requests over REST: a session's requests (the pending ones are what a reloaded page must
//! show) and its standing "always allow" rules, which can be revoked. Answering lives beside the agents.

use axum::Json;
use axum::extract::{Path, Query, State};
use boocode_protocol::{PermissionRequest, PermissionRule, PermissionRuleId, SessionId};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;

/// `GET /api/sessions/{id}/permissions` filter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionQuery {
    state: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Path(session): Path<String>,
    query: Result<Query<PermissionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<PermissionRequest>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let pending_only = match q.state.as_deref() {
        None | Some("" | "all") => false,
        Some("pending") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown state {other:?} (pending or all)"
            )));
        }
    };
    let session = SessionId(session);
    state.store.get_session(&session).await?;
    Ok(Json(
        state.store.list_permissions(&session, pending_only).await?,
    ))
}

pub async fn rules(
    State(state): State<AppState>,
    Path(session): Path<String>,
) -> Result<Json<Vec<PermissionRule>>, ApiError> {
    let session = SessionId(session);
    state.store.get_session(&session).await?;
    Ok(Json(state.store.list_permission_rules(&session).await?))
}

pub async fn revoke_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PermissionRule>, ApiError> {
    Ok(Json(
        state
            .store
            .delete_permission_rule(&PermissionRuleId(id))
            .await?,
    ))
}
