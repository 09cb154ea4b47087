//! Terminals that outlive the server: each terminal's directory and the tail of its output are kept in
//! `<data dir>/terminals/`, so after a restart its pane can start a new shell in the same place with the
//! old scrollback above a marker. Closing a terminal's tab removes its files; a shutdown keeps them.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use boocode_protocol::SessionId;
use serde::{Deserialize, Serialize};

use super::SCROLLBACK;

/// What is kept of a terminal besides its output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Kept {
    pub session: SessionId,
    pub cwd: PathBuf,
}

/// The archive directory; `None` keeps nothing (tests of the PTY alone).
#[derive(Debug, Clone, Default)]
pub struct Archive {
    dir: Option<PathBuf>,
}

impl Archive {
    /// An archive in `dir` (created on first use).
    pub fn at(dir: PathBuf) -> Self {
        Self { dir: Some(dir) }
    }

    /// Terminal ids are server-made (`t` + hex), never a path; anything else is refused here too.
    fn paths(&self, id: &str) -> Option<(PathBuf, PathBuf)> {
        let dir = self.dir.as_ref()?;
        let plain = id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric());
        plain.then(|| {
            (
                dir.join(format!("{id}.json")),
                dir.join(format!("{id}.log")),
            )
        })
    }

    /// Records a new terminal.
    pub fn open(&self, id: &str, kept: &Kept, scrollback: &[u8]) {
        let Some((meta, log)) = self.paths(id) else {
            return;
        };
        if let Some(dir) = meta.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::warn!(error = %e, "terminal archive not created");
            return;
        }
        let written = serde_json::to_vec(kept)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(&meta, json))
            .and_then(|()| std::fs::write(&log, scrollback));
        if let Err(e) = written {
            tracing::warn!(error = %e, "terminal not archived");
        }
    }

    /// Appends output; past twice the scrollback the log is rewritten from `ring` (the last part).
    pub fn append(&self, id: &str, chunk: &[u8], ring: impl FnOnce() -> Vec<u8>) {
        let Some((_, log)) = self.paths(id) else {
            return;
        };
        let size = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let result = if size as usize > 2 * SCROLLBACK {
            std::fs::write(&log, ring())
        } else {
            OpenOptions::new()
                .append(true)
                .open(&log)
                .and_then(|mut f| f.write_all(chunk))
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "terminal output not archived");
        }
    }

    /// What was kept of terminal `id`, with its last output.
    pub fn read(&self, id: &str) -> Option<(Kept, Vec<u8>)> {
        let (meta, log) = self.paths(id)?;
        let kept: Kept = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
        let mut output = std::fs::read(log).unwrap_or_default();
        let excess = output.len().saturating_sub(SCROLLBACK);
        output.drain(..excess);
        Some((kept, output))
    }

    /// Forgets terminal `id`.
    pub fn remove(&self, id: &str) {
        if let Some((meta, log)) = self.paths(id) {
            let _ = std::fs::remove_file(meta);
            let _ = std::fs::remove_file(log);
        }
    }

    /// Forgets every terminal of a deleted session.
    pub fn remove_session(&self, session: &SessionId) {
        let Some(dir) = &self.dir else { return };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                continue;
            };
            if self.read(&id).is_some_and(|(k, _)| &k.session == session) {
                self.remove(&id);
            }
        }
    }
}

/// The line drawn between an old terminal's output and the new shell's.
pub fn restart_marker(cwd: &Path) -> Vec<u8> {
    format!(
        "\r\n\x1b[2m──── boocode restarted; a new shell in {} ────\x1b[0m\r\n",
        cwd.display()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_kept_and_bounded_and_ids_are_never_paths() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let archive = Archive::at(dir.path().join("terminals"));
        let kept = Kept {
            session: SessionId::new(),
            cwd: PathBuf::from("/tmp"),
        };
        archive.open("t1", &kept, b"");
        archive.append("t1", b"hello ", Vec::new);
        archive.append("t1", b"world", Vec::new);
        assert_eq!(
            archive.read("t1"),
            Some((kept.clone(), b"hello world".to_vec()))
        );
        let big = vec![b'x'; 3 * SCROLLBACK];
        archive.append("t1", &big, || big[..SCROLLBACK].to_vec());
        archive.append("t1", b"!", || vec![b'y'; SCROLLBACK]);
        assert_eq!(archive.read("t1").map(|(_, o)| o.len()), Some(SCROLLBACK));
        assert!(archive.read("../etc/passwd").is_none());
        archive.remove_session(&kept.session);
        assert!(archive.read("t1").is_none());
    }
}
