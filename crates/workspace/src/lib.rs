//! The workspace: session worktrees, their commits and diffs, applying a reviewed diff to the project, and
//! the path guard every agent path goes through. Git runs as argument vectors with repo-planted programs
//! (fsmonitor, hooks, external diff, pagers) neutralised. Knows nothing of the database, HTTP or agents.

mod beneath;
mod change;
mod error;
mod git;
mod guard;
mod patch;
mod review;
mod worktree;

pub use beneath::{DirEntry, EntryKind, WorktreeDir};
pub use change::{ChangeStats, apply_to_project, commit_turn, diff_since, reset_to};
pub use error::WorkspaceError;
pub use git::Git;
pub use guard::resolve_in_worktree;
pub use patch::{
    FileChangeKind, LineKind, Patch, PatchFile, PatchHunk, PatchLine, Selection, SelectionError,
};
pub use review::{
    advance_base, branch_in_project, commit_to_project, patch_stats, read_blob, revert_in_worktree,
};
pub use worktree::{
    WORKTREE_LOCK_FILE, Worktree, base_ref, create_worktree, create_worktree_at, project_head,
    prune_worktrees, remove_worktree,
};
