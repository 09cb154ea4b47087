//! The store: a `Store` trait with SQLite (default, embedded) and PostgreSQL (shared queue) implementations,
//! each with its own migrations. Knows the entities of docs/ARCHITECTURE.md §3; knows nothing of HTTP or agents.

mod arenas;
mod chats;
mod comments;
mod error;
mod migrate;
mod model;
mod permissions;
mod postgres;
mod queries;
mod queries_tasks;
mod sqlite;
mod tasks;

use std::sync::Arc;

use async_trait::async_trait;
use boocode_protocol::{
    ChatId, Message, MessageId, Project, ProjectId, Session, SessionId, ToolCall,
    UpdateProjectRequest, UpdateSessionRequest,
};
use chrono::{DateTime, Utc};

pub use arenas::{ArenaRow, ArenaStore, ContenderRow};
pub use chats::{ChatFilter, ChatStore};
pub use comments::CommentStore;
pub use error::StoreError;
pub use model::{FrameNotice, InterruptedMessage, MessageFinish, StoredFrame};
pub use permissions::PermissionStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use tasks::{
    AgentSessionRow, ChangePart, ClaimCandidate, ClaimedTask, LeaseState, NewChange,
    SessionWorktree, TaskFilter, TaskOutcome, TaskStore,
};

/// Result of every store call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Persistence for everything boocode keeps. Both engines implement the same contract and pass the same
/// test suite (`tests/store_suite.rs`); callers hold an `Arc<dyn Store>` and never know which one it is.
#[async_trait]
pub trait Store:
    TaskStore + ArenaStore + ChatStore + PermissionStore + CommentStore + Send + Sync + 'static
{
    /// The engine: SQLite (one process owns the file) or PostgreSQL (workers may share it).
    fn backend(&self) -> boocode_protocol::DatabaseEngine;
    /// A cheap round trip, for readiness.
    async fn ping(&self) -> Result<()>;

    async fn insert_project(&self, project: &Project) -> Result<()>;
    async fn list_projects(&self) -> Result<Vec<Project>>;
    async fn get_project(&self, id: &ProjectId) -> Result<Project>;
    async fn update_project(&self, id: &ProjectId, patch: &UpdateProjectRequest)
    -> Result<Project>;
    /// Deletes the project and, by cascade, everything under it.
    async fn delete_project(&self, id: &ProjectId) -> Result<()>;

    /// Inserts a session; `last_seq` is ignored (it is derived from the frame journal).
    async fn insert_session(&self, session: &Session) -> Result<()>;
    async fn list_sessions(&self, project: &ProjectId) -> Result<Vec<Session>>;
    async fn get_session(&self, id: &SessionId) -> Result<Session>;
    async fn update_session(&self, id: &SessionId, patch: &UpdateSessionRequest)
    -> Result<Session>;
    /// Deletes the session and its chats, messages, tasks, changes, worktree row, agent sessions, frames.
    async fn delete_session(&self, id: &SessionId) -> Result<()>;

    /// Stores a user message and the assistant message that will answer it, atomically.
    async fn insert_exchange(&self, user: &Message, assistant: &Message) -> Result<()> {
        self.insert_messages(&[user, assistant]).await
    }
    /// Stores messages in one transaction (a task's second attempt adds only its new reply); the last
    /// becomes its chat's active leaf and the chat moves to the top of the list.
    async fn insert_messages(&self, messages: &[&Message]) -> Result<()>;
    /// Every message of a chat (all branches), oldest first, each with its tool calls.
    async fn list_messages(&self, chat: &ChatId) -> Result<Vec<Message>>;
    async fn get_message(&self, id: &MessageId) -> Result<Message>;
    /// Checkpoints a streaming message's text (the ≤ 250 ms batches of a turn).
    async fn save_message_progress(
        &self,
        id: &MessageId,
        content: &str,
        reasoning: &str,
    ) -> Result<()>;
    /// Writes a message's final state.
    async fn finish_message(&self, id: &MessageId, finish: &MessageFinish) -> Result<()>;
    /// Inserts or replaces one tool call of a message, keyed by `call_id`.
    async fn upsert_tool_call(&self, message: &MessageId, call: &ToolCall) -> Result<()>;
    /// Marks messages left `streaming` by a dead process as `error` with `reason`; returns them, so their
    /// sessions' clients can be told.
    async fn interrupt_streaming_messages(&self, reason: &str) -> Result<Vec<InterruptedMessage>>;

    /// Records that `worker` is alive now.
    async fn heartbeat(&self, worker: &str) -> Result<()>;
    /// Marks `message` as streamed by `worker`, so it can be closed if that worker dies.
    async fn set_message_worker(&self, message: &MessageId, worker: &str) -> Result<()>;
    /// Closes replies still `streaming` whose worker has not been seen since `stale_before` (killed);
    /// returns them, so their sessions' clients can be told.
    async fn interrupt_orphaned_messages(
        &self,
        stale_before: DateTime<Utc>,
        reason: &str,
    ) -> Result<Vec<InterruptedMessage>>;

    /// Appends journaled frames in one transaction; a frame already stored is left alone.
    async fn append_frames(&self, frames: &[StoredFrame]) -> Result<()>;
    /// Frames of a session with `seq > after`, ascending, at most `limit`.
    async fn frames_after(
        &self,
        session: &SessionId,
        after: u64,
        limit: u64,
    ) -> Result<Vec<StoredFrame>>;
    /// The highest journaled `seq` of a session (0 when none).
    async fn last_seq(&self, session: &SessionId) -> Result<u64>;
    /// Commits a tiny write transaction: what `ping` cannot tell (a full disk, a read-only file, a
    /// writer connection left unusable) shows here.
    async fn check_write(&self) -> Result<()>;
    /// Reserves frame numbers of a session up to at least `upto`, before any of them is handed out;
    /// returns the reservation now stored (`upto` when the session is gone).
    async fn reserve_frame_seqs(&self, session: &SessionId, upto: u64) -> Result<u64>;
    /// The highest frame number ever reserved for a session (0 when none).
    async fn reserved_frame_seq(&self, session: &SessionId) -> Result<u64>;
    /// On a clean stop, gives back the unused part of a reservation (`reserved` down to `last`), unless
    /// another process reserved further meanwhile.
    async fn release_frame_seqs(&self, session: &SessionId, reserved: u64, last: u64)
    -> Result<()>;
    /// The lowest retained `seq` of a session, if any.
    async fn first_seq(&self, session: &SessionId) -> Result<Option<u64>>;
    /// Drops frames that are both older than `older_than` and beyond the newest `keep` of their session.
    async fn prune_frames(&self, keep: u64, older_than: DateTime<Utc>) -> Result<u64>;

    /// Notices of frames journaled by any process sharing this database, so each process can fan them
    /// out to its own clients. `None` for engines used by a single process (SQLite).
    async fn frame_notices(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<FrameNotice>>>;
}

/// Opens the store a URL names (`sqlite://path` or `postgres://…`), creating and migrating it as needed.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

/// A URL with any password removed, safe to log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_password() {
        assert_eq!(
            super::redact("postgres://bob:secret@db:5432/x"),
            "postgres://bob:***@db:5432/x"
        );
        assert_eq!(super::redact("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
    }
}
