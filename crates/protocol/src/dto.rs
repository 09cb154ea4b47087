//! REST request and response bodies (docs/ARCHITECTURE.md §5). Objects carry the columns of §3.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ids::{ChatId, MessageId, ProjectId, SessionId};

/// Error body of every 4xx/5xx answer: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

/// The stable `code` plus a human-readable message.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// A git repository boocode works on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Project {
    pub id: ProjectId,
    pub name: String,
    pub path: String,
    pub default_model: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/projects`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct CreateProjectRequest {
    #[serde(default)]
    pub name: Option<String>,
    pub path: String,
    #[serde(default)]
    pub default_model: Option<String>,
}

/// `PATCH /api/projects/{id}`: absent fields are left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct UpdateProjectRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub default_model: Option<String>,
}

/// Open or closed, for sessions and chats alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OpenStatus {
    Open,
    Closed,
}

impl OpenStatus {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A unit of work inside a project: its chats, frames and (later) worktree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Session {
    pub id: SessionId,
    pub project_id: ProjectId,
    pub name: String,
    pub model: Option<String>,
    pub status: OpenStatus,
    pub created_at: DateTime<Utc>,
    /// The last frame number; the UI loads state over REST, then connects with `since=last_seq`.
    #[ts(type = "number")]
    pub last_seq: u64,
}

/// `POST /api/projects/{id}/sessions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct CreateSessionRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
}

/// `PATCH /api/sessions/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct UpdateSessionRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub status: Option<OpenStatus>,
}

/// What a chat is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Chat,
    Coder,
    Terminal,
}

impl ChatKind {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Coder => "coder",
            Self::Terminal => "terminal",
        }
    }
    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chat" => Some(Self::Chat),
            "coder" => Some(Self::Coder),
            "terminal" => Some(Self::Terminal),
            _ => None,
        }
    }
}

/// A conversation inside a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Chat {
    pub id: ChatId,
    pub session_id: SessionId,
    pub name: String,
    pub kind: ChatKind,
    /// Whether the chat is open in the workspace (a tab); closing a tab never deletes the chat.
    pub status: OpenStatus,
    pub created_at: DateTime<Utc>,
    /// When the chat last changed (a message, a rename): the chat list is newest first.
    pub updated_at: DateTime<Utc>,
    pub pinned: bool,
    pub archived: bool,
    /// The newest message of the branch being shown; the next message follows it.
    pub active_leaf_id: Option<MessageId>,
    /// The chat's own model; else the session's, the project's, the global default.
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub params: crate::chat::ChatParams,
}

impl Chat {
    /// A new, open, empty chat with no settings of its own.
    pub fn new(session_id: SessionId, name: impl Into<String>, kind: ChatKind) -> Self {
        let now = Utc::now();
        Self {
            id: ChatId::new(),
            session_id,
            name: name.into(),
            kind,
            status: OpenStatus::Open,
            created_at: now,
            updated_at: now,
            pinned: false,
            archived: false,
            active_leaf_id: None,
            model: None,
            system_prompt: None,
            params: crate::chat::ChatParams::default(),
        }
    }
}

/// `POST /api/sessions/{id}/chats`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct CreateChatRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<ChatKind>,
}

/// `PATCH /api/chats/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct UpdateChatRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<OpenStatus>,
    #[serde(default)]
    pub pinned: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
    /// Shows the branch through this message (its newest descendant becomes the active leaf).
    #[serde(default)]
    pub active_leaf_id: Option<MessageId>,
    /// An empty string clears it.
    #[serde(default)]
    pub model: Option<String>,
    /// An empty string clears it.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// Replaces every parameter.
    #[serde(default)]
    pub params: Option<crate::chat::ChatParams>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    System,
}

impl Role {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::System => "system",
        }
    }
    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "assistant" => Some(Self::Assistant),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Streaming,
    Complete,
    Cancelled,
    Error,
}

impl MessageStatus {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Streaming => "streaming",
            Self::Complete => "complete",
            Self::Cancelled => "cancelled",
            Self::Error => "error",
        }
    }
    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "streaming" => Some(Self::Streaming),
            "complete" => Some(Self::Complete),
            "cancelled" => Some(Self::Cancelled),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// What a tool call does (ACP's kinds, plus `plan`); anything else an agent names reads as `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    Read,
    Edit,
    Delete,
    Move,
    Search,
    Execute,
    Think,
    Fetch,
    SwitchMode,
    Plan,
    Other,
}

impl ToolKind {
    const ALL: [Self; 11] = [
        Self::Read,
        Self::Edit,
        Self::Delete,
        Self::Move,
        Self::Search,
        Self::Execute,
        Self::Think,
        Self::Fetch,
        Self::SwitchMode,
        Self::Plan,
        Self::Other,
    ];

    /// The kind an agent names, `Other` when it is not one of ours.
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or(Self::Other)
    }

    /// The wire (and stored) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Edit => "edit",
            Self::Delete => "delete",
            Self::Move => "move",
            Self::Search => "search",
            Self::Execute => "execute",
            Self::Think => "think",
            Self::Fetch => "fetch",
            Self::SwitchMode => "switch_mode",
            Self::Plan => "plan",
            Self::Other => "other",
        }
    }
}

/// Tolerant like the agents it reads: an unknown kind is `other`, never an error.
impl<'de> Deserialize<'de> for ToolKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

/// Where a tool call stands. `cancelled` is boocode's: a call left open when the turn was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
    Cancelled,
}

impl ToolStatus {
    /// A status an agent reports; `None` when it is not one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    /// The wire (and stored) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Still running (pending or in progress).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::InProgress)
    }
}

macro_rules! wire_name_traits {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with the wire name (`status == "failed"`).
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
wire_name_traits!(ToolKind);
wire_name_traits!(ToolStatus);

/// A tool invocation inside an assistant message, as the agent reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ToolCall {
    pub call_id: String,
    pub title: String,
    pub kind: ToolKind,
    pub status: ToolStatus,
    #[ts(type = "unknown")]
    pub raw_input: Option<serde_json::Value>,
    #[ts(type = "unknown")]
    pub raw_output: Option<serde_json::Value>,
}

/// A chat message with its tool calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Message {
    pub id: MessageId,
    pub session_id: SessionId,
    pub chat_id: ChatId,
    /// The message this one follows; `null` for the first of a chat. Siblings are branches.
    pub parent_id: Option<MessageId>,
    pub role: Role,
    pub content: String,
    pub reasoning: String,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub agent: Option<String>,
    #[ts(type = "number | null")]
    pub tokens_prompt: Option<u64>,
    #[ts(type = "number | null")]
    pub tokens_completion: Option<u64>,
    /// Time from the request to the first streamed token.
    #[ts(type = "number | null")]
    pub ttft_ms: Option<u64>,
    /// Time from the request to the end of the reply.
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
    /// One of several replies to the same message from different models, asked for at once.
    #[serde(default)]
    pub compared: bool,
    /// Files sent with a user message.
    #[serde(default)]
    pub attachments: Vec<crate::chat::Attachment>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub tool_calls: Vec<ToolCall>,
}

impl Message {
    /// A complete message with no metrics, attachments or tool calls, created now; callers set what
    /// else they know. One place to build them, so a new field has one default.
    pub fn new(
        session_id: SessionId,
        chat_id: ChatId,
        parent_id: Option<MessageId>,
        role: Role,
        content: impl Into<String>,
    ) -> Self {
        let now = Utc::now();
        Self {
            id: MessageId::new(),
            session_id,
            chat_id,
            parent_id,
            role,
            content: content.into(),
            reasoning: String::new(),
            status: MessageStatus::Complete,
            error: None,
            model: None,
            agent: None,
            tokens_prompt: None,
            tokens_completion: None,
            ttft_ms: None,
            duration_ms: None,
            compared: false,
            attachments: Vec::new(),
            created_at: now,
            finished_at: Some(now),
            tool_calls: Vec::new(),
        }
    }
}

/// `POST /api/chats/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct PostMessageRequest {
    pub content: String,
    #[serde(default)]
    pub model: Option<String>,
    /// The message the new one follows: absent means the active leaf, `null` the start of the chat
    /// (editing the first message). Editing is a new user message under the edited one's parent.
    #[serde(default, deserialize_with = "crate::chat::double_option")]
    #[ts(type = "string | null")]
    pub parent_id: Option<Option<MessageId>>,
    /// Compare: 2–4 model ids, one reply each, as siblings (instead of `model`).
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Uploads (`POST /api/uploads`) sent with the message.
    #[serde(default)]
    pub attachments: Option<Vec<crate::ids::UploadId>>,
}

/// 202 answer to a posted message: the turn streams as frames.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct PostMessageResponse {
    pub user_message_id: MessageId,
    /// The reply (the first, for a comparison).
    pub assistant_message_id: MessageId,
    /// Every reply of a comparison, in the order they run.
    #[serde(default)]
    pub assistant_message_ids: Vec<MessageId>,
}

/// `POST /api/chats/{id}/stop`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct StopResponse {
    pub stopped: bool,
}

/// Token counts of one turn, with the model's window when the server tells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Usage {
    #[ts(type = "number")]
    pub prompt_tokens: u64,
    #[ts(type = "number")]
    pub completion_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub context_limit: Option<u64>,
}

/// One model of the model server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModelInfo {
    pub id: String,
    /// `Some(true)` when the server says the model is loaded; `None` when it does not say.
    pub loaded: Option<bool>,
    #[ts(type = "number | null")]
    pub context_length: Option<u64>,
}

/// `GET /api/health`.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct HealthResponse {
    pub status: HealthStatus,
    pub version: String,
    pub database: DatabaseEngine,
    pub llm: LlmHealth,
    pub agents: AgentsHealth,
    /// What is wrong, in words (empty when `ok`): e.g. the database refusing writes.
    #[serde(default)]
    pub problems: Vec<String>,
}

/// The database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseEngine {
    /// One process, the embedded default.
    Sqlite,
    /// Several workers may share it.
    Postgres,
}

impl DatabaseEngine {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Whether boocode can do its work: `degraded` when the database cannot be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

/// The model server as boocode sees it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct LlmHealth {
    pub url: String,
    pub reachable: bool,
}

/// The agent pool as boocode sees it.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct AgentsHealth {
    #[ts(type = "number")]
    pub pool_size: u64,
    pub backends: Vec<String>,
}

/// A skill: a reusable instruction set invoked as `/name` in chat or task input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SkillInfo {
    pub name: String,
    pub group: String,
    pub description: String,
    /// Why the file could not be read as a skill (it is still listed, so it can be fixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<String>,
}
