//! The backend contract shared by every way of running a turn.

use async_trait::async_trait;
use boocode_llm::{ChatMessage, LlmError};
use boocode_protocol::AgentEvent;
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
        }
    }
}

/// The channel a backend reports through, and the token that tells it to stop. Events are unbounded so a
/// slow consumer never stalls the model stream; the turn recorder drains them as they come.
#[derive(Debug, Clone)]
pub struct TurnContext {
    events: UnboundedSender<AgentEvent>,
    cancel: CancellationToken,
}

impl TurnContext {
    /// A context emitting into `events`, cancelled by `cancel`.
    pub fn new(events: UnboundedSender<AgentEvent>, cancel: CancellationToken) -> Self {
        Self { events, cancel }
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
    /// Stable id (`native`, `opencode`, …).
    fn name(&self) -> &'static str;
    /// Runs one turn to its end, emitting events through `ctx`; returns promptly once cancelled.
    async fn prompt(&self, input: TurnInput, ctx: &TurnContext) -> Result<TurnOutcome, AgentError>;
}
