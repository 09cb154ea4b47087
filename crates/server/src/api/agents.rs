//! Providers (snapshot, config) and permission answers.

use axum::Json;
use axum::extract::{Path, Query, State};
use boocode_protocol::{
    AnswerPermissionRequest, PatchProvidersRequest, PermissionId, PermissionRequest,
    ProbeProvidersRequest, ProvidersFile, ProvidersSnapshot,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::providers::ProbeMode;

/// The old `?force=1` is answered with where probing moved; nothing else is accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    force: Option<String>,
}

/// `GET`: what is known, from the last probes. Never starts an agent: a GET can be fired by any page
/// (an `<img>`), so side effects live on `POST`, which the Origin check protects.
pub async fn snapshot(
    State(state): State<AppState>,
    query: Result<Query<SnapshotQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ProvidersSnapshot>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if q.force.is_some() {
        return Err(ApiError::bad_request(
            "probing starts agents, so it is not a GET: POST /api/providers/snapshot {\"force\": true}",
        ));
    }
    Ok(Json(
        state
            .providers
            .snapshot(ProbeMode::Cached, &state.catalog)
            .await,
    ))
}

/// `POST`: probes the agents never probed or probed too long ago (all of them with `force`).
pub async fn probe(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<ProbeProvidersRequest>,
) -> Result<Json<ProvidersSnapshot>, ApiError> {
    let mode = if req.force {
        ProbeMode::All
    } else {
        ProbeMode::Stale
    };
    Ok(Json(state.providers.snapshot(mode, &state.catalog).await))
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
