//! Projects over REST — thin adapters over `SessionService` (`crate::sessions`) and the store.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boocode_protocol::{CreateProjectRequest, Project, ProjectId, UpdateProjectRequest};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;

pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Project>>, ApiError> {
    Ok(Json(state.store.list_projects().await?))
}

pub async fn create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CreateProjectRequest>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.sessions.create_project(req).await?),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(state.store.get_project(&ProjectId(id)).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateProjectRequest>,
) -> Result<Json<Project>, ApiError> {
    if req.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::bad_request("name must not be empty"));
    }
    Ok(Json(
        state.store.update_project(&ProjectId(id), &req).await?,
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.sessions.delete_project(&ProjectId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
