//! An arena's check command: the user's command (e.g. the project's tests) run with `sh -c` in a lane's
//! worktree after its turn, in its own process group, without boocode's secrets, killed at its timeout.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use boocode_protocol::{CheckResult, CheckStatus};
use tokio::io::AsyncReadExt;

use super::OUTPUT_TAIL_BYTES;

/// Runs the user's check command with `sh -c` in `dir`, in its own process group, without boocode's
/// secrets in its environment; kills the group at `timeout`. Keeps the end of its combined output.
pub async fn run_check(command: &str, dir: &Path, timeout: Duration) -> CheckResult {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // The same filtered environment as a terminal: no DATABASE_URL, no BOOCODE_* (tokens included).
    cmd.env_clear().envs(crate::terminals::user_environment());
    let elapsed = |s: Instant| u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return CheckResult {
                status: CheckStatus::Error,
                exit_code: None,
                output_tail: format!("cannot run the check: {e}"),
                duration_ms: 0,
            };
        }
    };
    let pid = child.id();
    let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(collect(out, output.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(collect(err, output.clone())));
    }
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    let (status, exit_code) = match waited {
        Ok(Ok(s)) if s.success() => (CheckStatus::Passed, s.code()),
        Ok(Ok(s)) => (CheckStatus::Failed, s.code()),
        Ok(Err(_)) => (CheckStatus::Error, None),
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: killpg takes plain integers; the group is the check's own (process_group(0)).
                #[allow(unsafe_code)]
                unsafe {
                    libc::killpg(pid, libc::SIGKILL);
                }
            }
            let _ = child.wait().await;
            (CheckStatus::TimedOut, None)
        }
    };
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(1), r).await;
    }
    let bytes = output.lock().map(|o| o.clone()).unwrap_or_default();
    let start = bytes.len().saturating_sub(OUTPUT_TAIL_BYTES);
    let mut tail = String::from_utf8_lossy(&bytes[start..]).into_owned();
    if status == CheckStatus::TimedOut {
        tail.push_str(&format!("\n[killed after {} s]", timeout.as_secs()));
    }
    CheckResult {
        status,
        exit_code,
        output_tail: tail,
        duration_ms: elapsed(started),
    }
}

async fn collect(
    mut from: impl tokio::io::AsyncRead + Unpin,
    into: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            return;
        }
        if let Ok(mut all) = into.lock() {
            all.extend_from_slice(&buf[..n]);
            // Keep memory bounded on chatty checks: only the tail matters.
            if all.len() > 4 * OUTPUT_TAIL_BYTES {
                let cut = all.len() - OUTPUT_TAIL_BYTES;
                all.drain(..cut);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check command is the user's, but runs with what boocode's own process holds: it gets the
    /// terminal's filtered environment, never `DATABASE_URL` or boocode's variables.
    #[tokio::test]
    #[allow(unsafe_code)]
    async fn the_check_command_never_sees_boocodes_secrets() {
        // SAFETY: nextest runs each test in its own process; nothing else here reads these variables.
        unsafe {
            std::env::set_var("DATABASE_URL", "postgres://boo:pw-SECRET1@db/boo");
            std::env::set_var("BOOCODE_TOKEN", "SECRET2");
            std::env::set_var("BOOCODE_CHECK_VISIBLE_PROBE", "SECRET3");
        }
        let dir = tempfile::tempdir().unwrap();
        let result = run_check("env; echo done", dir.path(), Duration::from_secs(10)).await;
        assert!(
            result.output_tail.contains("done"),
            "{}",
            result.output_tail
        );
        for secret in ["SECRET1", "SECRET2", "SECRET3", "DATABASE_URL"] {
            assert!(
                !result.output_tail.contains(secret),
                "{secret} reached the check: {}",
                result.output_tail
            );
        }
        assert!(result.output_tail.contains("PATH="));
    }
}
