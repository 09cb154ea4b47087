//! The task service: enqueueing and cancelling coding tasks, for REST, MCP and arenas alike. The agent is
//! resolved before anything is stored, so an unknown or disabled agent is refused and the queue never
//! holds a task no worker can run; a session and a coder chat are made when none is given; the
//! dispatcher is woken and open clients get a `task_updated` frame.

use std::path::Path;
use std::sync::Arc;

use boocode_protocol::{
    Chat, ChatKind, CreateTaskRequest, ExecutionPath, FrameBody, OpenStatus, Session, SessionId,
    Task, TaskId, TaskState,
};
use boocode_store::{Store, StoreError};
use chrono::Utc;

use crate::broker::Broker;
use crate::dispatcher::Dispatcher;

/// Why a task could not be queued or cancelled.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The request itself is wrong (empty input, unknown agent, a session of another project…).
    #[error("{0}")]
    Invalid(String),
    /// The task is not in a state that allows this (a retry of a running task).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TaskError> for crate::error::ApiError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Invalid(message) => Self::bad_request(message),
            TaskError::Conflict(message) => Self::conflict(message),
            TaskError::Store(e) => e.into(),
        }
    }
}

/// Queues and cancels tasks; cheap to clone.
#[derive(Clone)]
pub struct TaskService {
    store: Arc<dyn Store>,
    broker: Broker,
    dispatcher: Dispatcher,
}

impl TaskService {
    /// A service over these parts.
    pub fn new(store: Arc<dyn Store>, broker: Broker, dispatcher: Dispatcher) -> Self {
        Self {
            store,
            broker,
            dispatcher,
        }
    }

    async fn publish(&self, task: &Task) {
        let body = FrameBody::TaskUpdated {
            task: Box::new(task.clone()),
        };
        if let Err(e) = self.broker.publish(&task.session_id, body).await {
            tracing::warn!(error = %e, "task_updated not published");
        }
    }

    /// Validates and enqueues a task.
    pub async fn create(&self, req: CreateTaskRequest) -> Result<Task, TaskError> {
        if req.input.trim().is_empty() {
            return Err(TaskError::Invalid("input must not be empty".into()));
        }
        let project = self.store.get_project(&req.project_id).await?;
        self.dispatcher
            .pool()
            .resolve(&req.agent)
            .map_err(|e| TaskError::Invalid(e.to_string()))?;
        if !Path::new(&project.path).is_dir() {
            return Err(TaskError::Invalid(format!(
                "the project directory {} no longer exists",
                project.path
            )));
        }
        let session = match &req.session_id {
            Some(id) => {
                let s = self.store.get_session(id).await?;
                if s.project_id != project.id {
                    return Err(TaskError::Invalid(format!(
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
                self.store.insert_session(&s).await?;
                s
            }
        };
        let chat = match &req.chat_id {
            Some(id) => {
                let c = self.store.get_chat(id).await?;
                if c.session_id != session.id {
                    return Err(TaskError::Invalid(format!(
                        "chat {id} belongs to another session"
                    )));
                }
                c
            }
            None => self.coder_chat(&session.id).await?,
        };
        let execution_path = if req.agent == "native" {
            ExecutionPath::Native
        } else {
            ExecutionPath::Acp
        };
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
            execution_path: Some(execution_path),
            output_summary: None,
            error: None,
            cost_tokens: None,
            attempts: 0,
            worker_id: None,
            created_at: Utc::now(),
            started_at: None,
            ended_at: None,
        };
        self.store.insert_task(&task).await?;
        self.publish(&task).await;
        self.dispatcher.wake();
        Ok(task)
    }

    /// Cancels a task: a pending one at once; a running one here now, on another worker at its next
    /// lease renewal.
    pub async fn cancel(&self, id: &TaskId) -> Result<Task, TaskError> {
        let task = self.store.request_cancel(id).await?;
        if task.state == TaskState::Running {
            self.dispatcher.cancel(id, "cancelled by the user");
        }
        if task.state == TaskState::Cancelled {
            self.publish(&task).await;
        }
        Ok(task)
    }

    /// Runs a finished task again: the same input, agent, model and mode, in the same session and chat,
    /// as a new task. A task still queued or running is a conflict.
    pub async fn retry(&self, id: &TaskId) -> Result<Task, TaskError> {
        let task = self.store.get_task(id).await?;
        if !matches!(
            task.state,
            TaskState::Completed | TaskState::Failed | TaskState::Cancelled
        ) {
            return Err(TaskError::Conflict(format!(
                "task {id} is {}; retry it when it has ended",
                task.state.as_str()
            )));
        }
        self.create(CreateTaskRequest {
            project_id: task.project_id,
            session_id: Some(task.session_id),
            chat_id: Some(task.chat_id),
            input: task.input,
            agent: task.agent,
            model: task.model,
            mode_id: task.mode_id,
            thinking_option_id: None,
            feature_values: task.feature_values,
        })
        .await
    }

    /// The session's first open coder chat, created when it has none.
    async fn coder_chat(&self, session: &SessionId) -> Result<Chat, TaskError> {
        let chats = self.store.list_chats(session).await?;
        if let Some(c) = chats
            .into_iter()
            .find(|c| c.kind == ChatKind::Coder && c.status == OpenStatus::Open)
        {
            return Ok(c);
        }
        let chat = Chat::new(session.clone(), "Coder", ChatKind::Coder);
        self.store.insert_chat(&chat).await?;
        Ok(chat)
    }
}
