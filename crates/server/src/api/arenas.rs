//! Arenas over REST: create, list, view, pick, delete, and a project's leaderboard (the logic lives in
//! `crate::arena`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boocode_protocol::{
    Arena, ArenaId, CreateArenaRequest, LeaderboardEntry, PickArenaRequest, ProjectId,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;

pub async fn create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CreateArenaRequest>,
) -> Result<(StatusCode, Json<Arena>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(crate::arena::create_arena(&state, req).await?),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Arena>, ApiError> {
    Ok(Json(crate::arena::view(&state, &ArenaId(id)).await?))
}

pub async fn pick(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PickArenaRequest>,
) -> Result<Json<Arena>, ApiError> {
    Ok(Json(
        crate::arena::pick(&state, &ArenaId(id), req.contender).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    crate::arena::delete(&state, &ArenaId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/arenas` filter: the project is required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArenaQuery {
    project_id: String,
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ArenaQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Arena>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok(Json(
        crate::arena::list(&state, &ProjectId(q.project_id)).await?,
    ))
}

pub async fn leaderboard(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<Vec<LeaderboardEntry>>, ApiError> {
    Ok(Json(
        crate::arena::leaderboard(&state, &ProjectId(project)).await?,
    ))
}
