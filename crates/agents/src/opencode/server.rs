//! The `opencode serve` child: one per boocode process, on a free loopback port, in its own process group,
//! with a private home and config and a random `OPENCODE_SERVER_PASSWORD` (HTTP basic auth) so no other
//! local process or web page can drive it. Ready by its ready line and `GET /global/health`. A watcher
//! notices when it exits; `shutdown` ends its whole group.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

use super::events::DirStream;
use crate::acp::process::{
    AgentSpec, StderrTail, isolated_command, keep_stderr_tail, signal_group, spawn_error, tail_text,
};
use crate::backend::AgentError;

/// The opencode major version whose server API this backend speaks (OpenCode 2 renamed its events).
const SUPPORTED_MAJOR: &str = "1";

/// A running `opencode serve`.
pub(crate) struct OpencodeServer {
    pub(crate) base: String,
    password: String,
    http: reqwest::Client,
    pub(crate) pid: u32,
    pub(crate) version: String,
    /// Fires when the child exits.
    died: CancellationToken,
    exit: Arc<Mutex<Option<String>>>,
    stderr: StderrTail,
    pid_file: PathBuf,
    /// One event stream per directory in use; gone when its last user drops it.
    streams: Mutex<HashMap<PathBuf, Weak<DirStream>>>,
}

fn backend_error(message: impl Into<String>) -> AgentError {
    AgentError::Backend(message.into())
}

/// 32 random bytes as hex, from the kernel.
fn random_password() -> Result<String, AgentError> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| backend_error(format!("no randomness for opencode's password: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Kills a server a crashed earlier run left behind (its pid file names it), if it is still opencode.
fn kill_orphan(pid_file: &Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if String::from_utf8_lossy(&cmdline).contains("opencode") {
        tracing::warn!(pid, "killing an opencode server left by an earlier run");
        signal_group(pid, libc::SIGKILL);
    }
    let _ = std::fs::remove_file(pid_file);
}

impl OpencodeServer {
    /// Starts `spec` as `opencode serve` in `cwd` with the private `home`; waits for its ready line and a
    /// healthy, supported `/global/health` within `ready_timeout`.
    pub(crate) async fn start(
        spec: &AgentSpec,
        cwd: &Path,
        home: &Path,
        ready_timeout: Duration,
    ) -> Result<Arc<Self>, AgentError> {
        std::fs::create_dir_all(cwd)
            .map_err(|e| backend_error(format!("creating {}: {e}", cwd.display())))?;
        let pid_file = home.with_file_name("serve.pid");
        kill_orphan(&pid_file);
        let password = random_password()?;
        let args: Vec<String> = ["serve", "--hostname", "127.0.0.1", "--port", "0"]
            .iter()
            .map(|a| (*a).to_owned())
            .collect();
        let mut cmd = isolated_command(spec, &args, cwd, home)
            .map_err(|e| AgentError::Backend(e.to_string()))?;
        cmd.env("OPENCODE_SERVER_PASSWORD", &password)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| AgentError::Backend(spawn_error(spec, &e).to_string()))?;
        let pid = child.id().unwrap_or(0);
        let _ = std::fs::write(&pid_file, pid.to_string());
        let stderr = match child.stderr.take() {
            Some(err) => keep_stderr_tail(err, "opencode-serve"),
            None => StderrTail::default(),
        };
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| backend_error("opencode serve has no stdout"))?;
        let died = CancellationToken::new();
        let exit = Arc::new(Mutex::new(None));
        {
            let (died, exit) = (died.clone(), exit.clone());
            tokio::spawn(async move {
                let status = child.wait().await;
                let text = match status {
                    Ok(s) => match s.code() {
                        Some(c) => format!("exit code {c}"),
                        None => "killed by a signal".to_owned(),
                    },
                    Err(e) => e.to_string(),
                };
                tracing::info!(pid, "opencode serve exited ({text})");
                if let Ok(mut x) = exit.lock() {
                    *x = Some(text);
                }
                died.cancel();
            });
        }
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let ready = async {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!("opencode serve: {line}");
                if line.starts_with("opencode server listening")
                    && let Some(url) = line.split_whitespace().find(|w| w.starts_with("http"))
                {
                    return Some(url.trim_end_matches('/').to_owned());
                }
            }
            None
        };
        let base = tokio::select! {
            found = tokio::time::timeout(ready_timeout, ready) => found,
            () = died.cancelled() => Ok(None),
        };
        let server = |base: String| Self {
            base,
            password: password.clone(),
            http: reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            pid,
            version: String::new(),
            died: died.clone(),
            exit: exit.clone(),
            stderr: stderr.clone(),
            pid_file: pid_file.clone(),
            streams: Mutex::default(),
        };
        let mut started = match base {
            Ok(Some(base)) => server(base),
            Ok(None) => {
                // Let the watcher record the exit status first.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let failed = server(String::new());
                let report = failed.exit_report();
                failed.shutdown().await;
                return Err(backend_error(format!(
                    "opencode serve stopped before it was ready ({report})"
                )));
            }
            Err(_) => {
                let failed = server(String::new());
                let tail = tail_text(&stderr);
                failed.shutdown().await;
                return Err(backend_error(format!(
                    "opencode serve was not ready within {} s{}",
                    ready_timeout.as_secs(),
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!("; stderr:\n{tail}")
                    }
                )));
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!("opencode serve: {line}");
            }
        });
        match started.health().await {
            Ok(version) => started.version = version,
            Err(e) => {
                started.shutdown().await;
                return Err(e);
            }
        }
        tracing::info!(pid, base = %started.base, version = %started.version, "opencode serve is ready");
        Ok(Arc::new(started))
    }

    async fn health(&self) -> Result<String, AgentError> {
        let health = self
            .call(reqwest::Method::GET, "/global/health", None, None)
            .await?;
        if health.get("healthy").and_then(Value::as_bool) != Some(true) {
            return Err(backend_error(format!(
                "opencode serve is not healthy: {health}"
            )));
        }
        let version = health
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if version.split('.').next() != Some(SUPPORTED_MAJOR) {
            return Err(backend_error(format!(
                "opencode {version} is not supported: boocode speaks the server API of opencode 1.x \
                 (tested with 1.18)"
            )));
        }
        Ok(version)
    }

    /// Whether the child is still running.
    pub(crate) fn is_alive(&self) -> bool {
        !self.died.is_cancelled()
    }

    /// Resolves when the child has exited.
    pub(crate) async fn died(&self) {
        self.died.cancelled().await;
    }

    /// How the child ended, with its last stderr lines.
    pub(crate) fn exit_report(&self) -> String {
        let code = self
            .exit
            .lock()
            .ok()
            .and_then(|x| x.clone())
            .unwrap_or_else(|| "still running".into());
        let tail = tail_text(&self.stderr);
        if tail.is_empty() {
            code
        } else {
            format!("{code}; stderr:\n{tail}")
        }
    }

    /// A request with the server's credentials, scoped to `directory` when given.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        directory: Option<&Path>,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth("opencode", Some(&self.password));
        if let Some(dir) = directory {
            req = req.header("x-opencode-directory", encode_path(dir));
        }
        req
    }

    /// One JSON call: non-2xx answers become errors that say what opencode said.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        directory: Option<&Path>,
        body: Option<&Value>,
    ) -> Result<Value, AgentError> {
        let mut req = self
            .request(method.clone(), path, directory)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| {
            backend_error(format!("opencode serve unreachable ({method} {path}): {e}"))
        })?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(backend_error(
                "opencode serve refused boocode's credentials (401)",
            ));
        }
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.pointer("/data/message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| text.trim().chars().take(300).collect());
            return Err(AgentError::Backend(format!(
                "opencode answered {status} to {method} {path}: {message}"
            )));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| backend_error(format!("opencode sent invalid JSON for {path}: {e}")))
    }

    /// The event stream of `directory`, shared by every turn there; ready (its `server.connected` seen)
    /// before it is returned, so nothing a prompt causes can be missed.
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        directory: &Path,
    ) -> Result<Arc<DirStream>, AgentError> {
        let existing = self
            .streams
            .lock()
            .ok()
            .and_then(|s| s.get(directory).and_then(Weak::upgrade));
        let stream = match existing {
            Some(s) => s,
            None => {
                let s = DirStream::open(self.clone(), directory.to_owned());
                if let Ok(mut streams) = self.streams.lock() {
                    streams.retain(|_, w| w.strong_count() > 0);
                    streams.insert(directory.to_owned(), Arc::downgrade(&s));
                }
                s
            }
        };
        stream.ready(Duration::from_secs(30)).await?;
        Ok(stream)
    }

    /// How many directories have a live event stream (tests and diagnostics).
    pub(crate) fn stream_count(&self) -> usize {
        self.streams
            .lock()
            .map(|s| s.values().filter(|w| w.strong_count() > 0).count())
            .unwrap_or(0)
    }

    /// Ends the server's whole process group: SIGTERM, then SIGKILL after 2 s.
    pub(crate) async fn shutdown(&self) {
        if self.is_alive() {
            signal_group(self.pid, libc::SIGTERM);
            if tokio::time::timeout(Duration::from_secs(2), self.died())
                .await
                .is_err()
            {
                signal_group(self.pid, libc::SIGKILL);
                let _ = tokio::time::timeout(Duration::from_secs(2), self.died()).await;
            }
        }
        // Whatever the server started is part of its group.
        signal_group(self.pid, libc::SIGKILL);
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// `x-opencode-directory` carries a URL-encoded path.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_headers_are_url_encoded() {
        assert_eq!(
            encode_path(Path::new("/tmp/a b/wörk")),
            "/tmp/a%20b/w%C3%B6rk"
        );
    }
}
