//! Arenas over REST: create, view, pick, delete (the logic lives in `crate::arena`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boocode_protocol::{Arena, ArenaId, CreateArenaRequest, PickArenaRequest};

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
