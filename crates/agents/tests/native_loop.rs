//! The native tool loop against fakellm over real sockets: tools run in the workdir through the guard,
//! their calls are reported as events, escapes fail without side effects, the step bound holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use boocode_agents::tools::ToolAccess;
use boocode_agents::{AgentBackend, NativeBackend, TurnContext, TurnInput, TurnOutcome};
use boocode_fakellm::{FakeLlm, FakeOptions};
use boocode_llm::{ChatMessage, LlmClient, LlmConfig};
use boocode_protocol::AgentEvent;
use tokio_util::sync::CancellationToken;

async fn run(
    prompt: &str,
    access: ToolAccess,
    max_steps: usize,
    dir: &std::path::Path,
) -> (TurnOutcome, Vec<AgentEvent>, FakeLlm) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let backend = NativeBackend::new(LlmClient::new(LlmConfig::new(fake.url())).unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = TurnContext::new(tx, CancellationToken::new());
    let input = TurnInput {
        model: "fake-model".into(),
        history: vec![ChatMessage::new("user", prompt)],
        workdir: Some(dir.to_path_buf()),
        tools: access,
        max_steps,
        session_key: None,
        mode_id: None,
        thinking: None,
        mcp: None,
        request_extra: serde_json::Map::new(),
    };
    let outcome = backend.prompt(input, &ctx).await.unwrap();
    drop(ctx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (outcome, events, fake)
}

fn summary(events: &[AgentEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolCall { tool_call } => {
                Some(format!("call {} {}", tool_call.title, tool_call.status))
            }
            AgentEvent::ToolUpdate { tool_call } => {
                Some(format!("update {} {}", tool_call.title, tool_call.status))
            }
            _ => None,
        })
        .collect()
}

fn text(events: &[AgentEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Text { content } => Some(content.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn write_file_runs_in_the_workdir_then_the_model_answers() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = r#"[[tool:write_file {"path":"notes/a.txt","content":"hi"}]] [[reply:All done.]]"#;
    let (outcome, events, fake) = run(prompt, ToolAccess::ReadWrite, 5, dir.path()).await;
    assert_eq!(outcome, TurnOutcome::Completed);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes/a.txt")).unwrap(),
        "hi"
    );
    assert_eq!(
        summary(&events),
        [
            "call Write notes/a.txt in_progress",
            "update Write notes/a.txt completed"
        ]
    );
    assert!(text(&events).ends_with("All done."));
    // Two model round trips: the second carries the tool result and the tool schemas.
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let second = &requests[1].body;
    let messages = second["messages"].as_array().unwrap();
    assert_eq!(
        messages[1]["tool_calls"][0]["function"]["name"],
        "write_file"
    );
    assert_eq!(messages[2]["role"], "tool");
    assert_eq!(
        messages[2]["tool_call_id"],
        messages[1]["tool_calls"][0]["id"]
    );
    assert_eq!(second["tools"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn escapes_fail_as_tool_errors_without_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("wt");
    std::fs::create_dir_all(&root).unwrap();
    let prompt = r#"[[tool:write_file {"path":"../escaped.txt","content":"x"}]] [[tool:view_file {"path":"/etc/passwd"}]]"#;
    let (outcome, events, _fake) = run(prompt, ToolAccess::ReadWrite, 5, &root).await;
    assert_eq!(outcome, TurnOutcome::Completed);
    assert!(!dir.path().join("escaped.txt").exists());
    let updates: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolUpdate { tool_call } => Some(tool_call.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|u| u.status == "failed"));
    assert!(
        updates[0]
            .raw_output
            .as_ref()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("outside the worktree")
    );
}

#[tokio::test]
async fn read_only_turns_cannot_write_and_the_step_bound_holds() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = r#"[[tool:write_file {"path":"a.txt","content":"x"}]]"#;
    let (_, events, _fake) = run(prompt, ToolAccess::ReadOnly, 5, dir.path()).await;
    assert!(!dir.path().join("a.txt").exists());
    assert_eq!(summary(&events)[1], "update Write a.txt failed");
    let (outcome, events, fake) = run(prompt, ToolAccess::ReadWrite, 0, dir.path()).await;
    assert_eq!(outcome, TurnOutcome::Completed);
    assert!(text(&events).contains("limit of 0 tool steps"));
    assert!(
        !dir.path().join("a.txt").exists(),
        "no tool runs past the bound"
    );
    assert_eq!(fake.requests().len(), 1);
}
