//! Tasks: enqueue, list, get, cancel. The agent is resolved before anything is stored, so an unknown or
//! disabled agent is a 400 and the queue never holds a task no worker can run.

use std::path::Path as FsPath;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boocode_protocol::{
    Chat, ChatId, ChatKind, CreateTaskRequest, FrameBody, OpenStatus, Session, SessionId, Task,
    TaskId, TaskState,
};
use boocode_store::TaskFilter;
use chrono::Utc;
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::JsonBody;

/// `GET /api/tasks` filters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    session_id: Option<String>,
    state: Option<String>,
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
        project_id: None,
        state: task_state,
        limit: None,
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
    Ok((StatusCode::CREATED, Json(create_task(&state, req).await?)))
}

/// Validates and enqueues a task (REST and MCP): the agent is resolved first, a session and coder chat
/// are made when none is given, the dispatcher is woken.
pub async fn create_task(state: &AppState, req: CreateTaskRequest) -> Result<Task, ApiError> {
    if req.input.trim().is_empty() {
        return Err(ApiError::bad_request("input must not be empty"));
    }
    let project = state.store.get_project(&req.project_id).await?;
    state
        .dispatcher
        .pool()
        .resolve(&req.agent)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !FsPath::new(&project.path).is_dir() {
        return Err(ApiError::bad_request(format!(
            "the project directory {} no longer exists",
            project.path
        )));
    }
    let session = match &req.session_id {
        Some(id) => {
            let s = state.store.get_session(id).await?;
            if s.project_id != project.id {
                return Err(ApiError::bad_request(format!(
                    "session {id} belongs to another project"
                )));
            }
            s
        }
        None => {
            let title: String = req
                .input
                .split_whitespace()
                .take(6)
                .collect::<Vec<_>>()
                .join(" ");
            let s = Session {
                id: SessionId::new(),
                project_id: project.id.clone(),
                name: format!("Task: {title}"),
                model: req.model.clone(),
                status: OpenStatus::Open,
                created_at: Utc::now(),
                last_seq: 0,
            };
            state.store.insert_session(&s).await?;
            s
        }
    };
    let chat = match &req.chat_id {
        Some(id) => {
            let c = state.store.get_chat(id).await?;
            if c.session_id != session.id {
                return Err(ApiError::bad_request(format!(
                    "chat {id} belongs to another session"
                )));
            }
            c
        }
        None => coder_chat(state, &session.id).await?,
    };
    let agent_is_native = req.agent == "native";
    let task = Task {
        id: TaskId::new(),
        project_id: project.id,
        session_id: session.id.clone(),
        chat_id: chat.id,
        message_id: None,
        input: req.input,
        agent: req.agent,
        model: req.model.filter(|m| !m.trim().is_empty()),
        mode_id: req.mode_id,
        thinking_option_id: req.thinking_option_id,
        feature_values: req.feature_values,
        state: TaskState::Pending,
        execution_path: Some(if agent_is_native {
            boocode_protocol::ExecutionPath::Native
        } else {
            boocode_protocol::ExecutionPath::Acp
        }),
        output_summary: None,
        error: None,
        cost_tokens: None,
        attempts: 0,
        worker_id: None,
        created_at: Utc::now(),
        started_at: None,
        ended_at: None,
    };
    state.store.insert_task(&task).await?;
    if let Err(e) = state
        .broker
        .publish(
            &session.id,
            FrameBody::TaskUpdated {
                task: Box::new(task.clone()),
            },
        )
        .await
    {
        tracing::warn!(error = %e, "task_updated not published");
    }
    state.dispatcher.wake();
    Ok(task)
}

/// The session's first coder chat, created when it has none.
async fn coder_chat(state: &AppState, session: &SessionId) -> Result<Chat, ApiError> {
    let chats = state.store.list_chats(session).await?;
    if let Some(c) = chats
        .into_iter()
        .find(|c| c.kind == ChatKind::Coder && c.status == OpenStatus::Open)
    {
        return Ok(c);
    }
    let chat = Chat {
        id: ChatId::new(),
        session_id: session.clone(),
        name: "Coder".into(),
        kind: ChatKind::Coder,
        status: OpenStatus::Open,
        created_at: Utc::now(),
    };
    state.store.insert_chat(&chat).await?;
    Ok(chat)
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id = TaskId(id);
    let task = state.store.request_cancel(&id).await?;
    if task.state == TaskState::Running {
        // Here: stop it now. On another worker: its next lease renewal sees the request.
        state.dispatcher.cancel(&id, "cancelled by the user");
    }
    if task.state == TaskState::Cancelled
        && let Err(e) = state
            .broker
            .publish(
                &task.session_id,
                FrameBody::TaskUpdated {
                    task: Box::new(task.clone()),
                },
            )
            .await
    {
        tracing::warn!(error = %e, "task_updated not published");
    }
    Ok(Json(task))
}
