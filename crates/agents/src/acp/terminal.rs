//! `terminal/*` for ACP agents: real processes in the worktree (the cwd resolved through the path guard),
//! in their own process group, with the same filtered environment as agents, stdout and stderr merged
//! into a buffer capped at `outputByteLimit` (the start is dropped, on a UTF-8 boundary).

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use super::rpc::{INTERNAL_ERROR, INVALID_PARAMS};

const DEFAULT_LIMIT: usize = 1024 * 1024;

#[derive(Default)]
struct Output {
    text: Vec<u8>,
    truncated: bool,
    limit: usize,
}

impl Output {
    fn push(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
        if self.text.len() > self.limit {
            let mut cut = self.text.len() - self.limit;
            // Never split a UTF-8 sequence: skip continuation bytes.
            while cut < self.text.len() && (self.text[cut] & 0b1100_0000) == 0b1000_0000 {
                cut += 1;
            }
            self.text.drain(..cut);
            self.truncated = true;
        }
    }
}

struct Terminal {
    pid: u32,
    output: Arc<Mutex<Output>>,
    exit: watch::Receiver<Option<Value>>,
}

/// The terminals of one agent connection.
#[derive(Default, Clone)]
pub struct Terminals {
    inner: Arc<Mutex<HashMap<String, Terminal>>>,
}

type Answer = Result<Value, (i64, String)>;
/// A terminal's output buffer, exit watch and process id.
type Handle = (Arc<Mutex<Output>>, watch::Receiver<Option<Value>>, u32);

fn id_of(params: &Value) -> Result<String, (i64, String)> {
    params
        .get("terminalId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or((INVALID_PARAMS, "missing terminalId".into()))
}

impl Terminals {
    fn get(&self, id: &str) -> Result<Handle, (i64, String)> {
        let map = self
            .inner
            .lock()
            .map_err(|_| (INTERNAL_ERROR, "poisoned".to_owned()))?;
        let t = map
            .get(id)
            .ok_or((INVALID_PARAMS, format!("unknown terminal {id}")))?;
        Ok((t.output.clone(), t.exit.clone(), t.pid))
    }

    /// `terminal/create`.
    pub async fn create(&self, params: &Value, root: &Path, env: &[(String, String)]) -> Answer {
        let command = params
            .get("command")
            .and_then(Value::as_str)
            .ok_or((INVALID_PARAMS, "missing command".to_owned()))?;
        let args: Vec<String> = params
            .get("args")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let cwd = match params.get("cwd").and_then(Value::as_str) {
            Some(dir) => boocode_workspace::resolve_in_worktree(root, dir)
                .map_err(|e| (INVALID_PARAMS, e.to_string()))?,
            None => root.to_path_buf(),
        };
        let limit = params
            .get("outputByteLimit")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_LIMIT, |l| l as usize);
        let mut cmd = tokio::process::Command::new(command);
        cmd.args(&args)
            .current_dir(&cwd)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for var in params
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(k), Some(v)) = (
                var.get("name").and_then(Value::as_str),
                var.get("value").and_then(Value::as_str),
            ) {
                cmd.env(k, v);
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| (INTERNAL_ERROR, format!("cannot run {command}: {e}")))?;
        let pid = child.id().unwrap_or(0);
        let output = Arc::new(Mutex::new(Output {
            limit,
            ..Output::default()
        }));
        let (exit_tx, exit_rx) = watch::channel(None);
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        .map(|mut pipe| {
            let sink = output.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut out) = sink.lock() {
                        out.push(&buf[..n]);
                    }
                }
            })
        })
        .collect();
        tokio::spawn(async move {
            let status = child.wait().await;
            for r in readers {
                let _ = r.await;
            }
            let exit = match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt as _;
                    json!({"exitCode": s.code(), "signal": s.signal().map(|n| format!("signal {n}"))})
                }
                Err(e) => json!({"exitCode": null, "signal": e.to_string()}),
            };
            let _ = exit_tx.send(Some(exit));
        });
        let id = format!("term-{pid}-{}", uuid_suffix());
        if let Ok(mut map) = self.inner.lock() {
            map.insert(
                id.clone(),
                Terminal {
                    pid,
                    output,
                    exit: exit_rx,
                },
            );
        }
        Ok(json!({"terminalId": id}))
    }

    /// `terminal/output`.
    pub fn output(&self, params: &Value) -> Answer {
        let (output, exit, _) = self.get(&id_of(params)?)?;
        let out = output
            .lock()
            .map_err(|_| (INTERNAL_ERROR, "poisoned".to_owned()))?;
        let mut answer =
            json!({"output": String::from_utf8_lossy(&out.text), "truncated": out.truncated});
        if let Some(status) = exit.borrow().clone() {
            answer["exitStatus"] = status;
        }
        Ok(answer)
    }

    /// `terminal/wait_for_exit`.
    pub async fn wait_for_exit(&self, params: &Value) -> Answer {
        let (_, mut exit, _) = self.get(&id_of(params)?)?;
        loop {
            if let Some(status) = exit.borrow().clone() {
                return Ok(status);
            }
            if exit.changed().await.is_err() {
                return Err((INTERNAL_ERROR, "terminal vanished".into()));
            }
        }
    }

    /// `terminal/kill`: the id stays valid for `output`.
    pub fn kill(&self, params: &Value) -> Answer {
        let (_, _, pid) = self.get(&id_of(params)?)?;
        super::process::signal_group(pid, libc::SIGKILL);
        Ok(Value::Null)
    }

    /// `terminal/release`: kills and forgets.
    pub fn release(&self, params: &Value) -> Answer {
        let id = id_of(params)?;
        let removed = self.inner.lock().ok().and_then(|mut m| m.remove(&id));
        match removed {
            Some(t) => {
                super::process::signal_group(t.pid, libc::SIGKILL);
                Ok(Value::Null)
            }
            None => Err((INVALID_PARAMS, format!("unknown terminal {id}"))),
        }
    }

    /// Kills every terminal (the agent session ends).
    pub fn kill_all(&self) {
        if let Ok(mut map) = self.inner.lock() {
            for (_, t) in map.drain() {
                super::process::signal_group(t.pid, libc::SIGKILL);
            }
        }
    }
}

fn uuid_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}")
}

#[cfg(test)]
mod tests {
    use super::Output;

    #[test]
    fn output_keeps_the_end_on_a_char_boundary() {
        let mut out = Output {
            limit: 5,
            ..Output::default()
        };
        out.push("ab".as_bytes());
        out.push("cdé✓".as_bytes());
        let text = String::from_utf8(out.text.clone()).unwrap();
        assert!(out.truncated);
        assert!(text.len() <= 5 && text.ends_with('✓'), "{text}");
    }
}
