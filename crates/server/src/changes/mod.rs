//! The review service: a pending change read as files and hunks; accept all or part of it (into the
//! project's working tree, as a commit, or onto a new branch; all or nothing) or reject all or part of it
//! (the worktree loses it). Operations on one session's changes are serialised, so a change is never
//! applied twice. REST and arenas call it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use boocode_protocol::{
    AcceptChangeRequest, AcceptMode, ChangeDecision, ChangeDetail, ChangeId, ChangeStatus,
    FrameBody, PendingChange, RejectChangeRequest, SessionId,
};
use boocode_store::{ChangePart, NewChange, Store, StoreError};
use boocode_workspace::{Patch, Selection, SelectionError, WorkspaceError};
use chrono::Utc;

use crate::broker::Broker;

mod comments;
mod message;
mod wire;

/// Why a change could not be accepted or rejected.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Not pending any more, or it does not apply to the project: nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// The request cannot be met as asked (the project is gone, a bad selection or name).
    #[error("{0}")]
    Invalid(String),
    /// What the request names is not part of the change.
    #[error("{0}")]
    NotFound(String),
    /// The model server failed or answered nothing usable.
    #[error("{0}")]
    Model(String),
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
            ChangeError::NotFound(m) => Self::not_found(m),
            ChangeError::Model(m) => Self::upstream(m),
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

    /// The change read as files and hunks (any status: history is reviewable too).
    pub async fn detail(&self, id: &ChangeId) -> Result<ChangeDetail, ChangeError> {
        let (change, _) = self.store.get_change(id).await?;
        let patch = Patch::parse(change.diff.as_deref().unwrap_or_default());
        Ok(ChangeDetail {
            files: wire::files_of(&patch),
            change,
        })
    }

    /// The text of `path` before the change (the old side of its diff), so a reviewer can expand the
    /// unchanged lines around a hunk.
    pub async fn old_source(&self, id: &ChangeId, path: &str) -> Result<String, ChangeError> {
        const MAX: u64 = 2 * 1024 * 1024;
        let (change, _) = self.store.get_change(id).await?;
        let patch = Patch::parse(change.diff.as_deref().unwrap_or_default());
        let file = patch
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| ChangeError::NotFound(format!("no file {path:?} in change {id}")))?;
        let blob = file.old_blob.as_deref().ok_or_else(|| {
            ChangeError::Invalid(format!("{path} is new in this change: it has no old text"))
        })?;
        let session = self.store.get_session(&change.session_id).await?;
        let project = self.store.get_project(&session.project_id).await?;
        let bytes = boocode_workspace::read_blob(Path::new(&project.path), blob, MAX)
            .await
            .map_err(workspace_error)?
            .ok_or_else(|| {
                ChangeError::Invalid(format!("{path} is too large to expand (over 2 MiB)"))
            })?;
        String::from_utf8(bytes).map_err(|_| ChangeError::Invalid(format!("{path} is not text")))
    }

    /// Lands a pending change (or the selected part of it) in its project the way `request` says —
    /// the working tree, a commit on the current branch, or a new branch — and marks it accepted. A
    /// conflict changes nothing. After a partial accept the worktree's "last accepted" state includes
    /// the taken part, and the rest stays pending as a new change.
    pub async fn accept(
        &self,
        id: &ChangeId,
        request: AcceptChangeRequest,
    ) -> Result<ChangeDecision, ChangeError> {
        let (change, _) = self.store.get_change(id).await?;
        if self
            .store
            .arena_of_session(&change.session_id)
            .await?
            .is_some()
        {
            return Err(ChangeError::Conflict(
                "this change is a lane of an arena: pick it in the arena to accept it".into(),
            ));
        }
        self.accept_unchecked(id, request).await
    }

    /// Accepts an arena lane's change whole: the arena's pick is the only way a lane lands.
    pub async fn accept_lane(&self, id: &ChangeId) -> Result<ChangeDecision, ChangeError> {
        self.accept_unchecked(id, AcceptChangeRequest::default())
            .await
    }

    async fn accept_unchecked(
        &self,
        id: &ChangeId,
        request: AcceptChangeRequest,
    ) -> Result<ChangeDecision, ChangeError> {
        let (_held, change, head) = self.pending_locked(id).await?;
        let session = self.store.get_session(&change.session_id).await?;
        let project = self.store.get_project(&session.project_id).await?;
        let project_dir = Path::new(&project.path);
        if !project_dir.is_dir() {
            return Err(ChangeError::Invalid(format!(
                "the project directory {} no longer exists",
                project.path
            )));
        }
        let mode = request.mode.unwrap_or_default();
        let branch = match (mode, request.branch.as_deref().map(str::trim)) {
            (AcceptMode::Branch, Some(b)) if !b.is_empty() => Some(b.to_owned()),
            (AcceptMode::Branch, _) => {
                return Err(ChangeError::Invalid(
                    "mode \"branch\" needs a \"branch\" name".into(),
                ));
            }
            _ => None,
        };
        let diff = change.diff.clone().unwrap_or_default();
        let part = part_of(&diff, wire::selection_of(request.files, request.hunks))?;
        let landing = part.as_deref().unwrap_or(&diff);
        let worktree = self.store.get_worktree(&change.session_id).await?;
        // A partial accept first builds the worktree's new "last accepted" state beside everything
        // (nothing visible moves), so a failure there leaves the project untouched too.
        let new_base = match (&part, &worktree) {
            (Some(part), Some(w)) => Some(
                boocode_workspace::advance_base(
                    Path::new(&w.worktree_path),
                    &w.base_commit,
                    part,
                    &boocode_workspace::base_ref(&w.branch),
                )
                .await
                .map_err(workspace_error)?,
            ),
            (Some(_), None) => {
                return Err(ChangeError::Invalid(
                    "this session has no worktree to keep the rest of the change in".into(),
                ));
            }
            (None, _) => None,
        };
        let message = match request.message.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => self.default_message(&change).await,
        };
        let commit = match mode {
            AcceptMode::Worktree => {
                boocode_workspace::apply_to_project(project_dir, landing)
                    .await
                    .map_err(workspace_error)?;
                None
            }
            AcceptMode::Commit => Some(
                boocode_workspace::commit_to_project(project_dir, landing, &message)
                    .await
                    .map_err(workspace_error)?,
            ),
            AcceptMode::Branch => Some(
                boocode_workspace::branch_in_project(
                    project_dir,
                    branch.as_deref().unwrap_or_default(),
                    landing,
                    &message,
                )
                .await
                .map_err(workspace_error)?,
            ),
        };
        let (accepted, remaining) = match (part, worktree, new_base) {
            (Some(part), Some(w), Some(base)) => {
                self.store
                    .set_worktree_base(&change.session_id, &base)
                    .await?;
                self.split(
                    &change,
                    ChangeStatus::Accepted,
                    &part,
                    &w.worktree_path,
                    &base,
                )
                .await?
            }
            _ => {
                let accepted = self
                    .store
                    .resolve_change(id, ChangeStatus::Accepted)
                    .await?;
                if let Some(head) = head {
                    self.store
                        .set_worktree_base(&change.session_id, &head)
                        .await?;
                }
                (accepted, None)
            }
        };
        Ok(self.decided(accepted, remaining, commit, branch).await)
    }

    /// Rejects a pending change: the whole of it returns the worktree to the last accepted state; a
    /// selection is reverted in the worktree (committed, so the agent's next turn sees it gone) and the
    /// rest stays pending as a new change.
    pub async fn reject(
        &self,
        id: &ChangeId,
        request: RejectChangeRequest,
    ) -> Result<ChangeDecision, ChangeError> {
        let (_held, change, _) = self.pending_locked(id).await?;
        let diff = change.diff.clone().unwrap_or_default();
        let part = part_of(&diff, wire::selection_of(request.files, request.hunks))?;
        let worktree = self.store.get_worktree(&change.session_id).await?;
        if let (Some(part), Some(w)) = (&part, &worktree) {
            boocode_workspace::revert_in_worktree(
                Path::new(&w.worktree_path),
                part,
                &format!("boocode: reject part of change {id}"),
            )
            .await
            .map_err(workspace_error)?;
            let (rejected, remaining) = self
                .split(
                    &change,
                    ChangeStatus::Rejected,
                    part,
                    &w.worktree_path,
                    &w.base_commit,
                )
                .await?;
            return Ok(self.decided(rejected, remaining, None, None).await);
        }
        if let Some(worktree) = worktree {
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
        Ok(self.decided(rejected, None, None, None).await)
    }

    /// Resolves the taken `part` of `change` and stores the worktree's remaining diff from `base` as the
    /// session's new pending change (none when nothing remains).
    async fn split(
        &self,
        change: &PendingChange,
        status: ChangeStatus,
        part: &str,
        worktree: &str,
        base: &str,
    ) -> Result<(PendingChange, Option<PendingChange>), ChangeError> {
        let dir = Path::new(worktree);
        let stats = boocode_workspace::patch_stats(dir, part)
            .await
            .map_err(workspace_error)?;
        let taken = ChangePart {
            diff: part.to_owned(),
            files_changed: stats.files_changed,
            insertions: stats.insertions,
            deletions: stats.deletions,
        };
        let (rest, rest_stats, rest_head) = boocode_workspace::diff_since(dir, base)
            .await
            .map_err(workspace_error)?;
        let remainder = (!rest.trim().is_empty()).then(|| NewChange {
            id: ChangeId::new(),
            session_id: change.session_id.clone(),
            task_id: change.task_id.clone(),
            agent: change.agent.clone(),
            diff: rest,
            files_changed: rest_stats.files_changed,
            insertions: rest_stats.insertions,
            deletions: rest_stats.deletions,
            head_commit: rest_head,
            created_at: Utc::now(),
        });
        Ok(self
            .store
            .split_change(&change.id, status, &taken, remainder.as_ref())
            .await?)
    }

    /// Publishes a decision's changes and returns it.
    async fn decided(
        &self,
        change: PendingChange,
        remaining: Option<PendingChange>,
        commit: Option<String>,
        branch: Option<String>,
    ) -> ChangeDecision {
        let change = self.publish(change).await;
        let remaining = match remaining {
            Some(r) => Some(self.publish(r).await),
            None => None,
        };
        ChangeDecision {
            change,
            remaining,
            commit,
            branch,
        }
    }

    /// What the user asked for in the turn that made the change (empty when no task made it).
    async fn request_of(&self, change: &PendingChange) -> String {
        match &change.task_id {
            Some(task) => self
                .store
                .get_task(task)
                .await
                .map(|t| t.input)
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// A commit message when the user gave none: the task's request, first line.
    async fn default_message(&self, change: &PendingChange) -> String {
        let input = self.request_of(change).await;
        let first = input.lines().map(str::trim).find(|l| !l.is_empty());
        match first {
            Some(line) => line.chars().take(72).collect(),
            None => format!(
                "Apply change from {}",
                change.agent.as_deref().unwrap_or("boocode")
            ),
        }
    }
}

/// The selected part of `diff` as a patch, `None` when the selection is absent or covers everything.
fn part_of(diff: &str, selection: Option<Selection>) -> Result<Option<String>, ChangeError> {
    let Some(selection) = selection else {
        return Ok(None);
    };
    match Patch::parse(diff).select(&selection) {
        Ok(part) if part == diff => Ok(None),
        Ok(part) => Ok(Some(part)),
        Err(SelectionError::Empty) => Err(ChangeError::Invalid(SelectionError::Empty.to_string())),
        Err(e) => Err(ChangeError::Conflict(e.to_string())),
    }
}

fn workspace_error(e: WorkspaceError) -> ChangeError {
    match e {
        WorkspaceError::Conflict(why) => ChangeError::Conflict(format!(
            "the change does not apply; nothing was changed: {why}"
        )),
        WorkspaceError::Invalid(why) => ChangeError::Invalid(why),
        e @ WorkspaceError::NoCommits(_) => ChangeError::Invalid(e.to_string()),
        other => ChangeError::Workspace(other.to_string()),
    }
}
