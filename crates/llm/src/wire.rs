//! Request and chunk shapes of the OpenAI chat-completions API, lenient on input (every field defaulted,
//! unknown fields ignored) because servers differ (docs/ARCHITECTURE.md §15).

use serde::{Deserialize, Serialize};

/// One message of the conversation sent to the model: text, an assistant turn that called tools, or a
/// tool's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<WireToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Images (data or http URLs) sent with a user message: the request then carries `content` as
    /// parts, the text first and an `image_url` part per image, as vision models take them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

/// A tool call as sent back to the model in history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireToolCall {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub function: WireFunction,
}

/// Name and JSON arguments of a called function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFunction {
    pub name: String,
    pub arguments: String,
}

impl ChatMessage {
    /// A message with the given role.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_owned(),
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            images: Vec::new(),
        }
    }

    /// The assistant's turn that asked for `calls`.
    pub fn assistant_calls(content: impl Into<String>, calls: &[crate::ToolCallRequest]) -> Self {
        let tool_calls = calls
            .iter()
            .map(|c| WireToolCall {
                id: c.id.clone(),
                kind: "function".into(),
                function: WireFunction {
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                },
            })
            .collect();
        Self {
            tool_calls,
            ..Self::new("assistant", content)
        }
    }

    /// A tool's result for the call `id`.
    pub fn tool_result(id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(id.into()),
            ..Self::new("tool", content)
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// What to ask the model.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub tools: Vec<ToolSpec>,
    /// Ask the server not to think (titles): `reasoning_effort: "none"` and `enable_thinking: false`.
    pub disable_reasoning: bool,
    /// Fields the user set for this conversation (sampling parameters and the like), forwarded as they
    /// are; they never replace `model`, `messages`, `stream`, `stream_options` or `tools`.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ChatRequest {
    pub(crate) fn body(&self, stream: bool) -> serde_json::Value {
        let messages: Vec<serde_json::Value> = self.messages.iter().map(wire_message).collect();
        let mut body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "stream": stream,
        });
        let obj = body.as_object_mut();
        if let Some(obj) = obj {
            if stream {
                obj.insert(
                    "stream_options".into(),
                    serde_json::json!({"include_usage": true}),
                );
            }
            if let Some(t) = self.temperature {
                obj.insert("temperature".into(), t.into());
            }
            if let Some(m) = self.max_tokens {
                obj.insert("max_tokens".into(), m.into());
            }
            if !self.tools.is_empty() {
                let tools: Vec<_> = self
                    .tools
                    .iter()
                    .map(|t| serde_json::json!({"type": "function", "function": t}))
                    .collect();
                obj.insert("tools".into(), tools.into());
            }
            for (key, value) in &self.extra {
                if !matches!(
                    key.as_str(),
                    "model" | "messages" | "stream" | "stream_options" | "tools"
                ) {
                    obj.insert(key.clone(), value.clone());
                }
            }
            if self.disable_reasoning {
                obj.insert("reasoning_effort".into(), "none".into());
                obj.insert(
                    "chat_template_kwargs".into(),
                    serde_json::json!({"enable_thinking": false}),
                );
            }
        }
        body
    }
}

/// A message as sent: with images, `content` becomes `[{type: text}, {type: image_url}…]`.
fn wire_message(m: &ChatMessage) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    if let Some(obj) = v.as_object_mut()
        && obj.remove("images").is_some()
    {
        let mut parts = vec![serde_json::json!({"type": "text", "text": m.content})];
        parts.extend(
            m.images
                .iter()
                .map(|url| serde_json::json!({"type": "image_url", "image_url": {"url": url}})),
        );
        obj.insert("content".into(), parts.into());
    }
    v
}

/// Token counts as the server reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct TokenUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

/// A whole (non-streamed) answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub content: String,
    pub reasoning: String,
    pub usage: Option<TokenUsage>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Chunk {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<TokenUsage>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub message: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub reasoning_content: Option<String>,
    #[serde(default)]
    pub reasoning: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

/// One streamed fragment of a tool call.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ToolCallDelta {
    #[serde(default)]
    pub index: Option<u32>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

/// The function part of a tool-call fragment.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// Pulls a readable message out of an error body (`{"error":{"message"}}`, `{"error":"…"}`, or text).
pub(crate) fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        let err = v.get("error").unwrap_or(v);
        err.get("message")
            .and_then(|m| m.as_str())
            .or_else(|| err.as_str())
            .map(str::to_owned)
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_owned());
    let mut text: String = text.chars().take(500).collect();
    if text.is_empty() {
        text = "(empty body)".into();
    }
    text
}
