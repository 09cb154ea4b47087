//! `AgentEvent`: what every backend (native, ACP, opencode, PTY) emits during a turn. The turn recorder is
//! the only consumer; it persists and frames them.

use serde::{Deserialize, Serialize};

use crate::dto::{ToolCall, Usage};
use crate::frame::AgentCommand;

/// One thing that happened during a turn, in backend-neutral terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// Visible answer text, appended.
    Text { content: String },
    /// Thinking text, appended.
    Reasoning { content: String },
    /// A new tool call.
    ToolCall { tool_call: ToolCall },
    /// A change to a known tool call (status, output); the whole call as it stands now.
    ToolUpdate { tool_call: ToolCall },
    /// The agent's slash commands changed.
    Commands { commands: Vec<AgentCommand> },
    /// Token counts reported by the model server.
    Usage { usage: Usage },
    /// What the turn waits on (the model server loading a model…): shown while it lasts, not stored,
    /// never reasoning.
    Status { status: String },
}
