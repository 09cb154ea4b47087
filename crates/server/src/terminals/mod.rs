//! BooTerm: the user's shell in a PTY, in a session's worktree or its project. Output goes to every
//! attached client and into a scrollback ring replayed on attach; input and resizes come from any of
//! them. The shell runs in its own process group (ended as a group) with boocode's secrets removed from
//! its environment.

use std::collections::{HashMap, VecDeque};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use boocode_protocol::SessionId;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};
use tokio::sync::broadcast;

mod archive;

pub use archive::{Archive, Kept, restart_marker};

/// Bytes kept for a client that attaches later.
pub const SCROLLBACK: usize = 256 * 1024;
/// Terminals a session may have open at once.
pub const PER_SESSION: usize = 8;

/// Variables never handed to a child boocode starts for the user (a shell, an arena's check command):
/// boocode's own secrets and configuration.
pub fn secret(key: &str) -> bool {
    key.starts_with("BOOCODE_") || key.starts_with("OPENCODE_SERVER_") || key == "DATABASE_URL"
}

/// boocode's environment without its secrets: what a child it starts for the user inherits.
pub fn user_environment() -> impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)> {
    std::env::vars_os().filter(|(k, _)| !secret(&k.to_string_lossy()))
}

/// Output or the end of it, as attached clients see it.
#[derive(Debug, Clone)]
pub enum TermEvent {
    Output(Arc<[u8]>),
    Exit,
}

/// One live terminal.
pub struct Terminal {
    pub id: String,
    pub session: SessionId,
    pub pid: u32,
    master: Mutex<Box<dyn MasterPty + Send>>,
    writer: Mutex<Box<dyn Write + Send>>,
    scrollback: Mutex<VecDeque<u8>>,
    events: broadcast::Sender<TermEvent>,
    exited: Mutex<bool>,
}

/// Why a terminal could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum TermError {
    #[error("rows and cols must both be between 1 and 1000")]
    BadSize,
    #[error("this session already has {PER_SESSION} terminals open")]
    TooMany,
    #[error("cannot start the shell {shell}: {message}")]
    Spawn { shell: String, message: String },
    #[error("the terminal's input is closed")]
    Closed,
}

impl Terminal {
    /// Everything in the scrollback and a subscription to what follows, atomically.
    pub fn attach(&self) -> (Vec<u8>, broadcast::Receiver<TermEvent>, bool) {
        let scrollback = self.scrollback.lock().unwrap_or_else(|e| e.into_inner());
        let rx = self.events.subscribe();
        let exited = *self.exited.lock().unwrap_or_else(|e| e.into_inner());
        (scrollback.iter().copied().collect(), rx, exited)
    }

    /// Whether the shell has exited.
    pub fn exited(&self) -> bool {
        *self.exited.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends keystrokes to the shell.
    pub fn write(&self, bytes: &[u8]) -> Result<(), TermError> {
        let mut w = self.writer.lock().map_err(|_| TermError::Closed)?;
        w.write_all(bytes)
            .and_then(|()| w.flush())
            .map_err(|_| TermError::Closed)
    }

    /// Changes the window size the shell sees.
    pub fn resize(&self, cols: u16, rows: u16) -> Result<(), TermError> {
        let size = checked_size(cols, rows)?;
        let master = self.master.lock().map_err(|_| TermError::Closed)?;
        master.resize(size).map_err(|_| TermError::Closed)
    }

    fn kill(&self) {
        if let Ok(pgid) = i32::try_from(self.pid)
            && pgid > 1
        {
            signal_group(pgid, libc::SIGHUP);
            signal_group(pgid, libc::SIGKILL);
        }
    }
}

#[allow(unsafe_code)]
fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: killpg takes plain integers and has no memory-safety preconditions.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

fn checked_size(cols: u16, rows: u16) -> Result<PtySize, TermError> {
    if cols == 0 || rows == 0 || cols > 1000 || rows > 1000 {
        return Err(TermError::BadSize);
    }
    Ok(PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    })
}

/// All terminals of this server.
#[derive(Clone, Default)]
pub struct Terminals {
    inner: Arc<Mutex<HashMap<String, Arc<Terminal>>>>,
    archive: Archive,
}

impl Terminals {
    /// Terminals whose directory and output are kept in `dir`, so they can come back after a restart.
    pub fn with_archive(dir: std::path::PathBuf) -> Self {
        Self {
            inner: Arc::default(),
            archive: Archive::at(dir),
        }
    }

    /// What is kept of a terminal of `session` that is no longer running here (after a restart).
    pub fn kept(&self, session: &SessionId, id: &str) -> Option<(Kept, Vec<u8>)> {
        self.archive
            .read(id)
            .filter(|(kept, _)| &kept.session == session)
    }

    /// Starts `shell` (the user's `$SHELL` when `None`) in `cwd` for `session`; `earlier` is output to
    /// show above it (a terminal brought back after a restart).
    pub fn open(
        &self,
        session: &SessionId,
        cwd: &Path,
        cols: u16,
        rows: u16,
        shell: Option<&str>,
        earlier: Vec<u8>,
    ) -> Result<Arc<Terminal>, TermError> {
        let size = checked_size(cols, rows)?;
        if self.for_session(session).len() >= PER_SESSION {
            return Err(TermError::TooMany);
        }
        let shell = shell
            .map(str::to_owned)
            .or_else(|| std::env::var("SHELL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "/bin/sh".into());
        let spawn_err = |message: String| TermError::Spawn {
            shell: shell.clone(),
            message,
        };
        let pair = native_pty_system()
            .openpty(size)
            .map_err(|e| spawn_err(e.to_string()))?;
        let mut cmd = CommandBuilder::new(&shell);
        cmd.cwd(cwd);
        cmd.env_clear();
        for (key, value) in user_environment() {
            cmd.env(key, value);
        }
        cmd.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| spawn_err(e.to_string()))?;
        // Reads only reach EOF once our copy of the slave side is gone.
        drop(pair.slave);
        let pid = child.process_id().unwrap_or(0);
        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| spawn_err(e.to_string()))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| spawn_err(e.to_string()))?;
        let (events, _) = broadcast::channel(1024);
        let id = format!("t{}", uuid::Uuid::now_v7().simple());
        let terminal = Arc::new(Terminal {
            id: id.clone(),
            session: session.clone(),
            pid,
            master: Mutex::new(pair.master),
            writer: Mutex::new(writer),
            scrollback: Mutex::new(VecDeque::from(earlier.clone())),
            events,
            exited: Mutex::new(false),
        });
        self.archive.open(
            &id,
            &Kept {
                session: session.clone(),
                cwd: cwd.to_path_buf(),
            },
            &earlier,
        );
        spawn_reader(terminal.clone(), reader, child, self.archive.clone());
        if let Ok(mut all) = self.inner.lock() {
            all.insert(id, terminal.clone());
        }
        tracing::info!(session = %session, pid, cwd = %cwd.display(), "terminal started");
        Ok(terminal)
    }

    /// A terminal of `session`, if it exists (another session's terminal is not found).
    pub fn get(&self, session: &SessionId, id: &str) -> Option<Arc<Terminal>> {
        let all = self.inner.lock().ok()?;
        all.get(id).filter(|t| &t.session == session).cloned()
    }

    fn for_session(&self, session: &SessionId) -> Vec<Arc<Terminal>> {
        self.inner
            .lock()
            .map(|all| {
                all.values()
                    .filter(|t| &t.session == session)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ends a terminal's process group and forgets it (and what was kept of it); `false` when it was
    /// neither running nor kept.
    pub fn close(&self, session: &SessionId, id: &str) -> bool {
        let removed = self.inner.lock().ok().and_then(|mut all| {
            let owned = all.get(id).is_some_and(|t| &t.session == session);
            if owned { all.remove(id) } else { None }
        });
        let kept = self.kept(session, id).is_some();
        if removed.is_some() || kept {
            self.archive.remove(id);
        }
        match removed {
            Some(t) => {
                t.kill();
                true
            }
            None => kept,
        }
    }

    /// Forgets what was kept of terminal `id` once a new one took its place.
    pub fn forget(&self, id: &str) {
        self.archive.remove(id);
    }

    /// Ends every terminal of a deleted session, and forgets what was kept of them.
    pub fn close_session(&self, session: &SessionId) {
        for t in self.for_session(session) {
            self.close(session, &t.id);
        }
        self.archive.remove_session(session);
    }

    /// Ends every terminal (shutdown); what was kept of them stays, so they can come back.
    pub fn close_all(&self) {
        let all: Vec<Arc<Terminal>> = self
            .inner
            .lock()
            .map(|mut m| m.drain().map(|(_, t)| t).collect())
            .unwrap_or_default();
        for t in all {
            t.kill();
        }
    }
}

/// Reads PTY output on a thread of its own (the reader blocks), until EOF or EIO at exit.
fn spawn_reader(
    terminal: Arc<Terminal>,
    mut reader: Box<dyn Read + Send>,
    mut child: Box<dyn portable_pty::Child + Send + Sync>,
    archive: Archive,
) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk: Arc<[u8]> = buf[..n].into();
                    if let Ok(mut sb) = terminal.scrollback.lock() {
                        sb.extend(chunk.iter());
                        let excess = sb.len().saturating_sub(SCROLLBACK);
                        sb.drain(..excess);
                        archive.append(&terminal.id, &chunk, || sb.iter().copied().collect());
                    }
                    let _ = terminal.events.send(TermEvent::Output(chunk));
                }
            }
        }
        let _ = child.wait();
        if let Ok(mut exited) = terminal.exited.lock() {
            *exited = true;
        }
        let _ = terminal.events.send(TermEvent::Exit);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_shell_is_a_clear_error() {
        let terms = Terminals::default();
        let err = terms
            .open(
                &SessionId::new(),
                Path::new("/tmp"),
                80,
                24,
                Some("/nonexistent/shell"),
                Vec::new(),
            )
            .err();
        assert!(
            matches!(&err, Some(TermError::Spawn { shell, .. }) if shell == "/nonexistent/shell"),
            "{err:?}"
        );
        assert!(secret("BOOCODE_TOKEN") && secret("OPENCODE_SERVER_PASSWORD") && !secret("HOME"));
    }
}
