//! Presets: a named system prompt with parameters, global or per project.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boocode_protocol::{CreatePresetRequest, Preset, ProjectId};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;

/// `GET /api/presets` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetQuery {
    /// Also the project's own presets.
    project_id: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<PresetQuery>, QueryRejection>,
) -> Result<Json<Vec<Preset>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let project = q.project_id.filter(|p| !p.is_empty()).map(ProjectId);
    Ok(Json(state.store.list_presets(project.as_ref()).await?))
}

pub async fn create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CreatePresetRequest>,
) -> Result<(StatusCode, Json<Preset>), ApiError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request("name must be 1 to 100 characters"));
    }
    let params = req.params.unwrap_or_default();
    params.validate().map_err(ApiError::bad_request)?;
    if let Some(project) = &req.project_id {
        state.store.get_project(project).await?;
    }
    let preset = Preset {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: req.project_id,
        name: name.to_owned(),
        system_prompt: req.system_prompt.unwrap_or_default(),
        params,
        created_at: chrono::Utc::now(),
    };
    state.store.insert_preset(&preset).await?;
    Ok((StatusCode::CREATED, Json(preset)))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_preset(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
