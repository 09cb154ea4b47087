//! The client against a real fakellm over real sockets: every scripted behaviour, plus cancellation
//! reaching the upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use boocode_fakellm::{FakeLlm, FakeOptions};
use boocode_llm::{ChatMessage, ChatRequest, LlmClient, LlmConfig, LlmError, StreamEvent};

fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn setup() -> (FakeLlm, LlmClient) {
    install_tls();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let client = LlmClient::new(LlmConfig::new(fake.url())).unwrap();
    (fake, client)
}

fn req(model: &str, prompt: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![ChatMessage::new("user", prompt)],
        ..ChatRequest::default()
    }
}

async fn drain(
    client: &LlmClient,
    r: &ChatRequest,
) -> (String, String, Vec<StreamEvent>, Option<LlmError>) {
    let mut s = match client.stream_chat(r).await {
        Ok(s) => s,
        Err(e) => return (String::new(), String::new(), vec![], Some(e)),
    };
    let (mut text, mut reasoning, mut other) = (String::new(), String::new(), Vec::new());
    while let Some(ev) = s.next().await {
        match ev {
            Ok(StreamEvent::Content(t)) => text.push_str(&t),
            Ok(StreamEvent::Reasoning(t)) => reasoning.push_str(&t),
            Ok(e) => other.push(e),
            Err(e) => return (text, reasoning, other, Some(e)),
        }
    }
    (text, reasoning, other, None)
}

#[tokio::test]
async fn streams_text_reasoning_usage() {
    let (_fake, client) = setup().await;
    let (text, reasoning, other, err) = drain(
        &client,
        &req(
            "fake-model",
            "[[reply:one two three]] [[reasoning:hmm yes]]",
        ),
    )
    .await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(text, "one two three");
    assert_eq!(reasoning, "hmm yes");
    assert!(
        other
            .iter()
            .any(|e| matches!(e, StreamEvent::Usage(u) if u.completion_tokens == 3))
    );
    assert!(
        matches!(other.last(), Some(StreamEvent::Done { finish_reason: Some(r) }) if r == "stop")
    );
}

#[tokio::test]
async fn think_tags_become_reasoning() {
    let (_fake, client) = setup().await;
    let (text, reasoning, _, err) = drain(
        &client,
        &req(
            "fake-model",
            "[[reply:ok]] [[reasoning:inline thought]] [[think_tags]]",
        ),
    )
    .await;
    assert!(err.is_none());
    assert_eq!(
        (text.as_str(), reasoning.as_str()),
        ("ok", "inline thought")
    );
}

#[tokio::test]
async fn tool_calls_are_assembled() {
    let (_fake, client) = setup().await;
    let prompt = r#"[[reply:x]] [[tool:write_file {"path":"a.txt","content":"hé"}]]"#;
    let (_, _, other, err) = drain(&client, &req("fake-model", prompt)).await;
    assert!(err.is_none());
    let calls = other.iter().find_map(|e| match e {
        StreamEvent::ToolCalls(c) => Some(c.clone()),
        _ => None,
    });
    let calls = calls.expect("tool calls");
    assert_eq!(calls[0].name, "write_file");
    let args: serde_json::Value = serde_json::from_str(&calls[0].arguments).unwrap();
    assert_eq!(args["content"], "hé");
}

#[tokio::test]
async fn failures_are_typed() {
    let (_fake, client) = setup().await;
    type Check = fn(&LlmError) -> bool;
    let cases: Vec<(&str, &str, Check)> = vec![
        ("fake-model", "[[fail:500]]", |e| {
            matches!(e, LlmError::Http { status: 500, .. })
        }),
        (
            "nope",
            "hi",
            |e| matches!(e, LlmError::ModelNotFound { model, .. } if model == "nope"),
        ),
        ("fake-model", "[[drop_after:2]]", |e| {
            matches!(e, LlmError::Interrupted(_))
        }),
        ("fake-model", "[[stream_error]]", |e| {
            matches!(e, LlmError::Upstream(_))
        }),
        ("fake-model", "[[garbage]]", |e| {
            matches!(e, LlmError::Malformed(_))
        }),
        ("fake-model", "[[invalid_utf8]]", |e| {
            matches!(e, LlmError::Malformed(_))
        }),
    ];
    for (model, prompt, check) in cases {
        let (_, _, _, err) = drain(&client, &req(model, prompt)).await;
        let err = err.unwrap_or_else(|| panic!("{prompt} should fail"));
        assert!(check(&err), "{prompt}: unexpected {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[tokio::test]
async fn unreachable_server_is_reported() {
    install_tls();
    let client = LlmClient::new(LlmConfig::new("http://127.0.0.1:9/v1")).unwrap();
    let err = client.stream_chat(&req("m", "hi")).await.err().unwrap();
    assert!(matches!(err, LlmError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn idle_timeout_fires() {
    install_tls();
    let fake = FakeLlm::start(FakeOptions::default()).await.unwrap();
    let mut cfg = LlmConfig::new(fake.url());
    cfg.idle_timeout = Duration::from_millis(200);
    let client = LlmClient::new(cfg).unwrap();
    let (_, _, _, err) = drain(&client, &req("fake-model", "[[first_delay_ms:2000]]")).await;
    assert!(matches!(err, Some(LlmError::IdleTimeout(_))), "{err:?}");
}

#[tokio::test]
async fn dropping_the_stream_aborts_upstream() {
    let (fake, client) = setup().await;
    let mut s = client
        .stream_chat(&req("fake-model", "[[tokens:1000]] [[delay_ms:20]]"))
        .await
        .unwrap();
    let mut seen = 0;
    while seen < 3 {
        if let Some(Ok(StreamEvent::Content(_))) = s.next().await {
            seen += 1;
        }
    }
    drop(s);
    for _ in 0..100 {
        if fake.requests()[0].disconnected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("upstream never saw the disconnect");
}

#[tokio::test]
async fn lists_models_with_context_and_completes() {
    let (_fake, client) = setup().await;
    let models = client.list_models().await.unwrap();
    assert_eq!(models[0].id, "fake-model");
    assert_eq!(models[0].context_length, Some(32768));
    assert_eq!(models[0].loaded, Some(true));
    assert_eq!(client.server_context_length().await, Some(32768));
    let done = client
        .complete(&req("fake-model", "[[title:My Title]]"))
        .await
        .unwrap();
    assert_eq!(done.content, "My Title");
}
