//! Running git safely: an argument vector (never a shell string), no prompts, no system config, and
//! programs a repository could plant for us to run switched off (`core.fsmonitor`, hooks, external
//! diff and text conversion, pagers). security.md rows 11–12.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::error::WorkspaceError;

/// The identity of boocode's own commits in worktrees (DESIGN.md §5.1).
pub const COMMIT_NAME: &str = "boocode";
/// See `COMMIT_NAME`.
pub const COMMIT_EMAIL: &str = "boocode@localhost";

/// Git in one directory.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    empty_hooks: PathBuf,
}

impl Git {
    /// Git working in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            empty_hooks: empty_hooks_dir(),
        }
    }

    /// The directory git runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.dir);
        let hooks = format!("core.hooksPath={}", self.empty_hooks.display());
        for c in [
            "core.fsmonitor=false",
            hooks.as_str(),
            "core.pager=cat",
            "diff.external=",
            "core.editor=true",
            "credential.helper=",
            "commit.gpgsign=false",
            "protocol.allow=never",
        ] {
            cmd.arg("-c").arg(c);
        }
        cmd.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", COMMIT_NAME)
            .env("GIT_AUTHOR_EMAIL", COMMIT_EMAIL)
            .env("GIT_COMMITTER_NAME", COMMIT_NAME)
            .env("GIT_COMMITTER_EMAIL", COMMIT_EMAIL)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs git and returns stdout as bytes; a non-zero exit is an error carrying stderr.
    pub async fn run_bytes(&self, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| WorkspaceError::io("cannot run git (is it installed?)", e))?;
        if !out.status.success() {
            return Err(failure(args, &out.stderr));
        }
        Ok(out.stdout)
    }

    /// Runs git and returns stdout as text, trimmed.
    pub async fn run(&self, args: &[&str]) -> Result<String, WorkspaceError> {
        let out = self.run_bytes(args).await?;
        Ok(String::from_utf8_lossy(&out).trim().to_owned())
    }

    /// Runs git with `input` on stdin.
    pub async fn run_with_input(
        &self,
        args: &[&str],
        input: &[u8],
    ) -> Result<String, WorkspaceError> {
        use tokio::io::AsyncWriteExt as _;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| WorkspaceError::io("cannot run git (is it installed?)", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input)
                .await
                .map_err(|e| WorkspaceError::io("writing to git", e))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| WorkspaceError::io("waiting for git", e))?;
        if !out.status.success() {
            return Err(failure(args, &out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// The commit HEAD points at, or `None` in a repository without commits.
    pub async fn head(&self) -> Result<Option<String>, WorkspaceError> {
        match self
            .run(&["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
            .await
        {
            Ok(sha) if !sha.is_empty() => Ok(Some(sha)),
            Ok(_) => Ok(None),
            Err(WorkspaceError::Git { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A failed git run, with the (bounded) stderr that says why.
fn failure(args: &[&str], stderr: &[u8]) -> WorkspaceError {
    WorkspaceError::Git {
        args: args.join(" "),
        stderr: String::from_utf8_lossy(stderr)
            .trim()
            .chars()
            .take(2000)
            .collect(),
    }
}

/// An empty directory used as `core.hooksPath`, so no repository hook ever runs for our calls.
fn empty_hooks_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("boocode-no-hooks-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}
