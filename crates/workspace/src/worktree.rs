//! Session worktrees (DESIGN.md §8): `<worktrees dir>/<session id>` on branch `boocode/<session id>`,
//! from the project's HEAD. The server chooses both names; a session id that is not a plain id is refused
//! rather than trusted into a path or ref (security.md row 13).

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

/// Creates the worktree of `session_id` from the project's HEAD.
pub async fn create_worktree(
    project: &Path,
    worktrees_dir: &Path,
    session_id: &str,
) -> Result<Worktree, WorkspaceError> {
    if !plain_id(session_id) {
        return Err(WorkspaceError::OutsideWorktree {
            path: session_id.to_owned(),
            reason: "not a session id",
        });
    }
    let head = project_head(project).await?;
    std::fs::create_dir_all(worktrees_dir)
        .map_err(|e| WorkspaceError::io(format!("creating {}", worktrees_dir.display()), e))?;
    let path = worktrees_dir.join(session_id);
    let branch = format!("boocode/{session_id}");
    let git = Git::new(project);
    // A leftover from a crash between `worktree add` and recording it: start clean.
    if path.exists() {
        remove_worktree(project, &path, &branch).await?;
    }
    let _ = git.run(&["worktree", "prune"]).await;
    let target = path.to_string_lossy().into_owned();
    git.run(&[
        "worktree", "add", "--quiet", "-b", &branch, "--", &target, &head,
    ])
    .await?;
    Ok(Worktree {
        path,
        branch,
        base_commit: head,
    })
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
    }
    Ok(())
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
