//! Event sequences as opencode 1.18.33 sends them (shapes captured from `opencode serve`).

use serde_json::{Value, json};

use super::*;

const FLOOR: &str = "msg_100";

fn ev(kind: &str, properties: Value) -> Value {
    json!({"type": kind, "properties": properties})
}

fn message(id: &str, role: &str) -> Value {
    ev(
        "message.updated",
        json!({"sessionID": "ses_1", "info": {"id": id, "role": role, "sessionID": "ses_1"}}),
    )
}

fn part(id: &str, message: &str, kind: &str, extra: Value) -> Value {
    let mut part = json!({"id": id, "messageID": message, "sessionID": "ses_1", "type": kind});
    if let (Some(p), Some(e)) = (part.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    ev(
        "message.part.updated",
        json!({"sessionID": "ses_1", "part": part}),
    )
}

fn delta(message: &str, part: &str, text: &str) -> Value {
    ev(
        "message.part.delta",
        json!({"sessionID": "ses_1", "messageID": message, "partID": part, "field": "text", "delta": text}),
    )
}

fn status(kind: &str) -> Value {
    ev(
        "session.status",
        json!({"sessionID": "ses_1", "status": {"type": kind}}),
    )
}

fn run(t: &mut TurnTranslator, events: &[Value]) -> (Vec<AgentEvent>, Vec<Signal>) {
    let mut out = Vec::new();
    let signals = events.iter().map(|e| t.handle(e, &mut out)).collect();
    (out, signals)
}

fn texts(out: &[AgentEvent]) -> (String, String) {
    let mut text = String::new();
    let mut reasoning = String::new();
    for e in out {
        match e {
            AgentEvent::Text { content } => text.push_str(content),
            AgentEvent::Reasoning { content } => reasoning.push_str(content),
            _ => {}
        }
    }
    (text, reasoning)
}

#[test]
fn a_text_turn_with_reasoning_streams_each_piece_once() {
    let mut t = TurnTranslator::new(FLOOR.into());
    let (out, signals) = run(
        &mut t,
        &[
            message("msg_200", "user"),
            part(
                "prt_u",
                "msg_200",
                "text",
                json!({"text": "[[reply:Hello there]]"}),
            ),
            status("busy"),
            message("msg_201", "assistant"),
            part(
                "prt_r",
                "msg_201",
                "reasoning",
                json!({"text": "", "time": {"start": 1}}),
            ),
            delta("msg_201", "prt_r", "hmm"),
            part(
                "prt_r",
                "msg_201",
                "reasoning",
                json!({"text": "hmm", "time": {"start": 1, "end": 2}}),
            ),
            part(
                "prt_t",
                "msg_201",
                "text",
                json!({"text": "", "time": {"start": 3}}),
            ),
            delta("msg_201", "prt_t", "Hello "),
            delta("msg_201", "prt_t", " "),
            delta("msg_201", "prt_t", "there"),
            part(
                "prt_t",
                "msg_201",
                "text",
                json!({"text": "Hello  there", "time": {"start": 3, "end": 4}}),
            ),
            part(
                "prt_s",
                "msg_201",
                "step-finish",
                json!({"reason": "stop", "tokens": {"input": 2446, "output": 5, "reasoning": 1, "cache": {"read": 4, "write": 0}}}),
            ),
            status("idle"),
            ev("session.idle", json!({"sessionID": "ses_1"})),
        ],
    );
    assert_eq!(texts(&out), ("Hello  there".into(), "hmm".into()));
    assert_eq!(
        out.iter()
            .filter(|e| matches!(e, AgentEvent::Text { .. }))
            .count(),
        3,
        "the whitespace-only delta is its own piece: {out:?}"
    );
    assert_eq!(signals[signals.len() - 2], Signal::Idle);
    let usage = t.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (2450, 6));
}

#[test]
fn deltas_before_their_part_type_wait_and_are_classified_by_it() {
    let mut t = TurnTranslator::new(FLOOR.into());
    let (out, _) = run(
        &mut t,
        &[
            status("busy"),
            // The delta arrives before its message and its part are known.
            delta("msg_201", "prt_r", "thinking "),
            message("msg_201", "assistant"),
            delta("msg_201", "prt_r", "hard"),
            part(
                "prt_r",
                "msg_201",
                "reasoning",
                json!({"text": "thinking hard", "time": {"start": 1}}),
            ),
            part(
                "prt_t",
                "msg_201",
                "text",
                json!({"text": "answer", "time": {"start": 2, "end": 3}}),
            ),
        ],
    );
    assert_eq!(texts(&out), ("answer".into(), "thinking hard".into()));
}

#[test]
fn earlier_turns_and_a_stale_idle_are_ignored() {
    let mut t = TurnTranslator::new(FLOOR.into());
    let (out, signals) = run(
        &mut t,
        &[
            // Late events of the previous (aborted) turn.
            ev("session.idle", json!({"sessionID": "ses_1"})),
            message("msg_090", "assistant"),
            part(
                "prt_old",
                "msg_090",
                "text",
                json!({"text": "old partial", "time": {"start": 1, "end": 2}}),
            ),
            status("busy"),
            message("msg_201", "assistant"),
            part(
                "prt_t",
                "msg_201",
                "text",
                json!({"text": "new", "time": {"start": 3, "end": 4}}),
            ),
            ev("session.idle", json!({"sessionID": "ses_1"})),
        ],
    );
    assert_eq!(signals[0], Signal::Continue, "idle before busy is not ours");
    assert_eq!(texts(&out).0, "new");
    assert_eq!(signals.last(), Some(&Signal::Idle));
}

#[test]
fn plugin_markup_is_stripped_from_text_only_even_when_split() {
    let mut t = TurnTranslator::new(FLOOR.into());
    let (out, _) = run(
        &mut t,
        &[
            status("busy"),
            message("msg_201", "assistant"),
            part(
                "prt_r",
                "msg_201",
                "reasoning",
                json!({"text": "", "time": {"start": 1}}),
            ),
            delta(
                "msg_201",
                "prt_r",
                "<dcp-message-id>r1</dcp-message-id> keep",
            ),
            part(
                "prt_t",
                "msg_201",
                "text",
                json!({"text": "", "time": {"start": 2}}),
            ),
            delta("msg_201", "prt_t", "Done.<dcp-mess"),
            delta("msg_201", "prt_t", "age-id>m7</dcp-"),
            delta("msg_201", "prt_t", "message-id> Bye"),
            part(
                "prt_t",
                "msg_201",
                "text",
                json!({"text": "Done.<dcp-message-id>m7</dcp-message-id> Bye", "time": {"start": 2, "end": 3}}),
            ),
        ],
    );
    let (text, reasoning) = texts(&out);
    assert_eq!(text, "Done. Bye");
    assert_eq!(reasoning, "<dcp-message-id>r1</dcp-message-id> keep");
}

#[test]
fn tool_parts_become_one_call_with_updates() {
    let mut t = TurnTranslator::new(FLOOR.into());
    let tool = |status: &str, extra: Value| {
        let mut state =
            json!({"status": status, "input": {"filePath": "/w/f.txt", "content": "hi"}});
        if let (Some(s), Some(e)) = (state.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        part(
            "prt_w",
            "msg_201",
            "tool",
            json!({"tool": "write", "callID": "call_0", "state": state}),
        )
    };
    let (out, _) = run(
        &mut t,
        &[
            status("busy"),
            message("msg_201", "assistant"),
            tool("pending", json!({})),
            tool("running", json!({})),
            tool("running", json!({})),
            tool(
                "completed",
                json!({"output": "Wrote file successfully.", "title": "f.txt"}),
            ),
        ],
    );
    let calls: Vec<(&str, &str, &str)> = out
        .iter()
        .map(|e| match e {
            AgentEvent::ToolCall { tool_call } => {
                ("call", tool_call.status.as_str(), tool_call.kind.as_str())
            }
            AgentEvent::ToolUpdate { tool_call } => (
                "update",
                tool_call.status.as_str(),
                tool_call.title.as_str(),
            ),
            _ => ("other", "", ""),
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("call", "pending", "edit"),
            ("update", "in_progress", "write"),
            ("update", "completed", "f.txt")
        ]
    );
}

#[test]
fn session_errors_keep_the_first_message_and_abort_is_not_an_error() {
    let mut t = TurnTranslator::new(FLOOR.into());
    let error = |name: &str, message: &str| {
        ev(
            "session.error",
            json!({"sessionID": "ses_1", "error": {"name": name, "data": {"message": message}}}),
        )
    };
    let (_, signals) = run(
        &mut t,
        &[
            error("UnknownError", "Model not found: boocode/nope."),
            ev("session.idle", json!({"sessionID": "ses_1"})),
            error("UnknownError", "Error: stack trace …"),
        ],
    );
    assert_eq!(
        signals[1],
        Signal::Idle,
        "an error makes the next idle ours"
    );
    assert_eq!(t.error.as_deref(), Some("Model not found: boocode/nope."));
    let mut aborted = TurnTranslator::new(FLOOR.into());
    run(&mut aborted, &[error("MessageAbortedError", "Aborted")]);
    assert!(aborted.aborted && aborted.error.is_none());
}

#[test]
fn reconcile_adds_what_the_stream_missed_and_fails_open_tools() {
    let mut t = TurnTranslator::new(FLOOR.into());
    let (mut out, _) = run(
        &mut t,
        &[
            status("busy"),
            message("msg_201", "assistant"),
            part(
                "prt_t",
                "msg_201",
                "text",
                json!({"text": "", "time": {"start": 1}}),
            ),
            delta("msg_201", "prt_t", "Hel"),
            part(
                "prt_b",
                "msg_201",
                "tool",
                json!({"tool": "bash", "callID": "c1", "state": {"status": "running", "input": {"command": "sleep 9"}}}),
            ),
        ],
    );
    let messages = json!([
        {"info": {"id": "msg_090", "role": "assistant"}, "parts": [{"id": "prt_x", "type": "text", "text": "old"}]},
        {"info": {"id": "msg_200", "role": "user"}, "parts": [{"id": "prt_u", "type": "text", "text": "prompt"}]},
        {"info": {"id": "msg_201", "role": "assistant", "error": {"name": "MessageAbortedError"}, "tokens": {"input": 10, "output": 2}},
         "parts": [{"id": "prt_t", "type": "text", "text": "Hello"},
                   {"id": "prt_b", "type": "tool", "tool": "bash", "callID": "c1", "state": {"status": "running", "input": {"command": "sleep 9"}}}]}
    ]);
    t.reconcile(&messages, &mut out);
    t.fail_open_tools("aborted", &mut out);
    assert_eq!(texts(&out).0, "Hello");
    assert!(t.aborted);
    assert!(
        matches!(out.last(), Some(AgentEvent::ToolUpdate { tool_call }) if tool_call.status == boocode_protocol::ToolStatus::Failed)
    );
    assert_eq!(t.usage.unwrap().prompt_tokens, 10);
}
