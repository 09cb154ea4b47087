//! Tasks over REST: enqueue, list, get, cancel — thin adapters over `TaskService` (`crate::tasks`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boocode_protocol::{CreateTaskRequest, ProjectId, SessionId, Task, TaskId, TaskState};
use boocode_store::TaskFilter;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;

/// `GET /api/tasks` filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    session_id: Option<String>,
    project_id: Option<String>,
    state: Option<String>,
    limit: Option<u64>,
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<TaskQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let task_state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(TaskState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown state {s:?} (pending, running, completed, failed, cancelled)"
            ))
        })?),
    };
    let filter = TaskFilter {
        session_id: q.session_id.filter(|s| !s.is_empty()).map(SessionId),
        project_id: q.project_id.filter(|s| !s.is_empty()).map(ProjectId),
        state: task_state,
        limit: q.limit.map(|n| n.clamp(1, 1000)),
    };
    Ok(Json(state.store.list_tasks(&filter).await?))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.store.get_task(&TaskId(id)).await?))
}

pub async fn create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<CreateTaskRequest>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.tasks.create(req).await?)))
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.tasks.cancel(&TaskId(id)).await?))
}

/// Runs an ended task again as a new task (201 with it).
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.tasks.retry(&TaskId(id)).await?),
    ))
}
