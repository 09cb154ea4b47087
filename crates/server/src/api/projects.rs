//! Projects: git repositories on disk.

use std::path::Path as FsPath;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boocode_protocol::{CreateProjectRequest, Project, ProjectId, UpdateProjectRequest};
use chrono::Utc;

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
    let path = validate_repo(&req.path)?;
    let name = req
        .name
        .filter(|n| !n.trim().is_empty())
        .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".into());
    let project = Project {
        id: ProjectId::new(),
        name,
        path: path.to_string_lossy().into_owned(),
        default_model: req.default_model,
        created_at: Utc::now(),
    };
    state
        .store
        .insert_project(&project)
        .await
        .map_err(|e| match e {
            boocode_store::StoreError::Conflict(_) => {
                ApiError::conflict(format!("a project for {} already exists", project.path))
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// The canonical path of an existing git work tree (a `.git` directory or file at its root).
fn validate_repo(raw: &str) -> Result<std::path::PathBuf, ApiError> {
    if raw.trim().is_empty() {
        return Err(ApiError::bad_request("path must not be empty"));
    }
    let given = FsPath::new(raw);
    if !given.is_absolute() {
        return Err(ApiError::bad_request(format!(
            "path {raw:?} must be absolute"
        )));
    }
    let path = given
        .canonicalize()
        .map_err(|e| ApiError::bad_request(format!("path {raw:?} does not exist: {e}")))?;
    if !path.is_dir() {
        return Err(ApiError::bad_request(format!(
            "path {raw:?} is not a directory"
        )));
    }
    if !path.join(".git").exists() {
        return Err(ApiError::bad_request(format!(
            "path {raw:?} is not a git repository (no .git at its root; run `git init` first)"
        )));
    }
    Ok(path)
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
    let id = ProjectId(id);
    let project = state.store.get_project(&id).await?;
    let sessions = state.store.list_sessions(&id).await?;
    let mut worktrees = Vec::new();
    for s in &sessions {
        for chat in state.store.list_chats(&s.id).await? {
            state.chat.stop(&chat.id);
        }
        state.dispatcher.cancel_session(&s.id, "project deleted");
        worktrees.extend(state.store.get_worktree(&s.id).await?);
    }
    state.store.delete_project(&id).await?;
    for w in worktrees {
        let removed = boocode_workspace::remove_worktree(
            FsPath::new(&project.path),
            FsPath::new(&w.worktree_path),
            &w.branch,
        )
        .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, worktree = %w.worktree_path, "worktree of a deleted project not removed");
        }
    }
    for s in sessions {
        state.broker.forget(&s.id);
    }
    Ok(StatusCode::NO_CONTENT)
}
