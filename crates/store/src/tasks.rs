//! The task queue, session worktrees and pending changes: the half of the store the dispatcher and the
//! review flow use. A supertrait of `Store`, so callers still hold one `Arc<dyn Store>`.

use async_trait::async_trait;
use boocode_protocol::{ChangeId, ChangeStatus, PendingChange, SessionId, Task, TaskId, TaskState};
use chrono::{DateTime, Utc};

use crate::Result;

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub session_id: Option<SessionId>,
    /// Only tasks of this project (an agent's MCP token sees its own project only).
    pub project_id: Option<boocode_protocol::ProjectId>,
    pub state: Option<TaskState>,
    pub limit: Option<u64>,
}

/// A task this worker now runs; `generation` fences every later write (a worker that lost its lease
/// cannot overwrite the new owner's result).
#[derive(Debug, Clone)]
pub struct ClaimedTask {
    pub task: Task,
    pub generation: u64,
}

/// What a lease renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Still ours; `cancel_requested` when someone asked the task to stop.
    Held { cancel_requested: bool },
    /// Another worker (or recovery) took the task over.
    Lost,
}

/// How a task ended.
#[derive(Debug, Clone)]
pub struct TaskOutcome {
    pub state: TaskState,
    pub output_summary: Option<String>,
    pub error: Option<String>,
    pub cost_tokens: Option<u64>,
}

/// A session's worktree row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionWorktree {
    pub session_id: SessionId,
    pub worktree_path: String,
    pub branch: String,
    /// The last accepted state: diffs start here, reject returns here.
    pub base_commit: String,
    pub created_at: DateTime<Utc>,
}

/// A change to record after a turn.
#[derive(Debug, Clone)]
pub struct NewChange {
    pub id: ChangeId,
    pub session_id: SessionId,
    pub task_id: Option<TaskId>,
    pub agent: Option<String>,
    pub diff: String,
    pub files_changed: u64,
    pub insertions: u64,
    pub deletions: u64,
    pub head_commit: String,
    pub created_at: DateTime<Utc>,
}

/// The diff of the part of a change a review accepted or rejected, with its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePart {
    pub diff: String,
    pub files_changed: u64,
    pub insertions: u64,
    pub deletions: u64,
}

/// Queue, worktree and change persistence.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Enqueues a task (PostgreSQL: `NOTIFY tasks_new` in the same transaction).
    async fn insert_task(&self, task: &Task) -> Result<()>;
    async fn get_task(&self, id: &TaskId) -> Result<Task>;
    /// Newest first.
    async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>>;
    /// Atomically claims the oldest pending task of a session with nothing running.
    async fn claim_task(
        &self,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedTask>>;
    /// Atomically claims task `id` if it is still queued and its session runs nothing.
    async fn claim_task_id(
        &self,
        id: &TaskId,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedTask>>;
    /// Queued tasks that could start now (their session runs nothing), oldest first, with the model
    /// each would use as far as the database knows (task, else session, else project).
    async fn claim_candidates(&self, limit: u32) -> Result<Vec<ClaimCandidate>>;
    /// Moves a queued task between `pending` and `waiting_for_model`; `None` when it was not there.
    async fn set_task_waiting(&self, id: &TaskId, waiting: bool) -> Result<Option<Task>>;
    /// Sets what a queued task says while it waits (in `error`); `None` when it is no longer queued.
    async fn set_task_note(&self, id: &TaskId, note: &str) -> Result<Option<Task>>;
    /// Extends the lease if the task is still ours.
    async fn renew_lease(
        &self,
        id: &TaskId,
        generation: u64,
        lease_until: DateTime<Utc>,
    ) -> Result<LeaseState>;
    /// Records the message a running task writes into and how it runs; `false` when the lease was lost.
    async fn set_task_message(
        &self,
        id: &TaskId,
        generation: u64,
        message: &boocode_protocol::MessageId,
        path: boocode_protocol::ExecutionPath,
    ) -> Result<bool>;
    /// Writes the outcome if the lease is still ours; `None` when it was lost.
    async fn finish_task(
        &self,
        id: &TaskId,
        generation: u64,
        outcome: &TaskOutcome,
    ) -> Result<Option<Task>>;
    /// Whether the worker holding `generation` still owns the running task (the fence for its side
    /// effects: file writes, commits, the pending change, the final message).
    async fn lease_held(&self, id: &TaskId, generation: u64) -> Result<bool>;
    /// Puts a running task this worker holds (`generation`) back in the queue, saying why in `error`
    /// (interrupted by shutdown); `None` when the lease was lost meanwhile.
    async fn requeue_task(&self, id: &TaskId, generation: u64, note: &str) -> Result<Option<Task>>;
    /// Cancels a pending task at once; flags a running one for its worker; final tasks are unchanged.
    async fn request_cancel(&self, id: &TaskId) -> Result<Task>;
    /// Fails running tasks whose lease expired before `horizon` ("interrupted by restart"); they end
    /// now, whatever the horizon (SQLite's start-up passes a horizon far ahead to take every one).
    async fn recover_expired_tasks(&self, horizon: DateTime<Utc>) -> Result<Vec<Task>>;
    /// Wake-ups for tasks enqueued by any process sharing the database (`None` for SQLite, where the
    /// enqueuing process wakes its own dispatcher).
    async fn task_notices(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>>;

    async fn get_worktree(&self, session: &SessionId) -> Result<Option<SessionWorktree>>;
    async fn insert_worktree(&self, worktree: &SessionWorktree) -> Result<()>;
    async fn set_worktree_base(&self, session: &SessionId, commit: &str) -> Result<()>;
    /// Every worktree with its project's path, for start-up pruning.
    async fn list_worktrees(&self) -> Result<Vec<(SessionWorktree, String)>>;

    /// Inserts a pending change, marking the session's earlier pending ones superseded.
    async fn insert_change(&self, change: &NewChange) -> Result<PendingChange>;
    /// Newest first, with diffs.
    async fn list_changes(
        &self,
        session: &SessionId,
        status: Option<ChangeStatus>,
    ) -> Result<Vec<PendingChange>>;
    /// A change with its diff and the commit it ends at.
    async fn get_change(&self, id: &ChangeId) -> Result<(PendingChange, Option<String>)>;
    /// Moves a pending change to `status`; a change that is not pending is a conflict.
    async fn resolve_change(&self, id: &ChangeId, status: ChangeStatus) -> Result<PendingChange>;
    /// Resolves the part of a pending change a review took (the change keeps only that part's diff and
    /// stats) and, in the same transaction, stores what remains as the session's new pending change.
    async fn split_change(
        &self,
        id: &ChangeId,
        status: ChangeStatus,
        taken: &ChangePart,
        remainder: Option<&NewChange>,
    ) -> Result<(PendingChange, Option<PendingChange>)>;

    /// The agent session kept for (session, agent), if any.
    async fn get_agent_session(
        &self,
        session: &SessionId,
        agent: &str,
    ) -> Result<Option<AgentSessionRow>>;
    /// Inserts or replaces the row for (session, agent).
    async fn put_agent_session(&self, row: &AgentSessionRow) -> Result<()>;
    /// Every agent session a boocode session keeps, by agent.
    async fn list_agent_sessions(&self, session: &SessionId) -> Result<Vec<AgentSessionRow>>;
}

/// A queued task the scheduler may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimCandidate {
    pub id: TaskId,
    /// The model it would use (task, session or project); `None` means the server's default.
    pub model: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Already marked `waiting_for_model`.
    pub waiting: bool,
    /// Where its project's repository lives: a worker claims only tasks whose repository it can reach.
    pub project_path: String,
    /// What the task says while it waits (why it is not running yet), if anything.
    pub note: Option<String>,
}

/// An external agent's session, kept so the next turn (even after a restart) can resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSessionRow {
    pub session_id: SessionId,
    pub agent: String,
    /// `acp_warm` or `opencode_server`.
    pub backend: String,
    pub agent_session_id: String,
    /// `idle`, `active`, `crashed` or `closed`.
    pub status: String,
    pub config_hash: String,
}
