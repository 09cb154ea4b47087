//! Providers (snapshot, config) and permission answers.

use axum::Json;
use axum::extract::{Path, Query, State};
use boocode_protocol::{
    AnswerPermissionRequest, PatchProvidersRequest, PermissionId, PermissionRequest, ProvidersFile,
    ProvidersSnapshot,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;

/// `?force=1` re-runs the probes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    force: Option<String>,
}

pub async fn snapshot(
    State(state): State<AppState>,
    query: Result<Query<SnapshotQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ProvidersSnapshot>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let force = matches!(q.force.as_deref(), Some("1" | "true" | "yes"));
    Ok(Json(state.providers.snapshot(force, &state.catalog).await))
}

pub async fn get_config(State(state): State<AppState>) -> Result<Json<ProvidersFile>, ApiError> {
    state.providers.config().map(Json)
}

pub async fn patch_config(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<PatchProvidersRequest>,
) -> Result<Json<ProvidersFile>, ApiError> {
    let file = state.providers.patch(req).await?;
    state
        .dispatcher
        .set_pool(state.providers.build_pool(&state.disabled_agents));
    Ok(Json(file))
}

pub async fn answer_permission(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<AnswerPermissionRequest>,
) -> Result<Json<PermissionRequest>, ApiError> {
    state
        .permissions
        .answer(&PermissionId(id), &req.option_id)
        .await
        .map(Json)
}
