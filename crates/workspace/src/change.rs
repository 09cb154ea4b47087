//! A turn's result as a reviewable change: commit everything in the worktree, diff it against the last
//! accepted state (binary-safe), apply a stored diff to the project's working tree (3-way where possible,
//! all-or-nothing), or reset the worktree on reject.

use std::path::Path;

use crate::error::WorkspaceError;
use crate::git::Git;

/// Size of a diff.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeStats {
    pub files_changed: u64,
    pub insertions: u64,
    pub deletions: u64,
}

/// Commits everything in the worktree; `Some(head)` when there was something to commit.
pub async fn commit_turn(worktree: &Path, message: &str) -> Result<Option<String>, WorkspaceError> {
    let git = Git::new(worktree);
    git.run(&["add", "--all"]).await?;
    if git.run(&["status", "--porcelain"]).await?.is_empty() {
        return Ok(None);
    }
    git.run(&["commit", "--quiet", "--no-verify", "-m", message])
        .await?;
    git.head().await
}

/// The diff from `base` to the worktree's HEAD, with its stats and the HEAD it ends at.
pub async fn diff_since(
    worktree: &Path,
    base: &str,
) -> Result<(String, ChangeStats, String), WorkspaceError> {
    let git = Git::new(worktree);
    let head = git.head().await?.unwrap_or_else(|| base.to_owned());
    let range = [base, head.as_str()];
    let diff = git
        .run_bytes(&[
            "diff",
            "--binary",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            range[0],
            range[1],
            "--",
        ])
        .await?;
    let numstat = git
        .run(&[
            "diff",
            "--numstat",
            "--no-ext-diff",
            range[0],
            range[1],
            "--",
        ])
        .await?;
    Ok((
        String::from_utf8_lossy(&diff).into_owned(),
        parse_numstat(&numstat),
        head,
    ))
}

pub(crate) fn parse_numstat(numstat: &str) -> ChangeStats {
    let mut stats = ChangeStats::default();
    for line in numstat.lines().filter(|l| !l.trim().is_empty()) {
        let mut cols = line.split('\t');
        stats.files_changed += 1;
        stats.insertions += cols.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        stats.deletions += cols.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    }
    stats
}

/// Files a diff touches (old and new names), as `git apply --numstat` reads them.
pub(crate) async fn touched_paths(git: &Git, diff: &str) -> Result<Vec<String>, WorkspaceError> {
    let out = git
        .run_with_input(&["apply", "--numstat", "-z", "-"], diff.as_bytes())
        .await?;
    // With -z: "added\tdeleted\tpath\0" or, for renames, "added\tdeleted\t\0old\0new\0".
    let mut paths = Vec::new();
    for field in out.split('\0').filter(|f| !f.is_empty()) {
        let name = field.rsplit('\t').next().unwrap_or(field);
        if !name.is_empty() && !field.ends_with('\t') {
            paths.push(name.to_owned());
        } else if !field.contains('\t') {
            paths.push(field.to_owned());
        }
    }
    Ok(paths)
}

/// Applies `diff` to the project's working tree, or fails with `Conflict` and changes nothing.
pub async fn apply_to_project(project: &Path, diff: &str) -> Result<(), WorkspaceError> {
    if diff.trim().is_empty() {
        return Ok(());
    }
    let git = Git::new(project);
    if git
        .run_with_input(
            &["apply", "--check", "--whitespace=nowarn", "-"],
            diff.as_bytes(),
        )
        .await
        .is_ok()
    {
        git.run_with_input(&["apply", "--whitespace=nowarn", "-"], diff.as_bytes())
            .await?;
        return Ok(());
    }
    // A 3-way merge can succeed where the plain patch does not, but it writes conflict markers when it
    // fails: only try it on paths without local changes, and restore them if it fails.
    let paths = touched_paths(&git, diff).await?;
    let mut args = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    args.extend(paths.iter().map(String::as_str));
    let dirty = git.run(&args).await?;
    if !dirty.is_empty() {
        return Err(WorkspaceError::Conflict(format!(
            "the project has local changes in files this change touches:\n{dirty}"
        )));
    }
    match git
        .run_with_input(
            &["apply", "--3way", "--whitespace=nowarn", "-"],
            diff.as_bytes(),
        )
        .await
    {
        Ok(_) => {
            let mut reset = vec!["reset", "--quiet", "--"];
            reset.extend(paths.iter().map(String::as_str));
            let _ = git.run(&reset).await;
            Ok(())
        }
        Err(e) => {
            restore(&git, project, &paths).await;
            Err(WorkspaceError::Conflict(match e {
                WorkspaceError::Git { stderr, .. } => stderr,
                other => other.to_string(),
            }))
        }
    }
}

/// Puts `paths` back to HEAD (tracked) or removes them (new), undoing a failed 3-way apply.
async fn restore(git: &Git, project: &Path, paths: &[String]) {
    for path in paths {
        let tracked = git
            .run(&["cat-file", "-e", &format!("HEAD:{path}")])
            .await
            .is_ok();
        if tracked {
            let _ = git.run(&["checkout", "HEAD", "--", path]).await;
        } else {
            let _ = git
                .run(&["rm", "--cached", "--quiet", "--ignore-unmatch", "--", path])
                .await;
            let _ = std::fs::remove_file(project.join(path));
        }
    }
}

/// Returns the worktree to `commit` (the last accepted state), dropping everything after it.
pub async fn reset_to(worktree: &Path, commit: &str) -> Result<(), WorkspaceError> {
    let git = Git::new(worktree);
    git.run(&["reset", "--quiet", "--hard", commit]).await?;
    git.run(&["clean", "-d", "--force", "--quiet"]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn numstat_counts_binary_files_without_lines() {
        let stats = super::parse_numstat("3\t1\ta.txt\n-\t-\timg.png\n");
        assert_eq!(
            (stats.files_changed, stats.insertions, stats.deletions),
            (2, 3, 1)
        );
    }
}
