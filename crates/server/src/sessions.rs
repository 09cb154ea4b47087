//! The lifecycle of projects and sessions: creating them (a project is an existing git work tree) and
//! deleting them, which first ends everything a session runs — chat replies, tasks, warm agents,
//! terminals — then removes its rows, frames and worktree. REST and arenas call it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use boocode_protocol::{
    CreateProjectRequest, CreateSessionRequest, OpenStatus, Project, ProjectId, Session, SessionId,
};
use boocode_store::{Store, StoreError};
use chrono::Utc;

use crate::broker::Broker;
use crate::chat::ChatService;
use crate::dispatcher::Dispatcher;
use crate::providers::ProviderHub;
use crate::terminals::Terminals;

/// Why a project or session could not be made or removed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The request is wrong (not a git repository, an empty name…).
    #[error("{0}")]
    Invalid(String),
    /// It already exists.
    #[error("{0}")]
    Conflict(String),
    /// The rows are gone but git could not remove the worktree.
    #[error("{0}")]
    Workspace(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SessionError {
    /// The session or project was not there (already deleted).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Store(StoreError::NotFound { .. }))
    }
}

impl From<SessionError> for crate::error::ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Invalid(m) => Self::bad_request(m),
            SessionError::Conflict(m) => Self::conflict(m),
            SessionError::Workspace(m) => Self::internal(m),
            SessionError::Store(e) => e.into(),
        }
    }
}

/// Creates and deletes projects and sessions; cheap to clone.
#[derive(Clone)]
pub struct SessionService {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) broker: Broker,
    pub(crate) chat: ChatService,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) providers: ProviderHub,
    pub(crate) terminals: Terminals,
}

impl SessionService {
    /// Adds a project for an existing git work tree (its canonical path, once).
    pub async fn create_project(&self, req: CreateProjectRequest) -> Result<Project, SessionError> {
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
        self.store
            .insert_project(&project)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    SessionError::Conflict(format!("a project for {} already exists", project.path))
                }
                other => other.into(),
            })?;
        Ok(project)
    }

    /// Opens a session in a project, named "Session N" unless a name is given.
    pub async fn create_session(
        &self,
        project: &ProjectId,
        req: CreateSessionRequest,
    ) -> Result<Session, SessionError> {
        let project = self.store.get_project(project).await?;
        let count = self.store.list_sessions(&project.id).await?.len();
        let session = Session {
            id: SessionId::new(),
            project_id: project.id,
            name: req
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("Session {}", count + 1)),
            model: req.model.filter(|m| !m.trim().is_empty()),
            status: OpenStatus::Open,
            created_at: Utc::now(),
            last_seq: 0,
        };
        self.store.insert_session(&session).await?;
        Ok(session)
    }

    /// Stops everything a session runs here: chat replies, tasks, warm agents, terminals.
    async fn stop_everything(&self, session: &SessionId, why: &str) -> Result<(), SessionError> {
        for chat in self.store.list_chats(session).await? {
            self.chat.stop(&chat.id);
        }
        self.dispatcher.cancel_session(session, why);
        self.providers.close_session(session.as_str()).await;
        self.terminals.close_session(session);
        Ok(())
    }

    /// Ends everything a session runs, deletes it (cascading) and removes its worktree and branch.
    pub async fn delete_session(&self, id: &SessionId) -> Result<(), SessionError> {
        let session = self.store.get_session(id).await?;
        self.stop_everything(id, "session deleted").await?;
        let worktree = self.store.get_worktree(id).await?;
        self.store.delete_session(id).await?;
        self.broker.forget(id);
        if let Some(w) = worktree {
            let project = self.store.get_project(&session.project_id).await?;
            boocode_workspace::remove_worktree(
                Path::new(&project.path),
                Path::new(&w.worktree_path),
                &w.branch,
            )
            .await
            .map_err(|e| {
                SessionError::Workspace(format!(
                    "session deleted, but its worktree was not removed: {e}"
                ))
            })?;
        }
        Ok(())
    }

    /// Deletes a project: every session's work is ended first, then the rows, then the worktrees.
    pub async fn delete_project(&self, id: &ProjectId) -> Result<(), SessionError> {
        let project = self.store.get_project(id).await?;
        let sessions = self.store.list_sessions(id).await?;
        let mut worktrees = Vec::new();
        for s in &sessions {
            self.stop_everything(&s.id, "project deleted").await?;
            worktrees.extend(self.store.get_worktree(&s.id).await?);
        }
        self.store.delete_project(id).await?;
        for w in worktrees {
            let removed = boocode_workspace::remove_worktree(
                Path::new(&project.path),
                Path::new(&w.worktree_path),
                &w.branch,
            )
            .await;
            if let Err(e) = removed {
                tracing::warn!(error = %e, worktree = %w.worktree_path, "worktree of a deleted project not removed");
            }
        }
        for s in sessions {
            self.broker.forget(&s.id);
        }
        Ok(())
    }
}

/// The canonical path of an existing git work tree (a `.git` directory or file at its root).
fn validate_repo(raw: &str) -> Result<PathBuf, SessionError> {
    let invalid = |m: String| SessionError::Invalid(m);
    if raw.trim().is_empty() {
        return Err(invalid("path must not be empty".into()));
    }
    let given = Path::new(raw);
    if !given.is_absolute() {
        return Err(invalid(format!("path {raw:?} must be absolute")));
    }
    let path = given
        .canonicalize()
        .map_err(|e| invalid(format!("path {raw:?} does not exist: {e}")))?;
    if !path.is_dir() {
        return Err(invalid(format!("path {raw:?} is not a directory")));
    }
    if !path.join(".git").exists() {
        return Err(invalid(format!(
            "path {raw:?} is not a git repository (no .git at its root; run `git init` first)"
        )));
    }
    Ok(path)
}
