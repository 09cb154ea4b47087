//! The ACP backend against the scripted fake agent as a real child process: warm reuse, translation,
//! files through the guard, permissions, cancel, crashes and start-up faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use boocode_agents::acp::{AcpBackend, AgentSpec};
use boocode_agents::tools::ToolAccess;
use boocode_agents::{
    AgentBackend, PermissionAnswer, PermissionAsk, PermissionAsker, TurnContext, TurnInput,
    TurnOutcome,
};
use boocode_llm::ChatMessage;
use boocode_protocol::AgentEvent;
use tokio_util::sync::CancellationToken;

fn spec(env: &[(&str, &str)]) -> AgentSpec {
    AgentSpec {
        id: "fake".into(),
        label: "Fake agent".into(),
        command: env!("CARGO_BIN_EXE_fake-acp-agent").into(),
        args: vec![],
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        install_hint: None,
        home_files: Vec::new(),
        home: boocode_protocol::AgentHome::Private,
        user_home: None,
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    backend: Arc<AcpBackend>,
}

impl Fixture {
    fn new(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("wt")).unwrap();
        let backend = AcpBackend::new(
            spec(env),
            dir.path().join("data"),
            Duration::from_secs(600),
            None,
        );
        Self { dir, backend }
    }

    fn worktree(&self) -> std::path::PathBuf {
        self.dir.path().join("wt")
    }

    fn input(&self, prompt: &str) -> TurnInput {
        TurnInput {
            model: "m".into(),
            history: vec![ChatMessage::new("user", prompt)],
            workdir: Some(self.worktree()),
            tools: ToolAccess::None,
            max_steps: 0,
            session_key: Some("s1".into()),
            mode_id: None,
            thinking: None,
            mcp: None,
            request_extra: Default::default(),
        }
    }

    async fn turn(&self, prompt: &str) -> (Result<TurnOutcome, String>, Vec<AgentEvent>) {
        self.turn_with(prompt, CancellationToken::new(), None).await
    }

    async fn turn_with(
        &self,
        prompt: &str,
        cancel: CancellationToken,
        asker: Option<Arc<dyn PermissionAsker>>,
    ) -> (Result<TurnOutcome, String>, Vec<AgentEvent>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut ctx = TurnContext::new(tx, cancel);
        if let Some(asker) = asker {
            ctx = ctx.with_permissions(asker);
        }
        let outcome = self
            .backend
            .prompt(self.input(prompt), &ctx)
            .await
            .map_err(|e| e.to_string());
        drop(ctx);
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        (outcome, events)
    }
}

#[tokio::test]
async fn model_mode_and_thinking_follow_the_task() {
    let f = Fixture::new(&[]);
    let run = |model: &str, mode: Option<&str>, thinking: Option<&str>| {
        let mut input = f.input("[[config]]");
        input.model = model.into();
        input.mode_id = mode.map(Into::into);
        input.thinking = thinking.map(Into::into);
        input
    };
    let turn = |input: TurnInput| async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = TurnContext::new(tx, CancellationToken::new());
        f.backend.prompt(input, &ctx).await.unwrap();
        drop(ctx);
        let mut events = Vec::new();
        while let Some(e) = rx.recv().await {
            events.push(e);
        }
        text(&events)
    };
    // Values the agent offers are applied (a grouped option included); others keep its default.
    assert_eq!(
        turn(run("fake-b", Some("plan"), Some("high"))).await,
        "model=fake-b effort=high mode=plan"
    );
    assert_eq!(
        turn(run("not-offered", None, Some("extreme"))).await,
        "model=fake-a effort=low mode=default"
    );
    f.backend.dispose().await;
}

fn text(events: &[AgentEvent]) -> String {
    events
        .iter()
        .filter_map(|e| {
            if let AgentEvent::Text { content } = e {
                Some(content.as_str())
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn warm_session_is_reused_and_updates_translate() {
    let f = Fixture::new(&[]);
    let (outcome, events) = f.turn("[[think:hmm]] [[say:Hello]] [[pid]] [[commands]] [[usage]] [[unknown_update]] [[malformed]] [[say: done]]").await;
    assert_eq!(outcome, Ok(TurnOutcome::Completed));
    let first = text(&events);
    assert!(
        first.starts_with("Hellopid ") && first.ends_with(" done"),
        "{first}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::Reasoning { content } if content == "hmm"))
    );
    assert!(
        events.iter().any(
            |e| matches!(e, AgentEvent::Commands { commands } if commands[0].name == "review")
        )
    );
    assert!(
        events.iter().any(
            |e| matches!(e, AgentEvent::Usage { usage } if usage.context_limit == Some(32768))
        )
    );
    let pid = f.backend.pid("s1").await.unwrap();
    let (_, events) = f.turn("[[pid]]").await;
    let second = text(&events);
    let session_of = |t: &str| {
        t.split("session ")
            .nth(1)
            .map(|s| s.split_whitespace().next().unwrap_or("").to_owned())
    };
    assert!(
        second.contains(&format!("pid {pid} ")),
        "same process: {second}"
    );
    assert_eq!(
        session_of(&first),
        session_of(&second),
        "same agent session"
    );
    f.backend.dispose().await;
    assert!(f.backend.pid("s1").await.is_none());
}

#[tokio::test]
async fn files_go_through_the_guard() {
    let f = Fixture::new(&[]);
    std::fs::write(f.worktree().join("in.txt"), "abc").unwrap();
    let (outcome, events) = f.turn("[[read:in.txt]] [[read:missing.txt]] [[write:out/new.txt hello]] [[write:../outside.txt pwned]] [[read:/etc/passwd]] [[unknown_method]]").await;
    assert_eq!(outcome, Ok(TurnOutcome::Completed));
    let t = text(&events);
    assert!(t.contains("read 3 bytes: abc"), "{t}");
    assert!(
        t.contains("read 0 bytes: "),
        "a missing file reads as empty: {t}"
    );
    assert_eq!(
        std::fs::read_to_string(f.worktree().join("out/new.txt")).unwrap(),
        "hello"
    );
    assert!(
        t.contains("write failed") && t.contains("outside the worktree"),
        "{t}"
    );
    assert!(!f.dir.path().join("outside.txt").exists());
    assert!(t.contains("read failed"), "{t}");
    assert!(t.contains("client answered -32601"), "{t}");
    let updates: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolCall { tool_call } | AgentEvent::ToolUpdate { tool_call } => {
                Some((tool_call.call_id.clone(), tool_call.status))
            }
            _ => None,
        })
        .collect();
    assert!(updates.contains(&("call-2".into(), boocode_protocol::ToolStatus::Completed)));
    assert!(updates.contains(&("call-3".into(), boocode_protocol::ToolStatus::Failed)));
    f.backend.dispose().await;
}

struct Answer(PermissionAnswer);

#[async_trait]
impl PermissionAsker for Answer {
    async fn ask(&self, request: PermissionAsk) -> PermissionAnswer {
        assert_eq!(request.options.len(), 3);
        self.0.clone()
    }
}

struct Never;

#[async_trait]
impl PermissionAsker for Never {
    async fn ask(&self, _request: PermissionAsk) -> PermissionAnswer {
        std::future::pending().await
    }
}

#[tokio::test]
async fn permissions_are_relayed_and_denied_without_an_answer() {
    let f = Fixture::new(&[]);
    let allow: Arc<dyn PermissionAsker> =
        Arc::new(Answer(PermissionAnswer::Selected("yes-once".into())));
    let (_, events) = f
        .turn_with(
            "[[permission:ok.txt yes]]",
            CancellationToken::new(),
            Some(allow),
        )
        .await;
    assert!(text(&events).contains("permission selected yes-once"));
    assert!(f.worktree().join("ok.txt").exists());
    // No relay: denied by kind (reject_once), nothing written.
    let (_, events) = f.turn("[[permission:no.txt x]]").await;
    assert!(
        text(&events).contains("permission selected no-once"),
        "{}",
        text(&events)
    );
    assert!(!f.worktree().join("no.txt").exists());
    // A request nobody answers is answered `cancelled` when the turn is cancelled.
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stopper.cancel();
    });
    let (outcome, _) = f
        .turn_with(
            "[[permission:late.txt x]] [[slow:100]]",
            cancel,
            Some(Arc::new(Never)),
        )
        .await;
    assert_eq!(outcome, Ok(TurnOutcome::Cancelled));
    assert!(!f.worktree().join("late.txt").exists());
    f.backend.dispose().await;
}

#[tokio::test]
async fn cancel_mid_turn_and_the_session_lives_on() {
    let f = Fixture::new(&[]);
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopper.cancel();
    });
    let (outcome, events) = f.turn_with("[[slow:500]]", cancel, None).await;
    assert_eq!(outcome, Ok(TurnOutcome::Cancelled));
    let t = text(&events);
    assert!(t.starts_with("chunk0 ") && !t.contains("chunk499"), "{t}");
    let pid = f.backend.pid("s1").await.unwrap();
    let (outcome, _) = f.turn("[[say:again]]").await;
    assert_eq!(outcome, Ok(TurnOutcome::Completed));
    assert_eq!(
        f.backend.pid("s1").await,
        Some(pid),
        "a cancelled turn keeps the warm process"
    );
    f.backend.dispose().await;
}

#[tokio::test]
async fn a_crash_fails_the_turn_with_stderr_and_the_next_turn_starts_fresh() {
    let f = Fixture::new(&[]);
    let (_, _) = f.turn("[[say:warm]]").await;
    let pid = f.backend.pid("s1").await.unwrap();
    let (outcome, _) = f.turn("[[say:bye]] [[crash]]").await;
    let err = outcome.unwrap_err();
    assert!(
        err.contains("exited mid-turn")
            && err.contains("exit code 17")
            && err.contains("last words"),
        "{err}"
    );
    let (outcome, events) = f.turn("[[pid]]").await;
    assert_eq!(outcome, Ok(TurnOutcome::Completed));
    assert!(
        !text(&events).contains(&format!("pid {pid} ")),
        "a fresh process after the crash"
    );
    f.backend.dispose().await;
}

#[tokio::test]
async fn a_hung_agent_is_stopped_after_the_cancel_deadline() {
    let f = Fixture::new(&[]);
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let (outcome, _) = f.turn_with("[[hang]]", cancel, None).await;
    assert_eq!(outcome, Ok(TurnOutcome::Cancelled));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(
        f.backend.pid("s1").await.is_none(),
        "a hung session is not kept"
    );
}

#[tokio::test]
async fn start_up_faults_are_clear_errors() {
    let exits = Fixture::new(&[("FAKE_ACP_EXIT_ON_INIT", "1")]);
    let err = exits.turn("hi").await.0.unwrap_err();
    assert!(
        err.contains("exited during initialize") && err.contains("refusing to initialize"),
        "{err}"
    );
    let version = Fixture::new(&[("FAKE_ACP_PROTOCOL", "99")]);
    let err = version.turn("hi").await.0.unwrap_err();
    assert!(
        err.contains("protocol version") && err.contains("99"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("wt")).unwrap();
    let missing = AgentSpec {
        command: "definitely-not-an-agent-binary".into(),
        install_hint: Some("npm install -g definitely-not".into()),
        ..spec(&[])
    };
    let backend = AcpBackend::new(
        missing,
        dir.path().join("data"),
        Duration::from_secs(60),
        None,
    );
    let f = Fixture { dir, backend };
    let err = f.turn("hi").await.0.unwrap_err();
    assert!(
        err.contains("is not installed") && err.contains("npm install -g definitely-not"),
        "{err}"
    );
    let slow = Fixture::new(&[("FAKE_ACP_SLOW_START_MS", "500")]);
    assert_eq!(slow.turn("hi").await.0, Ok(TurnOutcome::Completed));
    slow.backend.dispose().await;
}

#[tokio::test]
async fn secrets_never_reach_the_agent() {
    // The fake agent is launched with a filtered environment: boocode's own variables are withheld.
    let f = Fixture::new(&[("VISIBLE", "yes")]);
    let (outcome, _) = f.turn("[[say:ok]]").await;
    assert_eq!(outcome, Ok(TurnOutcome::Completed));
    let pid = f.backend.pid("s1").await.unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(vars.iter().any(|v| v == "VISIBLE=yes"));
    assert!(
        vars.iter()
            .any(|v| v.starts_with("HOME=") && v.contains("agents/fake/home"))
    );
    assert!(
        !vars
            .iter()
            .any(|v| v.starts_with("BOOCODE_") || v.starts_with("CARGO")),
        "{vars:?}"
    );
    f.backend.dispose().await;
}

#[tokio::test]
async fn terminals_run_in_the_worktree_with_limits() {
    let f = Fixture::new(&[]);
    let (outcome, events) = f
        .turn("[[terminal:pwd; echo $FROM_AGENT; echo token=${BOOCODE_TOKEN:-none}; exit 3]]")
        .await;
    assert_eq!(outcome, Ok(TurnOutcome::Completed));
    let t = text(&events);
    let wt = f.worktree().canonicalize().unwrap();
    assert!(
        t.contains("terminal exit 3") && t.contains(&wt.display().to_string()),
        "{t}"
    );
    assert!(t.contains("\nyes\n") && t.contains("token=none"), "{t}");
    let (_, events) = f.turn("[[terminal:10|seq 1 1000]]").await;
    let t = text(&events);
    assert!(
        t.contains("truncated true: ") && t.trim_end().ends_with("1000"),
        "{t}"
    );
    let (_, events) = f.turn("[[terminal_kill:sleep 30]]").await;
    assert!(
        text(&events).contains("signal \"signal 9\""),
        "{}",
        text(&events)
    );
    f.backend.dispose().await;
}
