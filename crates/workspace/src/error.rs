//! Workspace errors, separating what the user must fix (not a repo, no commits, conflict, escape) from
//! git or I/O failures.

use std::path::PathBuf;

/// What can go wrong in the workspace.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("path {path:?} is outside the worktree: {reason}")]
    OutsideWorktree { path: String, reason: &'static str },
    #[error("{0} is not a git repository")]
    NotARepository(PathBuf),
    #[error(
        "the project at {0} has no commits yet; make a first commit before running coding tasks"
    )]
    NoCommits(PathBuf),
    #[error("the change does not apply to the project's working tree: {0}")]
    Conflict(String),
    /// Input the caller must fix (a branch name git refuses, say).
    #[error("{0}")]
    Invalid(String),
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl WorkspaceError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
