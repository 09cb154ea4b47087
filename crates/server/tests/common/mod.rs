//! Shared kit for the server's integration tests: a real server on port 0 in a temp data dir, a fakellm,
//! temp git repositories, a JSON client and a frames WebSocket reader.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use boocode_fakellm::{FakeLlm, FakeOptions};
use boocode_server::{Config, RunningServer};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Kit {
    pub dir: tempfile::TempDir,
    pub fake: FakeLlm,
    pub server: Option<RunningServer>,
    pub base: String,
    pub http: reqwest::Client,
    pub database_url: Option<String>,
}

pub fn git_repo(parent: &Path, name: &str) -> PathBuf {
    let path = parent.join(name);
    std::fs::create_dir_all(&path).unwrap();
    let ok = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    path
}

impl Kit {
    /// SQLite in a temp dir.
    pub async fn start() -> Self {
        Self::start_with(None, |_| {}).await
    }

    /// SQLite, with `files` written into the data dir before the server starts.
    pub async fn start_with_files(
        files: &[(&str, String)],
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_inner(None, files, tweak).await
    }

    /// PostgreSQL when `database_url` is given; `tweak` adjusts the config.
    pub async fn start_with(database_url: Option<String>, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_inner(database_url, &[], tweak).await
    }

    /// SQLite, with fakellm started with `options` (e.g. emulating llama-swap).
    pub async fn start_with_llm(options: FakeOptions, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_full(None, &[], options, tweak).await
    }

    async fn start_inner(
        database_url: Option<String>,
        files: &[(&str, String)],
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_full(database_url, files, FakeOptions::default(), tweak).await
    }

    async fn start_full(
        database_url: Option<String>,
        files: &[(&str, String)],
        options: FakeOptions,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        for (name, content) in files {
            let path = dir.path().join("data").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let fake = FakeLlm::start(options).await.unwrap();
        let mut config = Config::for_data_dir(&dir.path().join("data"), &fake.url());
        if let Some(url) = &database_url {
            config.database_url = url.clone();
        }
        tweak(&mut config);
        let mut kit = Self {
            dir,
            fake,
            server: None,
            base: String::new(),
            http: reqwest::Client::new(),
            database_url,
        };
        kit.boot(config).await;
        kit
    }

    pub fn config(&self) -> Config {
        let mut config = Config::for_data_dir(&self.dir.path().join("data"), &self.fake.url());
        if let Some(url) = &self.database_url {
            config.database_url = url.clone();
        }
        config
    }

    async fn boot(&mut self, config: Config) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = boocode_server::start(config, listener).await.unwrap();
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    /// Graceful stop, then a fresh server on the same data dir (a restart).
    pub async fn restart(&mut self) {
        self.stop().await;
        let config = self.config();
        self.boot(config).await;
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(15), server.shutdown())
                .await
                .unwrap()
                .unwrap();
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} → {status}: {value}"
        );
        value
    }

    /// Project (a fresh git repo) → session (with `model`) → chat; returns (project, session, chat) ids.
    pub async fn seed(&self, model: Option<&str>) -> (String, String, String) {
        let repo = git_repo(self.dir.path(), &format!("repo-{}", uuid_like()));
        let p = self
            .ok("POST", "/api/projects", Some(json!({"path": repo})))
            .await;
        let pid = p["id"].as_str().unwrap().to_owned();
        let s = self
            .ok(
                "POST",
                &format!("/api/projects/{pid}/sessions"),
                Some(json!({"model": model})),
            )
            .await;
        let sid = s["id"].as_str().unwrap().to_owned();
        let c = self
            .ok(
                "POST",
                &format!("/api/sessions/{sid}/chats"),
                Some(json!({})),
            )
            .await;
        (pid, sid, c["id"].as_str().unwrap().to_owned())
    }

    pub async fn post(&self, chat: &str, content: &str) -> (String, String) {
        let (status, v) = self
            .call(
                "POST",
                &format!("/api/chats/{chat}/messages"),
                Some(json!({"content": content})),
            )
            .await;
        assert_eq!(status, 202, "{v}");
        (
            v["user_message_id"].as_str().unwrap().to_owned(),
            v["assistant_message_id"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn ws(&self, session: &str, since: Option<u64>) -> Ws {
        let q = since.map(|s| format!("?since={s}")).unwrap_or_default();
        let url = format!(
            "{}/api/sessions/{session}/ws{q}",
            self.base.replace("http://", "ws://")
        );
        tokio_tungstenite::connect_async(url).await.unwrap().0
    }

    /// Polls a message until it leaves `streaming`.
    pub async fn wait_done(&self, chat: &str, message: &str) -> Value {
        for _ in 0..400 {
            let msgs = self
                .ok("GET", &format!("/api/chats/{chat}/messages?tree=1"), None)
                .await;
            let found = msgs
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == message)
                .cloned();
            if let Some(m) = found.filter(|m| m["status"] != "streaming") {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("message {message} never finished");
    }
}

pub fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Reads frames until one satisfies `stop` (inclusive); fails after 10 s.
pub async fn frames_until(ws: &mut Ws, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
        let msg = next
            .expect("frame timeout")
            .expect("socket closed")
            .unwrap();
        if let WsMessage::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            let done = stop(&v);
            out.push(v);
            if done {
                return out;
            }
        }
    }
}

/// Reads whatever frames arrive within `wait`.
pub async fn frames_for(ws: &mut Ws, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(wait, ws.next()).await {
        if let WsMessage::Text(t) = msg {
            out.push(serde_json::from_str(&t).unwrap());
        }
    }
    out
}

pub fn is_complete_of(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |f| {
        (f["type"] == "message_complete" || f["type"] == "message_error") && f["message_id"] == id
    }
}

pub fn seqs(frames: &[Value]) -> Vec<u64> {
    frames.iter().filter_map(|f| f["seq"].as_u64()).collect()
}

/// A git repo with one commit (README.md), for coding tasks.
pub fn committed_repo(parent: &Path, name: &str) -> PathBuf {
    let path = git_repo(parent, name);
    std::fs::write(path.join("README.md"), "# demo\n").unwrap();
    git(&path, &["add", "-A"]);
    git(&path, &["commit", "-q", "-m", "first"]);
    path
}

/// Runs git in `dir` with a throwaway identity.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Kit {
    /// Enqueues a task; returns it.
    pub async fn task(&self, body: Value) -> Value {
        let (status, v) = self.call("POST", "/api/tasks", Some(body)).await;
        assert_eq!(status, 201, "{v}");
        v
    }

    /// Polls a task until it reaches a final state (15 s at most).
    pub async fn wait_task(&self, id: &str) -> Value {
        self.wait_task_for(id, Duration::from_secs(15)).await
    }

    /// Polls a task until it reaches a final state, for at most `limit` (real agents start slowly).
    pub async fn wait_task_for(&self, id: &str, limit: Duration) -> Value {
        let polls = limit.as_millis() / 25;
        for _ in 0..polls {
            let t = self.ok("GET", &format!("/api/tasks/{id}"), None).await;
            if matches!(
                t["state"].as_str(),
                Some("completed" | "failed" | "cancelled")
            ) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("task {id} never finished");
    }

    /// Answers a `permission_request` frame's request with its option of `kind` (e.g. `allow_once`).
    pub async fn answer_permission(&self, request: &Value, kind: &str) {
        let option = request["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} option in {request}"))["option_id"]
            .clone();
        self.ok(
            "POST",
            &format!("/api/permissions/{}", request["id"].as_str().unwrap()),
            Some(json!({"option_id": option})),
        )
        .await;
    }

    /// The task queued in `session` with `input` (by an agent, over MCP), once it has finished.
    pub async fn queued_task_done(&self, session: &str, input: &str) -> Value {
        let tasks = self
            .ok("GET", &format!("/api/tasks?session_id={session}"), None)
            .await;
        let queued = tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["input"] == input)
            .unwrap_or_else(|| panic!("no task {input:?} was queued in {session}: {tasks}"))
            .clone();
        self.wait_task_for(queued["id"].as_str().unwrap(), Duration::from_secs(90))
            .await
    }

    /// The reply message a task produced.
    pub async fn reply_of(&self, task: &Value) -> Value {
        let msgs = self
            .ok(
                "GET",
                &format!("/api/chats/{}/messages", task["chat_id"].as_str().unwrap()),
                None,
            )
            .await;
        msgs.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == task["message_id"])
            .unwrap_or_else(|| panic!("no reply message for {task}"))
            .clone()
    }

    /// A project over a committed repo; returns (project id, repo path).
    pub async fn coding_project(&self, name: &str) -> (String, PathBuf) {
        let repo = committed_repo(self.dir.path(), name);
        let p = self
            .ok("POST", "/api/projects", Some(json!({"path": repo})))
            .await;
        (p["id"].as_str().unwrap().to_owned(), repo)
    }
}

/// The real `boocode` binary (the stdio MCP bridge), for tests of other packages whose binary `exe` is.
/// A workspace test run (`scripts/test`) builds it beside theirs with the same features; building it
/// from a test instead would make cargo rebuild the workspace with another feature set on every run.
pub fn boocode_binary_beside(exe: &str) -> PathBuf {
    let boocode = Path::new(exe).with_file_name("boocode");
    assert!(
        boocode.exists(),
        "{} is missing: run the workspace's tests (scripts/test) or `cargo build -p boocode-cli` first",
        boocode.display()
    );
    boocode
}

/// The pid of the `opencode serve` whose working directory is under `data`.
pub fn opencode_server_pid(data: &Path) -> Option<u32> {
    let serve_dir = data.join("agents/opencode/serve");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline);
        let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
        (cmdline.contains("opencode") && cmdline.contains("serve") && cwd == serve_dir)
            .then_some(pid)
    })
}

/// Test logs on stderr, filtered by `TEST_LOG` (off by default), once per test binary.
pub fn init_test_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
                .unwrap_or_else(|_| "off".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A prerequisite (`postgres`, `agents`) this test needs is missing. `scripts/test` installs every
/// prerequisite, and for one it could not install lists its kind in `BOOCODE_TEST_ALLOW_MISSING` and
/// filters the tests that need it out (nextest counts them as skipped). Anywhere else a missing
/// prerequisite fails the test: a test that did not run never reports a pass.
pub fn missing(kind: &str, what: &str) {
    let allowed = std::env::var("BOOCODE_TEST_ALLOW_MISSING").unwrap_or_default();
    if allowed.split(',').any(|k| k.trim() == kind) {
        eprintln!("SKIPPED ({kind} missing): {what}");
        return;
    }
    panic!(
        "{what} needs {kind}, which is missing: run scripts/test (it installs it), or set \
         BOOCODE_TEST_ALLOW_MISSING={kind} to skip knowingly"
    );
}

/// A server per engine: SQLite always, PostgreSQL when `BOOCODE_TEST_DATABASE_URL` is set (else the
/// PostgreSQL half is reported missing, naming `what`).
#[allow(dead_code)]
pub async fn kits(what: &str) -> Vec<Kit> {
    let mut kits = vec![Kit::start().await];
    match std::env::var("BOOCODE_TEST_DATABASE_URL") {
        Ok(url) => kits.push(Kit::start_with(Some(url), |_| {}).await),
        Err(_) => missing("postgres", what),
    }
    kits
}
