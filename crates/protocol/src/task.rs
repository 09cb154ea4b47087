//! Coding tasks and pending changes on the wire (docs/ARCHITECTURE.md §3, §8, §9).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{ChangeId, ChatId, MessageId, ProjectId, SessionId, TaskId};

macro_rules! column_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            /// The column value.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            /// Parses the column value.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

column_enum!(
    /// Where a task is in the queue.
    TaskState { Pending = "pending", WaitingForModel = "waiting_for_model", Running = "running", Completed = "completed", Failed = "failed", Cancelled = "cancelled" }
);

impl TaskState {
    /// Whether the task will never run again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// Whether the task waits to be claimed (`pending`, or held back until its model is loaded).
    pub fn is_queued(self) -> bool {
        matches!(self, Self::Pending | Self::WaitingForModel)
    }
}

column_enum!(
    /// How a task's turn was run.
    ExecutionPath { Native = "native", Acp = "acp", OpencodeServer = "opencode_server", Pty = "pty" }
);

column_enum!(
    /// Review state of a pending change.
    ChangeStatus { Pending = "pending", Superseded = "superseded", Accepted = "accepted", Rejected = "rejected" }
);

/// A queued coding turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Task {
    pub id: TaskId,
    pub project_id: ProjectId,
    pub session_id: SessionId,
    pub chat_id: ChatId,
    /// The assistant message the turn writes into, once it started.
    pub message_id: Option<MessageId>,
    pub input: String,
    pub agent: String,
    pub model: Option<String>,
    pub mode_id: Option<String>,
    pub thinking_option_id: Option<String>,
    #[ts(type = "unknown")]
    pub feature_values: Option<serde_json::Value>,
    pub state: TaskState,
    pub execution_path: Option<ExecutionPath>,
    pub output_summary: Option<String>,
    /// Why the task failed, when it did.
    pub error: Option<String>,
    #[ts(type = "number | null")]
    pub cost_tokens: Option<u64>,
    /// How many times a worker has started it (a task interrupted by shutdown runs again).
    #[serde(default)]
    pub attempts: u32,
    pub worker_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// `POST /api/tasks`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct CreateTaskRequest {
    pub project_id: ProjectId,
    #[serde(default)]
    pub session_id: Option<SessionId>,
    #[serde(default)]
    pub chat_id: Option<ChatId>,
    pub input: String,
    pub agent: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub mode_id: Option<String>,
    #[serde(default)]
    pub thinking_option_id: Option<String>,
    #[serde(default)]
    #[ts(type = "unknown")]
    pub feature_values: Option<serde_json::Value>,
}

/// A session's accumulated diff awaiting review (or its history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PendingChange {
    pub id: ChangeId,
    pub session_id: SessionId,
    pub task_id: Option<TaskId>,
    pub agent: Option<String>,
    /// The unified diff (binary-safe); left out of frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub diff: Option<String>,
    #[ts(type = "number")]
    pub files_changed: u64,
    #[ts(type = "number")]
    pub insertions: u64,
    #[ts(type = "number")]
    pub deletions: u64,
    pub status: ChangeStatus,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}
