//! Reviewing a change on the wire: a change read as files and hunks with stable ids, and the requests
//! that accept or reject all of it or a selection, landing it the way the user works.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use chrono::{DateTime, Utc};

use crate::ids::{ChangeId, CommentId, SessionId, TaskId};
use crate::task::PendingChange;

/// A hunk's id: derived from its file and lines, so it survives another hunk being accepted, and
/// meaningful only together with the change it was read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(transparent)]
#[ts(type = "string")]
pub struct HunkId(pub String);

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
}

/// A line of a hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DiffLineKind {
    Context,
    Added,
    Removed,
}

/// A line with its number on each side it exists on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiffLine {
    pub kind: DiffLineKind,
    pub old_line: Option<u32>,
    pub new_line: Option<u32>,
    pub text: String,
    /// The file ends here without a newline.
    #[serde(default)]
    pub no_newline: bool,
}

/// A hunk of a file's diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DiffHunk {
    pub id: HunkId,
    /// The `@@ -a,b +c,d @@ context` line.
    pub header: String,
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    pub lines: Vec<DiffLine>,
}

/// A file of a change. Binary files and mode-only changes have no hunks and are taken whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChangeFile {
    pub path: String,
    /// The name before a rename or copy.
    pub old_path: Option<String>,
    pub status: FileStatus,
    pub binary: bool,
    pub old_mode: Option<String>,
    pub new_mode: Option<String>,
    pub insertions: u32,
    pub deletions: u32,
    pub hunks: Vec<DiffHunk>,
}

/// `GET /api/changes/{id}`: the change (with its raw diff) read as files and hunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChangeDetail {
    #[serde(flatten)]
    pub change: PendingChange,
    pub files: Vec<ChangeFile>,
}

/// Where an accepted change lands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AcceptMode {
    /// The project's working tree, uncommitted.
    #[default]
    Worktree,
    /// One commit on the project's current branch (the working tree follows).
    Commit,
    /// One commit on a new branch from the project's HEAD; the working tree is untouched.
    Branch,
}

/// `POST /api/changes/{id}/accept`. Without `files` and `hunks` the whole change is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct AcceptChangeRequest {
    #[serde(default)]
    pub files: Option<Vec<String>>,
    #[serde(default)]
    pub hunks: Option<Vec<HunkId>>,
    #[serde(default)]
    pub mode: Option<AcceptMode>,
    /// The commit message (commit and branch modes).
    #[serde(default)]
    pub message: Option<String>,
    /// The new branch's name (branch mode).
    #[serde(default)]
    pub branch: Option<String>,
}

/// `POST /api/changes/{id}/reject`. Without `files` and `hunks` the whole change is rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct RejectChangeRequest {
    #[serde(default)]
    pub files: Option<Vec<String>>,
    #[serde(default)]
    pub hunks: Option<Vec<HunkId>>,
}

/// What an accept or reject did: the resolved change (only the part taken, when a selection was
/// given), the change that remains pending, and where an accepted change landed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChangeDecision {
    #[serde(flatten)]
    pub change: PendingChange,
    /// What is still pending after a partial decision (with a new id).
    pub remaining: Option<PendingChange>,
    /// The commit made in the project (commit and branch modes).
    pub commit: Option<String>,
    /// The branch it landed on (branch mode).
    pub branch: Option<String>,
}

/// Which side of a diff a comment's line number counts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CommentSide {
    /// The file after the change (added and unchanged lines).
    #[default]
    New,
    /// The file before it (removed lines).
    Old,
}

impl CommentSide {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Old => "old",
        }
    }
    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "new" => Some(Self::New),
            "old" => Some(Self::Old),
            _ => None,
        }
    }
}

/// `POST /api/changes/{id}/comments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct AddCommentRequest {
    pub path: String,
    pub line: u32,
    pub text: String,
    #[serde(default)]
    pub side: Option<CommentSide>,
}

/// A reviewer's comment on a line: kept with the line's text, so later diffs can show it where that
/// line still is, and sent to the agent by "request changes".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ReviewComment {
    pub id: CommentId,
    pub session_id: SessionId,
    /// The change it was written on.
    pub change_id: ChangeId,
    pub path: String,
    pub line: u32,
    pub side: CommentSide,
    /// The line's text when the comment was written.
    pub quoted: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// When "request changes" sent it, and the turn it went to.
    pub sent_at: Option<DateTime<Utc>>,
    pub task_id: Option<TaskId>,
    /// Where the line is in the change being viewed (`GET /api/changes/{id}/comments`); `None` when it is
    /// no longer among the diff's lines.
    #[serde(default)]
    pub anchor_line: Option<u32>,
}

/// `POST /api/changes/{id}/request-changes`: the unsent comments go to the same agent session as its next
/// turn, with an optional note before them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct RequestChangesRequest {
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /api/changes/{id}/commit-message`: a draft for the user to edit, and the model that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CommitMessageDraft {
    pub message: String,
    pub model: String,
}
