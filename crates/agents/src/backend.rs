//! The backend contract shared by every way of running a turn.

use async_trait::async_trait;
use boocode_llm::{ChatMessage, LlmError};
use boocode_protocol::{AgentEvent, PermissionKind};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// What a turn is asked to do.
#[derive(Debug, Clone)]
pub struct TurnInput {
    pub model: String,
    /// The conversation so far, oldest first, ending with the new user message.
    pub history: Vec<ChatMessage>,
    /// The directory tools work in (a session worktree for coding tasks).
    pub workdir: Option<std::path::PathBuf>,
    pub tools: crate::tools::ToolAccess,
    /// Most model round trips that end in tool calls before the turn stops.
    pub max_steps: usize,
    /// The boocode session the turn belongs to: warm agents are kept per session.
    pub session_key: Option<String>,
    /// The agent mode the task asked for, if any.
    pub mode_id: Option<String>,
    /// The thinking level the task asked for, if any (an agent's `thought_level` option).
    pub thinking: Option<String>,
    /// boocode's own MCP server, offered to agents that take MCP servers.
    pub mcp: Option<McpEndpoint>,
    /// Request fields the user set for a chat (sampling parameters), for backends that call the model
    /// server themselves.
    pub request_extra: serde_json::Map<String, serde_json::Value>,
}

/// How an agent reaches boocode's MCP server: over HTTP where it can, else through the stdio bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpEndpoint {
    pub url: String,
    /// Headers the agent must send (the per-session token, the API token when one is set).
    pub headers: Vec<(String, String)>,
    /// The bridge (`boocode mcp`) for agents without MCP over HTTP.
    pub stdio: Option<StdioBridge>,
}

/// A command that speaks MCP on its stdio. Secrets travel in `env`, never in `args` (which any local
/// user can read in the process list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioBridge {
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl TurnInput {
    /// A tool-less turn (chat).
    pub fn chat(model: String, history: Vec<ChatMessage>) -> Self {
        Self {
            model,
            history,
            workdir: None,
            tools: crate::tools::ToolAccess::None,
            max_steps: 0,
            session_key: None,
            mode_id: None,
            thinking: None,
            mcp: None,
            request_extra: serde_json::Map::new(),
        }
    }
}

/// The channel a backend reports through, and the token that tells it to stop. Events are unbounded so a
/// slow consumer never stalls the model stream; the turn recorder drains them as they come.
#[derive(Clone)]
pub struct TurnContext {
    events: UnboundedSender<AgentEvent>,
    cancel: CancellationToken,
    permissions: Option<std::sync::Arc<dyn PermissionAsker>>,
    fence: Option<std::sync::Arc<dyn TurnFence>>,
}

/// Whether this worker still owns the turn. A worker that was paused past its task's lease (SIGSTOP, a
/// long GC, a frozen VM) must not write files for a task another worker has taken over; backends ask
/// before every write.
#[async_trait]
pub trait TurnFence: Send + Sync {
    async fn still_owner(&self) -> bool;
}

/// One choice of a permission request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PermissionChoice {
    pub option_id: String,
    pub name: String,
    pub kind: PermissionKind,
}

/// What an agent asks the user.
#[derive(Debug, Clone)]
pub struct PermissionAsk {
    pub tool_call: serde_json::Value,
    pub options: Vec<PermissionChoice>,
}

/// The user's answer (or the timeout's, or the cancel's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionAnswer {
    Selected(String),
    Cancelled,
}

impl PermissionAsk {
    /// The option to pick to deny: `reject_once`, else `reject_always`; none means answer cancelled.
    pub fn deny(&self) -> PermissionAnswer {
        [PermissionKind::RejectOnce, PermissionKind::RejectAlways]
            .iter()
            .find_map(|kind| self.options.iter().find(|o| o.kind == *kind))
            .map_or(PermissionAnswer::Cancelled, |o| {
                PermissionAnswer::Selected(o.option_id.clone())
            })
    }
}

/// Relays an agent's permission request to the user (the server persists, frames and waits for the
/// REST answer); backends never see how.
#[async_trait]
pub trait PermissionAsker: Send + Sync {
    async fn ask(&self, request: PermissionAsk) -> PermissionAnswer;
}

impl TurnContext {
    /// A context emitting into `events`, cancelled by `cancel`.
    pub fn new(events: UnboundedSender<AgentEvent>, cancel: CancellationToken) -> Self {
        Self {
            events,
            cancel,
            permissions: None,
            fence: None,
        }
    }

    /// The same context, with writes fenced by `fence`.
    pub fn with_fence(mut self, fence: std::sync::Arc<dyn TurnFence>) -> Self {
        self.fence = Some(fence);
        self
    }

    /// Whether a write may happen now: always without a fence; with one, only while this worker still
    /// owns the turn (it cancels the turn when not).
    pub async fn may_write(&self) -> bool {
        let Some(fence) = &self.fence else {
            return true;
        };
        let owner = fence.still_owner().await;
        if !owner {
            self.cancel.cancel();
        }
        owner
    }

    /// The same context, relaying permission requests to `asker`.
    pub fn with_permissions(mut self, asker: std::sync::Arc<dyn PermissionAsker>) -> Self {
        self.permissions = Some(asker);
        self
    }

    /// Asks the user; without a relay, or once the turn is cancelled, the request is denied.
    pub async fn ask_permission(&self, request: PermissionAsk) -> PermissionAnswer {
        let Some(asker) = &self.permissions else {
            return request.deny();
        };
        tokio::select! {
            answer = asker.ask(request.clone()) => answer,
            () = self.cancelled() => PermissionAnswer::Cancelled,
        }
    }

    /// Reports one event; a recorder that went away is not the backend's problem.
    pub fn emit(&self, event: AgentEvent) {
        let _ = self.events.send(event);
    }

    /// Resolves when the turn must stop.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// Whether the turn was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// How a turn ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnOutcome {
    Completed,
    Cancelled,
}

/// Why a turn failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error("{0}")]
    Backend(String),
}

/// One way of running turns. Chat and coding tasks both go through this; the caller records the events.
#[async_trait]
pub trait AgentBackend: Send + Sync + 'static {
    /// Stable id (`native`, `opencode`, a custom provider id…).
    fn name(&self) -> &str;
    /// How its turns run, as tasks record it.
    fn execution_path(&self) -> boocode_protocol::ExecutionPath;
    /// Runs one turn to its end, emitting events through `ctx`; returns promptly once cancelled.
    async fn prompt(&self, input: TurnInput, ctx: &TurnContext) -> Result<TurnOutcome, AgentError>;
    /// Ends whatever the backend keeps warm for a boocode session (the session was deleted).
    async fn close_session(&self, _session_key: &str) {}
    /// Ends everything the backend keeps running (server shutdown).
    async fn dispose(&self) {}
}
