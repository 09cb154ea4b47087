//! Session worktrees (docs/ARCHITECTURE.md §8): `<worktrees dir>/<session id>` on branch `boocode/<session id>`,
//! from the project's HEAD. The server chooses both names; a session id that is not a plain id is refused
//! rather than trusted into a path or ref (docs/ARCHITECTURE.md §13).

use std::path::{Path, PathBuf};

use crate::error::WorkspaceError;
use crate::git::Git;

/// A session's worktree as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worktree {
    pub path: PathBuf,
    pub branch: String,
    pub base_commit: String,
}

fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.starts_with('-')
}

/// Checks `project` is a git work tree with at least one commit; returns its HEAD.
pub async fn project_head(project: &Path) -> Result<String, WorkspaceError> {
    if !project.join(".git").exists() {
        return Err(WorkspaceError::NotARepository(project.to_owned()));
    }
    Git::new(project)
        .head()
        .await?
        .ok_or_else(|| WorkspaceError::NoCommits(project.to_owned()))
}

/// One lock per repository: `git worktree add` takes repository-wide locks, so creations in one process
/// are serialised (other processes are covered by retrying git's lock errors).
fn repo_lock(project: &Path) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::OnceLock<
        std::sync::Mutex<
            std::collections::HashMap<PathBuf, std::sync::Arc<tokio::sync::Mutex<()>>>,
        >,
    > = std::sync::OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    match locks.lock() {
        Ok(mut map) => map.entry(project.to_path_buf()).or_default().clone(),
        Err(_) => std::sync::Arc::default(),
    }
}

/// How long a creation waits for another process's `git worktree add` on the same repository.
const CROSS_PROCESS_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Name of the lock file, beside git's own locks in the repository's `.git` directory.
pub const WORKTREE_LOCK_FILE: &str = "boocode-worktree.lock";

/// Serialises worktree creation with other processes on this machine (several workers sharing a queue):
/// an exclusive `flock` on `.git/boocode-worktree.lock`, released when the returned handle drops. A
/// project whose `.git` is not a directory (itself a linked worktree) gets no lock; the retries below
/// still cover it.
async fn cross_process_lock(project: &Path) -> Result<Option<std::fs::File>, WorkspaceError> {
    let git_dir = project.join(".git");
    if !git_dir.is_dir() {
        return Ok(None);
    }
    let path = git_dir.join(WORKTREE_LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| WorkspaceError::io(format!("opening {}", path.display()), e))?;
    let started = std::time::Instant::now();
    loop {
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Some(file)),
            Err(rustix::io::Errno::WOULDBLOCK) if started.elapsed() < CROSS_PROCESS_WAIT => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => {
                return Err(WorkspaceError::io(
                    format!("locking {}", path.display()),
                    e.into(),
                ));
            }
        }
    }
}

/// Git failures that mean another process was changing the repository's shared state at the same time
/// (ref locks, or `git worktree add` racing over `.git/worktrees/<id>/locked` and `commondir`): retried.
fn is_lock_contention(e: &WorkspaceError) -> bool {
    matches!(e, WorkspaceError::Git { stderr, .. }
        if stderr.contains(".lock")
            || stderr.contains("File exists")
            || stderr.contains("cannot lock ref")
            || stderr.contains("/locked")
            || stderr.contains("commondir"))
}

/// Runs a git command, retrying while another process holds the repository's locks.
async fn run_retrying(git: &Git, args: &[&str]) -> Result<String, WorkspaceError> {
    let mut delay = std::time::Duration::from_millis(50);
    for _ in 0..6 {
        match git.run(args).await {
            Err(e) if is_lock_contention(&e) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    git.run(args).await
}

/// Creates the worktree of `session_id` from the project's HEAD. A session branch left behind (a crash
/// between creating it and recording the worktree) is reused rather than refused.
pub async fn create_worktree(
    project: &Path,
    worktrees_dir: &Path,
    session_id: &str,
) -> Result<Worktree, WorkspaceError> {
    create_worktree_at(project, worktrees_dir, session_id, None).await
}

/// Like `create_worktree`, from `base` (a commit of the project) instead of HEAD: an arena's
/// contenders all start from the same commit even if HEAD moves while they are set up.
pub async fn create_worktree_at(
    project: &Path,
    worktrees_dir: &Path,
    session_id: &str,
    base: Option<&str>,
) -> Result<Worktree, WorkspaceError> {
    if !plain_id(session_id) {
        return Err(WorkspaceError::OutsideWorktree {
            path: session_id.to_owned(),
            reason: "not a session id",
        });
    }
    let head = match base {
        Some(commit) => commit.to_owned(),
        None => project_head(project).await?,
    };
    std::fs::create_dir_all(worktrees_dir)
        .map_err(|e| WorkspaceError::io(format!("creating {}", worktrees_dir.display()), e))?;
    let path = worktrees_dir.join(session_id);
    let branch = format!("boocode/{session_id}");
    let git = Git::new(project);
    let lock = repo_lock(project);
    let _held = lock.lock().await;
    let _across_processes = cross_process_lock(project).await?;
    if path.exists() {
        let _ = std::fs::remove_dir_all(&path);
    }
    let _ = run_retrying(&git, &["worktree", "prune"]).await;
    let target = path.to_string_lossy().into_owned();
    let existing = git
        .run(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ])
        .await
        .ok();
    match existing.filter(|sha| !sha.is_empty()) {
        Some(_) => {
            // Reuse the leftover branch; its fork point from HEAD is the base of its diff.
            run_retrying(
                &git,
                &["worktree", "add", "--quiet", "--", &target, &branch],
            )
            .await?;
            let base = git
                .run(&["merge-base", &head, &branch])
                .await
                .unwrap_or_else(|_| head.clone());
            Ok(Worktree {
                path,
                branch,
                base_commit: base,
            })
        }
        None => {
            run_retrying(
                &git,
                &[
                    "worktree", "add", "--quiet", "-b", &branch, "--", &target, &head,
                ],
            )
            .await?;
            Ok(Worktree {
                path,
                branch,
                base_commit: head,
            })
        }
    }
}

/// Removes a worktree directory and its branch; a project that is gone only loses the directory.
pub async fn remove_worktree(
    project: &Path,
    path: &Path,
    branch: &str,
) -> Result<(), WorkspaceError> {
    let git = Git::new(project);
    if project.join(".git").exists() {
        let target = path.to_string_lossy().into_owned();
        if let Err(e) = git
            .run(&["worktree", "remove", "--force", "--force", "--", &target])
            .await
        {
            tracing::debug!(error = %e, "worktree remove failed; deleting the directory");
        }
    }
    if path.exists() {
        std::fs::remove_dir_all(path)
            .map_err(|e| WorkspaceError::io(format!("removing {}", path.display()), e))?;
    }
    if project.join(".git").exists() {
        let _ = git.run(&["worktree", "prune"]).await;
        let exists = git
            .run(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])
            .await
            .is_ok();
        if exists {
            git.run(&["branch", "-D", "--", branch]).await?;
        }
        let _ = git.run(&["update-ref", "-d", &base_ref(branch)]).await;
    }
    Ok(())
}

/// The ref that keeps a worktree's "last accepted" state alive when a partial accept built it beside the
/// branch (`advance_base`); removed with the worktree.
pub fn base_ref(branch: &str) -> String {
    format!("refs/boocode-bases/{branch}")
}

/// `git worktree prune` for a project, dropping records of worktrees whose directories are gone.
pub async fn prune_worktrees(project: &Path) -> Result<(), WorkspaceError> {
    if !project.join(".git").exists() {
        return Ok(());
    }
    Git::new(project)
        .run(&["worktree", "prune"])
        .await
        .map(|_| ())
}
