//! opencode's events for one turn → `AgentEvent`s. Parts are classified by the type learned from
//! `message.part.updated` (never by a delta's `field`, which says `text` for reasoning too); deltas of a
//! part whose type is not known yet wait for it. A part's final update only adds what its deltas did not
//! already stream (whitespace-only deltas are real text). Messages at or before the turn's floor (the
//! session's last message when the prompt was sent) and user messages (the prompt's echo) are ignored.
//! Tool parts become tool calls keyed by `callID`. Completion is `session.idle` (or an idle status) once
//! the session was seen busy or failing, so a late idle from an earlier turn is not taken for this one.

use std::collections::{HashMap, HashSet};

use boocode_protocol::{AgentEvent, ToolCall, ToolKind, ToolStatus, Usage};
use serde_json::Value;

use super::markup::MarkupStripper;

/// What the caller must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Signal {
    Continue,
    /// The session went idle: reconcile, then end the turn.
    Idle,
    /// opencode asks permission (the `permission.asked` properties).
    Permission(Value),
    /// opencode's `question` tool asks the user (the `question.asked` properties).
    Question(Value),
}

/// One turn's translation state.
#[derive(Debug, Default)]
pub(crate) struct TurnTranslator {
    /// Message ids up to this one belong to earlier turns.
    floor: String,
    roles: HashMap<String, String>,
    part_types: HashMap<String, String>,
    /// Events of parts or messages not classified yet, in arrival order.
    waiting: Vec<Value>,
    /// Raw text streamed per part.
    streamed: HashMap<String, String>,
    /// Parts whose final text was taken into account.
    finished: HashSet<String>,
    strippers: HashMap<String, MarkupStripper>,
    tools: HashMap<String, ToolCall>,
    busy_seen: bool,
    /// The first failure opencode reported (later ones repeat it).
    pub(crate) error: Option<String>,
    pub(crate) aborted: bool,
    pub(crate) usage: Option<Usage>,
}

impl TurnTranslator {
    /// A turn whose own messages sort after `floor` (empty for a new session).
    pub(crate) fn new(floor: String) -> Self {
        Self {
            floor,
            ..Self::default()
        }
    }

    fn ours(&self, message_id: &str) -> bool {
        message_id > self.floor.as_str()
    }

    /// Handles one event of the session, appending what it means to `out`.
    pub(crate) fn handle(&mut self, event: &Value, out: &mut Vec<AgentEvent>) -> Signal {
        let p = &event["properties"];
        match event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
        {
            "message.updated" => {
                let info = &p["info"];
                let (Some(id), Some(role)) = (info["id"].as_str(), info["role"].as_str()) else {
                    return Signal::Continue;
                };
                if !self.ours(id) {
                    return Signal::Continue;
                }
                self.roles.insert(id.to_owned(), role.to_owned());
                if role == "assistant" {
                    self.usage_from(&info["tokens"]);
                }
                self.replay_waiting(out);
            }
            "message.part.updated" => self.part(&p["part"], out),
            "message.part.delta" => self.delta(p, out),
            "session.status" => match p.pointer("/status/type").and_then(Value::as_str) {
                Some("busy" | "retry") => self.busy_seen = true,
                Some("idle") if self.busy_seen => return Signal::Idle,
                _ => {}
            },
            "session.idle" if self.busy_seen => return Signal::Idle,
            "session.error" => {
                self.busy_seen = true;
                let name = p.pointer("/error/name").and_then(Value::as_str);
                if name == Some("MessageAbortedError") {
                    self.aborted = true;
                } else if self.error.is_none() {
                    let message = p
                        .pointer("/error/data/message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| name.unwrap_or("unknown error").to_owned());
                    self.error = Some(message);
                }
            }
            "permission.asked" => return Signal::Permission(p.clone()),
            "question.asked" => return Signal::Question(p.clone()),
            _ => {}
        }
        Signal::Continue
    }

    fn replay_waiting(&mut self, out: &mut Vec<AgentEvent>) {
        let waiting = std::mem::take(&mut self.waiting);
        for event in waiting {
            if event.get("part").is_some() {
                self.part(&event["part"], out);
            } else {
                self.delta(&event, out);
            }
        }
    }

    fn part(&mut self, part: &Value, out: &mut Vec<AgentEvent>) {
        let (Some(id), Some(message), Some(kind)) = (
            part["id"].as_str(),
            part["messageID"].as_str(),
            part["type"].as_str(),
        ) else {
            return;
        };
        if !self.ours(message) {
            return;
        }
        match self.roles.get(message).map(String::as_str) {
            Some("assistant") => {}
            Some(_) => return,
            None => {
                self.waiting.push(serde_json::json!({"part": part}));
                return;
            }
        }
        self.part_types.insert(id.to_owned(), kind.to_owned());
        match kind {
            "text" | "reasoning" => {
                self.replay_waiting(out);
                if part.pointer("/time/end").is_some() {
                    self.finish_part(id, kind, part["text"].as_str().unwrap_or_default(), out);
                }
            }
            "tool" => self.tool(part, out),
            "step-finish" => self.usage_from(&part["tokens"]),
            _ => {}
        }
    }

    fn delta(&mut self, p: &Value, out: &mut Vec<AgentEvent>) {
        let (Some(message), Some(part), Some(delta)) = (
            p["messageID"].as_str(),
            p["partID"].as_str(),
            p["delta"].as_str(),
        ) else {
            return;
        };
        if !self.ours(message) || self.finished.contains(part) {
            return;
        }
        let role = self.roles.get(message).map(String::as_str);
        let kind = self.part_types.get(part).cloned();
        match (role, kind.as_deref()) {
            (Some("assistant"), Some(kind @ ("text" | "reasoning"))) => {
                self.streamed
                    .entry(part.to_owned())
                    .or_default()
                    .push_str(delta);
                self.emit(part, kind, delta, out);
            }
            (Some("assistant"), Some(_)) | (Some(_), Some(_)) => {}
            (Some("assistant"), None) | (None, _) => self.waiting.push(p.clone()),
            // A user message's part (the prompt's echo).
            (Some(_), None) => {}
        }
    }

    fn emit(&mut self, part: &str, kind: &str, text: &str, out: &mut Vec<AgentEvent>) {
        if kind == "reasoning" {
            if !text.is_empty() {
                out.push(AgentEvent::Reasoning {
                    content: text.to_owned(),
                });
            }
            return;
        }
        let clean = self
            .strippers
            .entry(part.to_owned())
            .or_default()
            .push(text);
        if !clean.is_empty() {
            out.push(AgentEvent::Text { content: clean });
        }
    }

    /// A part's final text: whatever the deltas did not stream is emitted now.
    fn finish_part(&mut self, id: &str, kind: &str, text: &str, out: &mut Vec<AgentEvent>) {
        if self.finished.contains(id) {
            return;
        }
        let streamed = self.streamed.remove(id).unwrap_or_default();
        if let Some(rest) = text.strip_prefix(streamed.as_str()) {
            let rest = rest.to_owned();
            self.emit(id, kind, &rest, out);
        } else {
            tracing::debug!(
                part = id,
                "opencode's final text differs from its deltas; keeping the streamed text"
            );
        }
        if let Some(mut stripper) = self.strippers.remove(id) {
            let tail = stripper.finish();
            if !tail.is_empty() {
                out.push(AgentEvent::Text { content: tail });
            }
        }
        self.finished.insert(id.to_owned());
    }

    fn tool(&mut self, part: &Value, out: &mut Vec<AgentEvent>) {
        let Some(call_id) = part["callID"].as_str() else {
            return;
        };
        let state = &part["state"];
        let tool = part["tool"].as_str().unwrap_or("tool");
        let call = ToolCall {
            call_id: call_id.to_owned(),
            title: state["title"]
                .as_str()
                .filter(|t| !t.is_empty())
                .unwrap_or(tool)
                .to_owned(),
            kind: tool_kind(tool),
            status: match state["status"].as_str() {
                Some("running") => ToolStatus::InProgress,
                Some("completed") => ToolStatus::Completed,
                Some("error") => ToolStatus::Failed,
                _ => ToolStatus::Pending,
            },
            raw_input: state.get("input").cloned().filter(|v| !v.is_null()),
            raw_output: state
                .get("output")
                .or_else(|| state.get("error"))
                .cloned()
                .filter(|v| !v.is_null()),
        };
        match self.tools.get(call_id) {
            None => out.push(AgentEvent::ToolCall {
                tool_call: call.clone(),
            }),
            Some(known) if *known != call => out.push(AgentEvent::ToolUpdate {
                tool_call: call.clone(),
            }),
            Some(_) => {}
        }
        self.tools.insert(call_id.to_owned(), call);
    }

    fn usage_from(&mut self, tokens: &Value) {
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        if tokens.is_null() || n(&tokens["input"]) + n(&tokens["output"]) == 0 {
            return;
        }
        self.usage = Some(Usage {
            prompt_tokens: n(&tokens["input"]) + n(&tokens["cache"]["read"]),
            completion_tokens: n(&tokens["output"]) + n(&tokens["reasoning"]),
            context_limit: None,
        });
    }

    /// Takes the session's messages (`GET /session/:id/message`) as the truth after idle: final texts
    /// not yet streamed, tool states, usage and an assistant error not yet heard.
    pub(crate) fn reconcile(&mut self, messages: &Value, out: &mut Vec<AgentEvent>) {
        for m in messages.as_array().into_iter().flatten() {
            let info = &m["info"];
            let (Some(id), Some(role)) = (info["id"].as_str(), info["role"].as_str()) else {
                continue;
            };
            if !self.ours(id) || role != "assistant" {
                continue;
            }
            self.roles.insert(id.to_owned(), role.to_owned());
            self.usage_from(&info["tokens"]);
            if let Some(name) = info.pointer("/error/name").and_then(Value::as_str) {
                if name == "MessageAbortedError" {
                    self.aborted = true;
                } else if self.error.is_none() {
                    let message = info
                        .pointer("/error/data/message")
                        .and_then(Value::as_str)
                        .unwrap_or(name);
                    self.error = Some(message.to_owned());
                }
            }
            for part in m["parts"].as_array().into_iter().flatten() {
                let (Some(pid), Some(kind)) = (part["id"].as_str(), part["type"].as_str()) else {
                    continue;
                };
                match kind {
                    "text" | "reasoning" => {
                        self.part_types.insert(pid.to_owned(), kind.to_owned());
                        self.finish_part(pid, kind, part["text"].as_str().unwrap_or_default(), out);
                    }
                    "tool" => self.tool(part, out),
                    _ => {}
                }
            }
        }
    }

    /// Tool calls still pending or running when the turn ends (aborted or failed) are marked failed.
    pub(crate) fn fail_open_tools(&mut self, why: &str, out: &mut Vec<AgentEvent>) {
        for call in self.tools.values_mut() {
            if call.status.is_open() {
                call.status = ToolStatus::Failed;
                call.raw_output = Some(Value::String(why.to_owned()));
                out.push(AgentEvent::ToolUpdate {
                    tool_call: call.clone(),
                });
            }
        }
    }
}

/// opencode's tool names → ACP's tool kinds, so the UI shows them alike.
fn tool_kind(tool: &str) -> ToolKind {
    match tool {
        "write" | "edit" | "patch" | "multiedit" => ToolKind::Edit,
        "bash" => ToolKind::Execute,
        "read" | "list" => ToolKind::Read,
        "grep" | "glob" | "codesearch" => ToolKind::Search,
        "webfetch" | "websearch" => ToolKind::Fetch,
        "todowrite" | "todoread" => ToolKind::Think,
        _ => ToolKind::Other,
    }
}

#[cfg(test)]
#[path = "translate_tests.rs"]
mod tests;
