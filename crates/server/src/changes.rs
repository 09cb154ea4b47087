//! The review service: accept a pending change (apply the stored diff to the project's working tree, all
//! or nothing) or reject it (return the worktree to the last accepted state). Operations on one
//! session's changes are serialised, so a change is never applied twice. REST and arenas call it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use boocode_protocol::{ChangeId, ChangeStatus, FrameBody, PendingChange, SessionId};
use boocode_store::{Store, StoreError};

use crate::broker::Broker;

/// Why a change could not be accepted or rejected.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Not pending any more, or it does not apply to the project: nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// The project is gone.
    #[error("{0}")]
    Invalid(String),
    /// Git failed for another reason (the worktree could not be reset, say).
    #[error("{0}")]
    Workspace(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ChangeError> for crate::error::ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Conflict(m) => Self::conflict(m),
            ChangeError::Invalid(m) => Self::bad_request(m),
            ChangeError::Workspace(m) => Self::internal(m),
            ChangeError::Store(e) => e.into(),
        }
    }
}

/// Accepts and rejects changes; cheap to clone.
#[derive(Clone)]
pub struct ChangeService {
    store: Arc<dyn Store>,
    broker: Broker,
    locks: Arc<Mutex<HashMap<SessionId, Arc<tokio::sync::Mutex<()>>>>>,
}

impl ChangeService {
    /// A service over these parts.
    pub fn new(store: Arc<dyn Store>, broker: Broker) -> Self {
        Self {
            store,
            broker,
            locks: Arc::default(),
        }
    }

    fn lock_of(&self, session: &SessionId) -> Arc<tokio::sync::Mutex<()>> {
        match self.locks.lock() {
            Ok(mut map) => map.entry(session.clone()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// A pending change with its session's lock held (accept and reject never interleave), and its head.
    async fn pending_locked(
        &self,
        id: &ChangeId,
    ) -> Result<
        (
            tokio::sync::OwnedMutexGuard<()>,
            PendingChange,
            Option<String>,
        ),
        ChangeError,
    > {
        let (change, _) = self.store.get_change(id).await?;
        let held = self.lock_of(&change.session_id).lock_owned().await;
        let (change, head) = self.store.get_change(id).await?;
        if change.status != ChangeStatus::Pending {
            return Err(ChangeError::Conflict(format!(
                "change {id} is {}, not pending",
                change.status.as_str()
            )));
        }
        Ok((held, change, head))
    }

    /// Frames the change (without its diff) and returns it whole.
    async fn publish(&self, mut change: PendingChange) -> PendingChange {
        let full = change.clone();
        change.diff = None;
        let session = change.session_id.clone();
        if let Err(e) = self
            .broker
            .publish(&session, FrameBody::PendingChange { change })
            .await
        {
            tracing::warn!(error = %e, "pending_change not published");
        }
        full
    }

    /// Applies a pending change to its project (all or nothing; a conflict changes nothing) and marks
    /// it accepted; the session's next diffs start from it.
    pub async fn accept(&self, id: &ChangeId) -> Result<PendingChange, ChangeError> {
        let (_held, change, head) = self.pending_locked(id).await?;
        let session = self.store.get_session(&change.session_id).await?;
        let project = self.store.get_project(&session.project_id).await?;
        if !Path::new(&project.path).is_dir() {
            return Err(ChangeError::Invalid(format!(
                "the project directory {} no longer exists",
                project.path
            )));
        }
        let diff = change.diff.clone().unwrap_or_default();
        boocode_workspace::apply_to_project(Path::new(&project.path), &diff)
            .await
            .map_err(|e| match e {
                boocode_workspace::WorkspaceError::Conflict(why) => ChangeError::Conflict(format!(
                    "the change does not apply to the project; nothing was changed: {why}"
                )),
                other => ChangeError::Workspace(other.to_string()),
            })?;
        let accepted = self
            .store
            .resolve_change(id, ChangeStatus::Accepted)
            .await?;
        if let Some(head) = head {
            self.store
                .set_worktree_base(&change.session_id, &head)
                .await?;
        }
        Ok(self.publish(accepted).await)
    }

    /// Returns the session's worktree to the last accepted state and marks the change rejected.
    pub async fn reject(&self, id: &ChangeId) -> Result<PendingChange, ChangeError> {
        let (_held, change, _) = self.pending_locked(id).await?;
        if let Some(worktree) = self.store.get_worktree(&change.session_id).await? {
            boocode_workspace::reset_to(Path::new(&worktree.worktree_path), &worktree.base_commit)
                .await
                .map_err(|e| {
                    ChangeError::Workspace(format!("the worktree could not be reset: {e}"))
                })?;
        }
        let rejected = self
            .store
            .resolve_change(id, ChangeStatus::Rejected)
            .await?;
        Ok(self.publish(rejected).await)
    }
}
