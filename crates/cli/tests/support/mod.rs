//! Helpers shared by the CLI's process tests and the relay benchmark: a git repo, the `boocode` binary as
//! a child, its ready line.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `git init` in a new directory.
pub fn git_init(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    let status = Command::new("git")
        .args(["init", "-q"])
        .current_dir(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// `git init` plus a first commit holding README.md (coding tasks need a HEAD).
pub fn committed_repo(path: &Path) {
    git_init(path);
    std::fs::write(path.join("README.md"), "x\n").unwrap();
    for args in [
        &["add", "-A"][..],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "first",
        ],
    ] {
        let status = Command::new("git")
            .args(args)
            .current_dir(path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// `boocode serve --port 0` on `data`, talking to `llm`, stdout piped for the ready line.
pub fn spawn_serve(data: &Path, llm: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_boocode"))
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(data)
        .args(["--llm-url", llm])
        .args(extra)
        .env_remove("BOOCODE_TOKEN")
        .env("BOOCODE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the ready line and returns the base URL it names.
pub fn ready_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("boocode listening on ")
        .unwrap_or_else(|| panic!("ready line: {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    url.to_owned()
}

/// Waits up to `limit` for the child to exit.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Everything the child wrote to stderr.
pub fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}
