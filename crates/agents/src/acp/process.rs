//! An agent process: spawned in the worktree, in its own process group, with a filtered environment (no
//! boocode secrets), stderr logged with its last lines kept for error messages. Shutdown closes stdin,
//! then SIGTERM, then SIGKILL to the whole group, so npm launchers and re-spawning CLIs leave no orphans.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boocode_protocol::AgentHome;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

use super::rpc::{Incoming, RpcConnection};

const STDERR_LINES: usize = 40;

/// How to launch one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    pub id: String,
    pub label: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Said when the command is missing.
    pub install_hint: Option<String>,
    /// Files written into the agent's private home before it starts (its settings), relative paths.
    /// Never written into the user's own home.
    pub home_files: Vec<(String, String)>,
    /// Which home it runs with.
    pub home: AgentHome,
    /// The user's home directory, for `AgentHome::User` (without one, the private home is used).
    pub user_home: Option<PathBuf>,
}

impl AgentSpec {
    /// The home directory the agent runs with, and whether it is boocode's private one.
    pub fn home_dir(&self, data_dir: &Path) -> (PathBuf, bool) {
        match (&self.home, &self.user_home) {
            (AgentHome::User, Some(home)) => (home.clone(), false),
            _ => (agent_home(data_dir, &self.id), true),
        }
    }
}

/// Why an agent could not be started.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SpawnError {
    #[error("{label} is not installed (`{command}` was not found){}", hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default())]
    NotInstalled {
        label: String,
        command: String,
        hint: Option<String>,
    },
    #[error("could not start {label}: {message}")]
    Failed { label: String, message: String },
}

/// A running agent and its JSON-RPC connection.
pub struct AgentProcess {
    child: Child,
    pid: u32,
    stderr: StderrTail,
    pub conn: RpcConnection,
}

/// Variables an agent may inherit; everything else (boocode's token, database URL…) is withheld.
pub(crate) const INHERITED: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "NODE_EXTRA_CA_CERTS",
];

/// The user's own XDG directories, passed on to an agent that runs in the user's home.
const USER_XDG: &[&str] = &[
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
];

impl AgentProcess {
    /// Starts `spec` in `cwd`; its private home is `home`.
    pub fn spawn(
        spec: &AgentSpec,
        cwd: &Path,
        home: &Path,
    ) -> Result<(Self, tokio::sync::mpsc::UnboundedReceiver<Incoming>), SpawnError> {
        let failed = |message: String| SpawnError::Failed {
            label: spec.label.clone(),
            message,
        };
        let mut cmd = isolated_command(spec, &spec.args, cwd, home)?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| spawn_error(spec, &e))?;
        let pid = child.id().unwrap_or(0);
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(failed("no stdio pipes".into()));
        };
        let tail = keep_stderr_tail(stderr, &spec.id);
        let (conn, incoming) = RpcConnection::start(stdin, stdout, &spec.id);
        tracing::info!(agent = %spec.id, pid, cwd = %cwd.display(), "agent started");
        Ok((
            Self {
                child,
                pid,
                stderr: tail,
                conn,
            },
            incoming,
        ))
    }

    /// The process (and process group) id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The last lines the agent wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        tail_text(&self.stderr)
    }

    /// Why the process is gone, if it is: its exit code or signal and its last stderr lines.
    pub async fn exit_report(&mut self) -> String {
        let status = tokio::time::timeout(Duration::from_millis(500), self.child.wait()).await;
        let code = match status {
            Ok(Ok(s)) => match s.code() {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".into(),
            },
            _ => "no exit status".into(),
        };
        let tail = self.stderr_tail();
        if tail.is_empty() {
            code
        } else {
            format!("{code}; stderr:\n{tail}")
        }
    }

    /// Ends the agent: stdin closed, then SIGTERM, then SIGKILL to its group; reaped.
    pub async fn shutdown(mut self) {
        self.conn.close_input();
        if tokio::time::timeout(Duration::from_secs(1), self.child.wait())
            .await
            .is_ok()
        {
            signal_group(self.pid, libc::SIGKILL);
            return;
        }
        signal_group(self.pid, libc::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            signal_group(self.pid, libc::SIGKILL);
            let _ = self.child.wait().await;
        } else {
            // Leftover children of the group go too.
            signal_group(self.pid, libc::SIGKILL);
        }
        tracing::info!(pid = self.pid, "agent stopped");
    }
}

/// The last lines a process wrote to stderr, kept as it writes them.
pub(crate) type StderrTail = Arc<Mutex<VecDeque<String>>>;

/// Logs `stderr` line by line (debug) and keeps its last lines.
pub(crate) fn keep_stderr_tail(
    stderr: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    label: &str,
) -> StderrTail {
    let tail: StderrTail = Arc::default();
    let sink = tail.clone();
    let label = label.to_owned();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::debug!(agent = %label, "stderr: {line}");
            if let Ok(mut t) = sink.lock() {
                if t.len() == STDERR_LINES {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    });
    tail
}

/// The kept stderr lines as one text.
pub(crate) fn tail_text(tail: &StderrTail) -> String {
    tail.lock()
        .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// `spec`'s program with `args`, in `cwd`, in its own process group, with its home (the private one
/// gets its settings files written there; the user's own is used as it is, with the user's XDG
/// directories) and only the inherited variables plus its own: never boocode's secrets.
pub(crate) fn isolated_command(
    spec: &AgentSpec,
    args: &[String],
    cwd: &Path,
    home: &Path,
) -> Result<Command, SpawnError> {
    let failed = |message: String| SpawnError::Failed {
        label: spec.label.clone(),
        message,
    };
    // `home` is the user's own only when it is the spec's user home (see `AgentSpec::home_dir`): it is
    // used as it is, with the user's XDG directories; a private home gets its layout and settings files.
    let users_own = spec.home == AgentHome::User && spec.user_home.as_deref() == Some(home);
    let mut homes: Vec<(String, std::ffi::OsString)> = vec![("HOME".into(), home.into())];
    if users_own {
        homes.extend(
            USER_XDG
                .iter()
                .filter_map(|k| std::env::var_os(k).map(|v| ((*k).to_owned(), v))),
        );
    } else {
        prepare_private_home(spec, home).map_err(failed)?;
        for (key, dir) in [
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_STATE_HOME", ".local/state"),
        ] {
            homes.push((key.into(), home.join(dir).into()));
        }
    }
    let mut cmd = Command::new(&spec.command);
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(
            INHERITED
                .iter()
                .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
        )
        .envs(homes)
        .envs(&spec.env)
        .process_group(0)
        .kill_on_drop(true);
    Ok(cmd)
}

/// Creates a private home's directories and writes the agent's settings files into it.
fn prepare_private_home(spec: &AgentSpec, home: &Path) -> Result<(), String> {
    for dir in ["", ".config", ".cache", ".local/share", ".local/state"] {
        std::fs::create_dir_all(home.join(dir))
            .map_err(|e| format!("creating {}: {e}", home.display()))?;
    }
    for (relative, content) in &spec.home_files {
        let target = home.join(relative);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        std::fs::write(&target, content)
            .map_err(|e| format!("writing {}: {e}", target.display()))?;
    }
    Ok(())
}

/// A missing program is "not installed" (with the install hint); anything else a start failure.
pub(crate) fn spawn_error(spec: &AgentSpec, e: &std::io::Error) -> SpawnError {
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            SpawnError::NotInstalled {
                label: spec.label.clone(),
                command: spec.command.clone(),
                hint: spec.install_hint.clone(),
            }
        }
        _ => SpawnError::Failed {
            label: spec.label.clone(),
            message: e.to_string(),
        },
    }
}

/// Signals the process group `pid` leads (spawned with `process_group(0)`, so pgid == pid).
#[allow(unsafe_code)]
pub(crate) fn signal_group(pid: u32, signal: i32) {
    let Ok(pgid) = i32::try_from(pid) else { return };
    if pgid > 1 {
        // SAFETY: killpg takes plain integers and has no memory-safety preconditions.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

/// Where an agent keeps its private home under the data dir.
pub fn agent_home(data_dir: &Path, agent: &str) -> PathBuf {
    data_dir.join("agents").join(agent).join("home")
}
