//! ACP `session/update` → `AgentEvent`, at the backend's edge. Tool calls are upserted by id (an update
//! carries only what changed); `plan` becomes a plan item; mode and config updates are kept by the
//! session, not emitted; anything unknown is logged and ignored, never fatal.

use std::collections::HashMap;

use boocode_protocol::{AgentCommand, AgentEvent, ToolCall, ToolKind, ToolStatus, Usage};
use serde_json::{Value, json};

/// Per-turn translation state.
#[derive(Debug, Default)]
pub struct Translator {
    calls: HashMap<String, ToolCall>,
    /// The session's current mode, as the agent last reported it.
    pub current_mode: Option<String>,
}

fn text_of(content: &Value) -> Option<String> {
    match content.get("type").and_then(Value::as_str) {
        Some("text") => content
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Some("resource_link") => content
            .get("uri")
            .and_then(Value::as_str)
            .map(|u| format!("[{u}]({u})")),
        _ => None,
    }
}

fn status_of(v: &Value) -> Option<ToolStatus> {
    v.get("status")
        .and_then(Value::as_str)
        .and_then(ToolStatus::parse)
}

impl Translator {
    /// Events for one `session/update` notification's `update` object.
    pub fn translate(&mut self, update: &Value) -> Vec<AgentEvent> {
        let tag = update
            .get("sessionUpdate")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match tag {
            "agent_message_chunk" => text_of(&update["content"])
                .filter(|t| !t.is_empty())
                .map(|content| vec![AgentEvent::Text { content }])
                .unwrap_or_default(),
            "agent_thought_chunk" => text_of(&update["content"])
                .filter(|t| !t.is_empty())
                .map(|content| vec![AgentEvent::Reasoning { content }])
                .unwrap_or_default(),
            // Replayed history (session/load) and echoes of our own prompt.
            "user_message_chunk" => Vec::new(),
            "tool_call" => {
                let call = self.merge(update, true);
                vec![AgentEvent::ToolCall { tool_call: call }]
            }
            "tool_call_update" => {
                let id = update
                    .get("toolCallId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let known = self.calls.contains_key(id);
                let call = self.merge(update, !known);
                if known {
                    vec![AgentEvent::ToolUpdate { tool_call: call }]
                } else {
                    vec![AgentEvent::ToolCall { tool_call: call }]
                }
            }
            "plan" => {
                let entries = update
                    .get("entries")
                    .cloned()
                    .unwrap_or(Value::Array(Vec::new()));
                let done = entries
                    .as_array()
                    .is_some_and(|e| e.iter().all(|x| x["status"] == "completed"));
                let call = ToolCall {
                    call_id: "plan".into(),
                    title: "Plan".into(),
                    kind: ToolKind::Plan,
                    status: if done {
                        ToolStatus::Completed
                    } else {
                        ToolStatus::InProgress
                    },
                    raw_input: Some(entries),
                    raw_output: None,
                };
                let event = if self.calls.insert("plan".into(), call.clone()).is_some() {
                    AgentEvent::ToolUpdate { tool_call: call }
                } else {
                    AgentEvent::ToolCall { tool_call: call }
                };
                vec![event]
            }
            "available_commands_update" => {
                let commands = update
                    .get("availableCommands")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|c| {
                                Some(AgentCommand {
                                    name: c.get("name")?.as_str()?.to_owned(),
                                    description: c
                                        .get("description")
                                        .and_then(Value::as_str)
                                        .unwrap_or_default()
                                        .to_owned(),
                                    input_hint: c
                                        .pointer("/input/hint")
                                        .and_then(Value::as_str)
                                        .map(str::to_owned),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                vec![AgentEvent::Commands { commands }]
            }
            "usage_update" => {
                let used = update.get("used").and_then(Value::as_u64).unwrap_or(0);
                let size = update.get("size").and_then(Value::as_u64);
                vec![AgentEvent::Usage {
                    usage: Usage {
                        prompt_tokens: used,
                        completion_tokens: 0,
                        context_limit: size,
                    },
                }]
            }
            "current_mode_update" => {
                self.current_mode = update
                    .get("currentModeId")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Vec::new()
            }
            "config_option_update" | "session_info_update" => Vec::new(),
            other => {
                tracing::debug!(update = other, "unknown session update ignored");
                Vec::new()
            }
        }
    }

    /// Tool calls left unfinished, marked cancelled (the turn was stopped).
    pub fn cancel_open_calls(&mut self) -> Vec<AgentEvent> {
        self.calls
            .values_mut()
            .filter(|c| c.status.is_open())
            .map(|c| {
                c.status = ToolStatus::Cancelled;
                AgentEvent::ToolUpdate {
                    tool_call: c.clone(),
                }
            })
            .collect()
    }

    fn merge(&mut self, update: &Value, fresh: bool) -> ToolCall {
        let id = update
            .get("toolCallId")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let entry = self.calls.entry(id.clone()).or_insert_with(|| ToolCall {
            call_id: id,
            title: String::new(),
            kind: ToolKind::Other,
            status: ToolStatus::Pending,
            raw_input: None,
            raw_output: None,
        });
        if let Some(title) = update.get("title").and_then(Value::as_str) {
            entry.title = title.to_owned();
        }
        if let Some(kind) = update.get("kind").and_then(Value::as_str) {
            entry.kind = ToolKind::parse(kind);
        }
        if let Some(status) = status_of(update) {
            entry.status = status;
        } else if fresh {
            entry.status = ToolStatus::Pending;
        }
        if let Some(input) = update.get("rawInput").filter(|v| !v.is_null()) {
            entry.raw_input = Some(input.clone());
        }
        // Output, diff content and locations travel together in raw_output.
        let mut output = entry
            .raw_output
            .take()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        for (from, to) in [
            ("rawOutput", "output"),
            ("content", "content"),
            ("locations", "locations"),
        ] {
            if let Some(v) = update.get(from).filter(|v| !v.is_null()) {
                output.insert(to.into(), v.clone());
            }
        }
        entry.raw_output = (!output.is_empty()).then(|| json!(output));
        if entry.title.is_empty() {
            entry.title = entry.kind.as_str().to_owned();
        }
        entry.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(updates: &[Value]) -> Vec<String> {
        let mut t = Translator::default();
        updates
            .iter()
            .flat_map(|u| t.translate(u))
            .map(|e| serde_json::to_string(&e).unwrap_or_default())
            .collect()
    }

    #[test]
    fn chunks_tools_plan_commands_usage() {
        let got = run(&[
            json!({"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": "hmm"}}),
            json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": ""}}),
            json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "Hi"}, "messageId": "m1"}),
            json!({"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": "replayed"}}),
            json!({"sessionUpdate": "tool_call", "toolCallId": "t1", "title": "Write a.txt", "kind": "edit", "rawInput": {}}),
            json!({"sessionUpdate": "tool_call_update", "toolCallId": "t1", "rawInput": {"path": "a.txt"}, "status": "in_progress"}),
            json!({"sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "completed",
                   "content": [{"type": "diff", "path": "a.txt", "newText": "x"}], "locations": [{"path": "a.txt"}]}),
            json!({"sessionUpdate": "tool_call_update", "toolCallId": "t9", "status": "in_progress", "kind": "execute"}),
            json!({"sessionUpdate": "plan", "entries": [{"content": "step", "priority": "high", "status": "pending"}]}),
            json!({"sessionUpdate": "available_commands_update", "availableCommands": [{"name": "review", "description": "R", "input": {"hint": "path"}}]}),
            json!({"sessionUpdate": "usage_update", "used": 1200, "size": 32768}),
            json!({"sessionUpdate": "current_mode_update", "currentModeId": "plan"}),
            json!({"sessionUpdate": "brand_new_thing", "x": 1}),
        ]);
        let expected = [
            r#"{"type":"reasoning","content":"hmm"}"#,
            r#"{"type":"text","content":"Hi"}"#,
            r#"{"type":"tool_call","tool_call":{"call_id":"t1","title":"Write a.txt","kind":"edit","status":"pending","raw_input":{},"raw_output":null}}"#,
            r#"{"type":"tool_update","tool_call":{"call_id":"t1","title":"Write a.txt","kind":"edit","status":"in_progress","raw_input":{"path":"a.txt"},"raw_output":null}}"#,
            r#"{"type":"tool_update","tool_call":{"call_id":"t1","title":"Write a.txt","kind":"edit","status":"completed","raw_input":{"path":"a.txt"},"raw_output":{"content":[{"newText":"x","path":"a.txt","type":"diff"}],"locations":[{"path":"a.txt"}]}}}"#,
            r#"{"type":"tool_call","tool_call":{"call_id":"t9","title":"execute","kind":"execute","status":"in_progress","raw_input":null,"raw_output":null}}"#,
            r#"{"type":"tool_call","tool_call":{"call_id":"plan","title":"Plan","kind":"plan","status":"in_progress","raw_input":[{"content":"step","priority":"high","status":"pending"}],"raw_output":null}}"#,
            r#"{"type":"commands","commands":[{"name":"review","description":"R","input_hint":"path"}]}"#,
            r#"{"type":"usage","usage":{"prompt_tokens":1200,"completion_tokens":0,"context_limit":32768}}"#,
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn cancel_marks_open_calls() {
        let mut t = Translator::default();
        t.translate(&json!({"sessionUpdate": "tool_call", "toolCallId": "a", "title": "A", "status": "in_progress"}));
        t.translate(&json!({"sessionUpdate": "tool_call", "toolCallId": "b", "title": "B", "status": "completed"}));
        let cancelled = t.cancel_open_calls();
        assert_eq!(cancelled.len(), 1);
        assert!(
            matches!(&cancelled[0], AgentEvent::ToolUpdate { tool_call } if tool_call.call_id == "a" && tool_call.status == ToolStatus::Cancelled)
        );
    }
}
