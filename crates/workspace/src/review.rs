//! Taking part of a change, and landing a change the way the user works: the commits that let a review
//! accept some hunks (a new "last accepted" state built off to the side, never touching a working tree),
//! revert others in the session's worktree, or land the change in the project as a commit on its current
//! branch or on a new branch. All-or-nothing: a failure leaves the project as it was.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::change::{ChangeStats, parse_numstat, touched_paths};
use crate::error::WorkspaceError;
use crate::git::Git;

/// The size of a patch, as git counts it.
pub async fn patch_stats(dir: &Path, patch: &str) -> Result<ChangeStats, WorkspaceError> {
    if patch.trim().is_empty() {
        return Ok(ChangeStats::default());
    }
    let out = Git::new(dir)
        .run_with_input(&["apply", "--numstat", "-"], patch.as_bytes())
        .await?;
    Ok(parse_numstat(&out))
}

/// A private index file in the repository's git directory (not the shared temp dir), removed on drop.
struct ScratchIndex(PathBuf);

impl ScratchIndex {
    async fn new(git: &Git) -> Result<Self, WorkspaceError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = git.run(&["rev-parse", "--absolute-git-dir"]).await?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Ok(Self(
            Path::new(&dir).join(format!("boocode-index-{}-{n}", std::process::id())),
        ))
    }
}

impl Drop for ScratchIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A commit whose tree is `parent`'s with `patch` applied (3-way when the plain patch does not apply),
/// built in a scratch index: no working tree or branch moves. The commit is not referenced by anything.
async fn commit_beside(
    git: &Git,
    parent: &str,
    patch: &str,
    message: &str,
) -> Result<String, WorkspaceError> {
    let scratch = ScratchIndex::new(git).await?;
    let staged = git.with_index_file(&scratch.0);
    staged.run(&["read-tree", parent]).await?;
    let plain = staged
        .run_with_input(
            &["apply", "--cached", "--whitespace=nowarn", "-"],
            patch.as_bytes(),
        )
        .await;
    if plain.is_err() {
        staged.run(&["read-tree", parent]).await?;
        staged
            .run_with_input(
                &["apply", "--cached", "--3way", "--whitespace=nowarn", "-"],
                patch.as_bytes(),
            )
            .await
            .map_err(conflict)?;
    }
    let tree = staged.run(&["write-tree"]).await?;
    staged
        .run(&["commit-tree", &tree, "-p", parent, "-m", message])
        .await
}

fn conflict(e: WorkspaceError) -> WorkspaceError {
    match e {
        WorkspaceError::Git { stderr, .. } => WorkspaceError::Conflict(stderr),
        other => other,
    }
}

/// The new "last accepted" state of a worktree after part of its change was accepted: `base` plus
/// `patch`, kept reachable under `pin_ref` so garbage collection never takes it.
pub async fn advance_base(
    worktree: &Path,
    base: &str,
    patch: &str,
    pin_ref: &str,
) -> Result<String, WorkspaceError> {
    let git = Git::new(worktree);
    let commit = commit_beside(&git, base, patch, "boocode: accepted part of a change").await?;
    git.run(&["update-ref", pin_ref, &commit]).await?;
    Ok(commit)
}

/// Reverts `patch` in the worktree and commits that, so the agent's next turn sees it gone; returns the
/// new HEAD. A patch that no longer reverses cleanly is a conflict and changes nothing.
pub async fn revert_in_worktree(
    worktree: &Path,
    patch: &str,
    message: &str,
) -> Result<String, WorkspaceError> {
    let git = Git::new(worktree);
    git.run_with_input(
        &["apply", "-R", "--index", "--whitespace=nowarn", "-"],
        patch.as_bytes(),
    )
    .await
    .map_err(conflict)?;
    git.run(&["commit", "--quiet", "--no-verify", "-m", message])
        .await?;
    git.head()
        .await?
        .ok_or_else(|| WorkspaceError::Conflict("the worktree has no commits".into()))
}

/// Git in the project, committing as the user when they have an identity configured.
async fn project_git(project: &Path) -> Git {
    let git = Git::new(project);
    let name = git.run(&["config", "user.name"]).await.unwrap_or_default();
    let email = git.run(&["config", "user.email"]).await.unwrap_or_default();
    if name.is_empty() || email.is_empty() {
        git
    } else {
        git.as_user()
    }
}

/// Lands `patch` as one commit on the project's current branch (its working tree and index follow),
/// committing only the paths the patch touches. Staged changes or local edits in those paths are a
/// conflict: the commit would otherwise carry or clobber work that is not the change's.
pub async fn commit_to_project(
    project: &Path,
    patch: &str,
    message: &str,
) -> Result<String, WorkspaceError> {
    let git = project_git(project).await;
    let staged = git.run(&["diff", "--cached", "--name-only"]).await?;
    if !staged.is_empty() {
        return Err(WorkspaceError::Conflict(format!(
            "the project has staged changes; commit or unstage them first:\n{staged}"
        )));
    }
    let paths = touched_paths(&git, patch).await?;
    let mut status = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    status.extend(paths.iter().map(String::as_str));
    let dirty = git.run(&status).await?;
    if !dirty.is_empty() {
        return Err(WorkspaceError::Conflict(format!(
            "the project has local changes in files this change touches:\n{dirty}"
        )));
    }
    let head = git
        .head()
        .await?
        .ok_or_else(|| WorkspaceError::NoCommits(project.to_owned()))?;
    // Build the commit first: if the patch does not apply, nothing in the project has moved.
    let commit = commit_beside(&git, &head, patch, message).await?;
    let branch = git.run(&["symbolic-ref", "--quiet", "HEAD"]).await.ok();
    let target = branch.as_deref().unwrap_or("HEAD");
    git.run(&[
        "update-ref",
        "-m",
        "boocode: accept change",
        target,
        &commit,
        &head,
    ])
    .await
    .map_err(conflict)?;
    // The index and working tree follow the new commit for the touched paths only.
    let mut checkout = vec!["checkout", "--quiet", &commit, "--"];
    let present: Vec<String> = {
        let mut kept = Vec::new();
        for p in &paths {
            if git
                .run(&["cat-file", "-e", &format!("{commit}:{p}")])
                .await
                .is_ok()
            {
                kept.push(p.clone());
            } else {
                let _ = git
                    .run(&["rm", "--cached", "--quiet", "--ignore-unmatch", "--", p])
                    .await;
                let _ = std::fs::remove_file(project.join(p));
            }
        }
        kept
    };
    if !present.is_empty() {
        checkout.extend(present.iter().map(String::as_str));
        git.run(&checkout).await?;
    }
    Ok(commit)
}

/// Lands `patch` as one commit on a new branch `name` from the project's HEAD, without touching the
/// project's working tree or current branch. An existing branch or an invalid name is refused.
pub async fn branch_in_project(
    project: &Path,
    name: &str,
    patch: &str,
    message: &str,
) -> Result<String, WorkspaceError> {
    let git = project_git(project).await;
    if name.starts_with('-')
        || git
            .run(&["check-ref-format", "--branch", name])
            .await
            .is_err()
    {
        return Err(WorkspaceError::Invalid(format!(
            "{name:?} is not a valid branch name"
        )));
    }
    let full = format!("refs/heads/{name}");
    if git
        .run(&["rev-parse", "--verify", "--quiet", &full])
        .await
        .is_ok()
    {
        return Err(WorkspaceError::Conflict(format!(
            "a branch named {name:?} already exists"
        )));
    }
    let head = git
        .head()
        .await?
        .ok_or_else(|| WorkspaceError::NoCommits(project.to_owned()))?;
    let commit = commit_beside(&git, &head, patch, message).await?;
    // The all-zero old value makes the update fail if the branch appeared meanwhile.
    git.run(&[
        "update-ref",
        "-m",
        "boocode: accept change onto a new branch",
        &full,
        &commit,
        "0000000000000000000000000000000000000000",
    ])
    .await
    .map_err(conflict)?;
    Ok(commit)
}

/// A blob's content by its (possibly abbreviated) id, as the `index` line of a diff names it; `None`
/// when it is larger than `max` bytes. Ids are checked to be hex, so nothing else reaches git.
pub async fn read_blob(
    repo: &Path,
    blob: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, WorkspaceError> {
    if !(4..=64).contains(&blob.len()) || !blob.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WorkspaceError::Invalid(format!(
            "{blob:?} is not a blob id"
        )));
    }
    let git = Git::new(repo);
    let object = format!("{blob}^{{blob}}");
    let size: u64 = git
        .run(&["cat-file", "-s", &object])
        .await?
        .parse()
        .unwrap_or(u64::MAX);
    if size > max {
        return Ok(None);
    }
    git.run_bytes(&["cat-file", "blob", &object])
        .await
        .map(Some)
}
