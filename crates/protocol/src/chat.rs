//! Chat-specific wire types: per-chat settings forwarded to the model server, the chat list with its
//! search snippets, branching (regenerate, active leaf) and presets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use ts_rs::TS;

use crate::dto::Chat;
use crate::ids::{MessageId, ProjectId, UploadId};

/// How hard a reasoning model thinks; `none` turns thinking off (also `enable_thinking: false` for
/// templates that read it, such as Qwen 3's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    None,
    Low,
    Medium,
    High,
}

impl ReasoningEffort {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Sampling parameters of a chat, forwarded to the model server under these names when set. Unset
/// fields are left to the server's own defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct ChatParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(type = "number")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
}

impl ChatParams {
    /// Checks every set value against the range model servers accept; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        fn range(name: &str, v: Option<f64>, lo: f64, hi: f64) -> Result<(), String> {
            match v {
                Some(x) if !x.is_finite() || x < lo || x > hi => {
                    Err(format!("{name} must be between {lo} and {hi}, got {x}"))
                }
                _ => Ok(()),
            }
        }
        range("temperature", self.temperature, 0.0, 5.0)?;
        range("top_p", self.top_p, 0.0, 1.0)?;
        range("min_p", self.min_p, 0.0, 1.0)?;
        range("presence_penalty", self.presence_penalty, -2.0, 2.0)?;
        range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)?;
        range("repeat_penalty", self.repeat_penalty, 0.0, 5.0)?;
        if self.max_tokens == Some(0) {
            return Err("max_tokens must be at least 1".into());
        }
        if let Some(stop) = &self.stop {
            if stop.len() > 8 {
                return Err(format!("at most 8 stop sequences, got {}", stop.len()));
            }
            if stop.iter().any(String::is_empty) {
                return Err("stop sequences must not be empty".into());
            }
        }
        Ok(())
    }

    /// True when no parameter is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Part of a search snippet: text as stored, `hit` where it matched the query. Plain text, never HTML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

/// One row of `GET /api/chats`: the chat, where it lives, and (when searching) why it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChatListItem {
    pub chat: Chat,
    pub session_name: String,
    pub project_id: ProjectId,
    pub project_name: String,
    /// The best-matching passage of message text; empty when only the title matched or no query.
    pub snippet: Vec<SnippetPart>,
}

/// `GET /api/chats` query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct ChatListQuery {
    /// Words to find in titles and message text (each a prefix; all must match).
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    /// Archived chats instead of live ones.
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub kind: Option<crate::ChatKind>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// `POST /api/messages/{id}/regenerate`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct RegenerateRequest {
    /// Answer with this model instead of the one that answered before.
    #[serde(default)]
    pub model: Option<String>,
}

/// 202 answer to a regenerate: the new reply streams as frames.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct RegenerateResponse {
    pub assistant_message_id: MessageId,
}

/// `POST /api/messages/{id}/fork`: a new chat holding the path up to that message.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ForkResponse {
    pub chat: Chat,
}

/// A named system prompt with parameters, reusable across chats of a project (or everywhere when
/// `project_id` is null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Preset {
    pub id: String,
    pub project_id: Option<ProjectId>,
    pub name: String,
    pub system_prompt: String,
    pub params: ChatParams,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/presets`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct CreatePresetRequest {
    pub name: String,
    #[serde(default)]
    pub project_id: Option<ProjectId>,
    #[serde(default)]
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub params: Option<ChatParams>,
}

/// A field that distinguishes "absent" (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_reject_out_of_range_and_unknown_fields() {
        let p = ChatParams {
            temperature: Some(9.0),
            ..Default::default()
        };
        assert!(p.validate().unwrap_err().contains("temperature"));
        assert!(serde_json::from_str::<ChatParams>(r#"{"temprature": 1}"#).is_err());
        let ok: ChatParams = serde_json::from_str(r#"{"seed": 7, "stop": ["\n\n"]}"#).unwrap();
        assert!(ok.validate().is_ok());
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"seed":7,"stop":["\n\n"]}"#
        );
    }
}

/// The `format` of a boocode chat export, so an import can tell it from other tools' files.
pub const CHAT_EXPORT_FORMAT: &str = "boocode.chat.v1";

/// `GET /api/chats/{id}/export?format=json`: a chat with every branch and its settings. Importing it
/// gives an equal chat (new ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChatExport {
    /// Always [`CHAT_EXPORT_FORMAT`].
    pub format: String,
    pub name: String,
    pub kind: crate::ChatKind,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub params: ChatParams,
    #[serde(default)]
    pub pinned: bool,
    pub created_at: DateTime<Utc>,
    /// The message shown last (ids are the export's own).
    pub active_leaf_id: Option<String>,
    pub messages: Vec<ExportedMessage>,
}

/// One message of an export; `id` and `parent_id` are local to the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ExportedMessage {
    pub id: String,
    pub parent_id: Option<String>,
    pub role: crate::Role,
    pub content: String,
    #[serde(default)]
    pub reasoning: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub tokens_prompt: Option<u64>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub tokens_completion: Option<u64>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub ttft_ms: Option<u64>,
    #[serde(default)]
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
    pub created_at: DateTime<Utc>,
    /// Files sent with the message, their bytes included.
    #[serde(default)]
    pub attachments: Vec<ExportedAttachment>,
}

/// An attached file inside an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportedAttachment {
    pub name: String,
    /// The file's bytes, base64 (standard alphabet, padded).
    pub data_base64: String,
}

/// `GET /api/chats/{id}/export` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Md,
    Json,
}

/// 201 answer to `POST /api/chats/import?session_id=…`: the chats created, in file order.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ImportResponse {
    pub chats: Vec<Chat>,
}

/// How an attachment reaches the model: text files as text (with their name), images as
/// `image_url` parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Text,
    Image,
}

impl AttachmentKind {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
        }
    }
    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "image" => Some(Self::Image),
            _ => None,
        }
    }
}

/// A stored upload (`POST /api/uploads` answers one); messages list the ones attached to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Attachment {
    pub id: UploadId,
    /// The name the file had, shown and told to the model; never used as a path.
    pub name: String,
    pub kind: AttachmentKind,
    pub mime: String,
    #[ts(type = "number")]
    pub size: u64,
}

/// Server-wide settings changed from the UI (`GET`/`PATCH /api/settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServerSettings {
    /// The model used when neither the chat, the session nor the project names one; set here, it
    /// wins over `--default-model`.
    pub default_model: Option<String>,
    /// The model `--default-model` (or the config file) gives, shown for reference.
    pub configured_default_model: Option<String>,
}

/// `PATCH /api/settings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct UpdateServerSettingsRequest {
    /// An empty string clears it (back to `--default-model`).
    #[serde(default)]
    pub default_model: Option<String>,
}
