//! Arenas (docs/ARCHITECTURE.md §8): one input run by several contenders (agent, model, mode), each in its own session
//! and worktree from the same base commit, compared side by side; one is picked and goes through the
//! normal review path.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{ArenaId, ChangeId, ProjectId, SessionId, TaskId};
use crate::task::PendingChange;
use crate::task::TaskState;

/// Who runs the task in one lane of an arena.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct ContenderSpec {
    #[ts(optional = false)]
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode_id: Option<String>,
}

/// `POST /api/arenas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct CreateArenaRequest {
    pub project_id: ProjectId,
    pub input: String,
    /// 2 to 6 contenders.
    pub contenders: Vec<ContenderSpec>,
    /// A command run in each worktree after its turn (e.g. the project's tests), through `sh -c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub check: Option<String>,
    /// How long the check may run before it is killed (default 300 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub check_timeout_secs: Option<u64>,
}

/// `POST /api/arenas/{id}/pick`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct PickArenaRequest {
    /// The contender's index.
    pub contender: u32,
}

/// `running` until every contender finished, then `finished`; `picked` once one was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ArenaStatus {
    Running,
    Finished,
    Picked,
}

impl ArenaStatus {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Picked => "picked",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(Self::Running),
            "finished" => Some(Self::Finished),
            "picked" => Some(Self::Picked),
            _ => None,
        }
    }
}

/// What the check command did in one worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CheckResult {
    pub status: CheckStatus,
    pub exit_code: Option<i32>,
    /// The last lines of its output (stdout and stderr).
    pub output_tail: String,
    #[ts(type = "number")]
    pub duration_ms: u64,
}

/// How a contender's check command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Exit status 0.
    Passed,
    /// Any other exit status.
    Failed,
    /// Killed at the timeout.
    TimedOut,
    /// It could not be run (no worktree, no shell).
    Error,
}

/// One lane of an arena as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Contender {
    pub index: u32,
    pub agent: String,
    pub model: Option<String>,
    pub mode_id: Option<String>,
    pub session_id: SessionId,
    pub task_id: TaskId,
    pub state: TaskState,
    pub error: Option<String>,
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub tokens: Option<u64>,
    /// Time to the first token of the lane's reply (the last model round for a native agent).
    #[ts(type = "number | null")]
    pub ttft_ms: Option<u64>,
    /// Completion tokens per second of the reply, after its first token.
    pub tokens_per_second: Option<f64>,
    /// The contender's change (its diff included), once its turn changed something.
    pub change: Option<PendingChange>,
    pub check: Option<CheckResult>,
}

/// An arena with its contenders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Arena {
    pub id: ArenaId,
    pub project_id: ProjectId,
    pub input: String,
    pub check: Option<String>,
    pub base_commit: String,
    pub status: ArenaStatus,
    pub picked: Option<u32>,
    pub picked_change: Option<ChangeId>,
    pub created_at: DateTime<Utc>,
    pub contenders: Vec<Contender>,
}

/// One agent and model in a project's leaderboard (`GET /api/projects/{id}/leaderboard`): how it did over
/// the project's arenas — the answer to "which local model should I use for this repo?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LeaderboardEntry {
    pub agent: String,
    /// `None`: the agent's own default model.
    pub model: Option<String>,
    /// Arenas it raced in.
    pub arenas: u32,
    /// Arenas where it was picked.
    pub wins: u32,
    /// Lanes that completed their turn.
    pub completed: u32,
    pub checks_run: u32,
    pub checks_passed: u32,
    /// Median wall time of its completed lanes.
    #[ts(type = "number | null")]
    pub median_ms: Option<u64>,
    /// Median completion tokens per second where known.
    pub median_tokens_per_second: Option<f64>,
}
