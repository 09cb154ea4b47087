//! Running git safely: an argument vector (never a shell string), no prompts, no system config, and
//! programs a repository could plant for us to run switched off: `core.fsmonitor`, hooks (the hooks path
//! is `/dev/null`, a directory no one can create hooks in), external diff and text conversion, pagers, and
//! every filter (clean/smudge/process) and merge driver named in any config git reads for the repository
//! (see `neutralised_drivers`). docs/ARCHITECTURE.md §13.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::error::WorkspaceError;

/// The identity of boocode's own commits in worktrees (docs/ARCHITECTURE.md §5.1).
pub const COMMIT_NAME: &str = "boocode";
/// See `COMMIT_NAME`.
pub const COMMIT_EMAIL: &str = "boocode@localhost";

/// Git in one directory.
#[derive(Debug, Clone)]
pub struct Git {
    dir: PathBuf,
    /// The repository's drivers to switch off, read once per `Git` (one operation's few calls).
    drivers: std::sync::Arc<tokio::sync::OnceCell<Vec<String>>>,
    /// A private index to stage into instead of the repository's (building a commit off to the side).
    index_file: Option<PathBuf>,
    /// Commit as the repository's configured user rather than as boocode (commits in the user's project).
    user_identity: bool,
}

/// The settings every git call of ours carries.
const SAFE_CONFIG: &[&str] = &[
    "core.fsmonitor=false",
    // Not a directory, so `<hooksPath>/<hook>` never exists: no hook can be planted, nothing is left
    // behind in a temp dir.
    "core.hooksPath=/dev/null",
    "core.pager=cat",
    "diff.external=",
    "core.editor=true",
    "credential.helper=",
    "commit.gpgsign=false",
    "protocol.allow=never",
];

/// What replaces a repository's own merge driver: git's built-in 3-way text merge, a fixed command line
/// with only git's own temp-file placeholders, so a conflict is still a conflict.
const BUILTIN_MERGE: &str = "git merge-file --marker-size=%L %A %O %B";

impl Git {
    /// Git working in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            drivers: std::sync::Arc::default(),
            index_file: None,
            user_identity: false,
        }
    }

    /// The same git, staging into `index` (a file git creates) instead of the repository's index.
    pub fn with_index_file(&self, index: impl Into<PathBuf>) -> Self {
        Self {
            index_file: Some(index.into()),
            ..self.clone()
        }
    }

    /// The same git, committing as the repository's configured user (boocode's identity stays the
    /// fallback when none is configured).
    pub fn as_user(&self) -> Self {
        Self {
            user_identity: true,
            ..self.clone()
        }
    }

    /// The directory git runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn base_command(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.dir);
        for c in SAFE_CONFIG {
            cmd.arg("-c").arg(c);
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_CONFIG_PARAMETERS")
            .env_remove("GIT_CONFIG_COUNT")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// The drivers configured for this repository (in its own, the user's or an included config),
    /// switched off: filters emptied and made optional, merge drivers replaced by git's own merge, diff
    /// drivers' commands and text conversions emptied. Reading config runs nothing.
    async fn neutralised_drivers(&self) -> Result<Vec<String>, WorkspaceError> {
        let out = self
            .base_command()
            .args([
                "config",
                "--null",
                "--name-only",
                "--get-regexp",
                r"^(filter|merge|diff)\..*\.(clean|smudge|process|required|driver|command|textconv)$",
            ])
            .output()
            .await
            .map_err(|e| WorkspaceError::io("cannot run git (is it installed?)", e))?;
        // Exit 1 is "no such settings"; outside a repository there is nothing to neutralise either.
        Ok(neutralising_settings(&String::from_utf8_lossy(&out.stdout)))
    }

    async fn command(&self, args: &[&str]) -> Result<Command, WorkspaceError> {
        let drivers = self
            .drivers
            .get_or_try_init(|| self.neutralised_drivers())
            .await?;
        let mut cmd = self.base_command();
        for setting in drivers {
            cmd.arg("-c").arg(setting);
        }
        cmd.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        if let Some(index) = &self.index_file {
            cmd.env("GIT_INDEX_FILE", index);
        }
        if !self.user_identity {
            cmd.env("GIT_AUTHOR_NAME", COMMIT_NAME)
                .env("GIT_AUTHOR_EMAIL", COMMIT_EMAIL)
                .env("GIT_COMMITTER_NAME", COMMIT_NAME)
                .env("GIT_COMMITTER_EMAIL", COMMIT_EMAIL);
        }
        Ok(cmd)
    }

    /// Runs git and returns stdout as bytes; a non-zero exit is an error carrying stderr.
    pub async fn run_bytes(&self, args: &[&str]) -> Result<Vec<u8>, WorkspaceError> {
        let out = self
            .command(args)
            .await?
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
            .await?
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

/// `-c` settings that switch off every driver named in `names` (NUL-separated config keys such as
/// `filter.lfs.clean`): a driver's name is the part between the section and the last key.
fn neutralising_settings(names: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for key in names.split(['\0', '\n']).filter(|k| !k.is_empty()) {
        let Some((section, rest)) = key.split_once('.') else {
            continue;
        };
        let Some((name, _)) = rest.rsplit_once('.') else {
            continue;
        };
        if !seen.insert((section.to_ascii_lowercase(), name.to_owned())) {
            continue;
        }
        match section.to_ascii_lowercase().as_str() {
            "filter" => {
                for k in ["clean", "smudge", "process"] {
                    out.push(format!("filter.{name}.{k}="));
                }
                out.push(format!("filter.{name}.required=false"));
            }
            "merge" => out.push(format!("merge.{name}.driver={BUILTIN_MERGE}")),
            "diff" => {
                out.push(format!("diff.{name}.command="));
                out.push(format!("diff.{name}.textconv="));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_driver_is_switched_off() {
        let got = neutralising_settings(
            "filter.lfs.clean\0filter.lfs.smudge\0merge.my.odd.name.driver\0diff.x.textconv\0",
        );
        assert_eq!(
            got,
            [
                "filter.lfs.clean=",
                "filter.lfs.smudge=",
                "filter.lfs.process=",
                "filter.lfs.required=false",
                &format!("merge.my.odd.name.driver={BUILTIN_MERGE}"),
                "diff.x.command=",
                "diff.x.textconv=",
            ]
        );
        assert!(neutralising_settings("").is_empty());
    }
}
