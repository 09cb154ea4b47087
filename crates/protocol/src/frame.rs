//! Frames (docs/ARCHITECTURE.md §6): the numbered, per-session stream the browser follows live and replays with `since`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::agents::PermissionRequest;
use crate::dto::{Chat, MessageStatus, Role, ToolCall, Usage};
use crate::ids::{ChatId, MessageId, SessionId};
use crate::task::{PendingChange, Task};

/// One numbered frame. A replayed frame is byte-identical to the live one because both are
/// the same serialized text, produced once when the frame is numbered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Frame {
    #[ts(type = "number")]
    pub seq: u64,
    pub session_id: SessionId,
    #[serde(flatten)]
    pub body: FrameBody,
}

/// What a frame says; `type` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FrameBody {
    MessageStarted {
        message_id: MessageId,
        chat_id: ChatId,
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        parent_id: Option<MessageId>,
        /// Set on the replies of a comparison.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        compared: Option<bool>,
        /// Files a user message was sent with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        attachments: Option<Vec<crate::chat::Attachment>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        agent: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        model: Option<String>,
    },
    Delta {
        message_id: MessageId,
        chat_id: ChatId,
        content: String,
    },
    ReasoningDelta {
        message_id: MessageId,
        chat_id: ChatId,
        content: String,
    },
    ToolCall {
        message_id: MessageId,
        chat_id: ChatId,
        tool_call: ToolCall,
    },
    MessageComplete {
        message_id: MessageId,
        chat_id: ChatId,
        status: MessageStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        usage: Option<Usage>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "number")]
        ttft_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "number")]
        duration_ms: Option<u64>,
    },
    MessageError {
        message_id: MessageId,
        chat_id: ChatId,
        error: String,
    },
    ChatUpdated {
        chat: Chat,
    },
    TaskUpdated {
        // Boxed: a task is several times larger than any other frame's fields.
        task: Box<Task>,
    },
    PendingChange {
        change: PendingChange,
    },
    PermissionRequest {
        request: PermissionRequest,
    },
    PermissionResolved {
        request: PermissionRequest,
    },
    AgentCommands {
        task_id: String,
        commands: Vec<AgentCommand>,
    },
    /// What a streaming message waits on (e.g. "llama-swap loading model: X"); not stored.
    TurnStatus {
        message_id: MessageId,
        chat_id: ChatId,
        status: String,
    },
    /// An arena this session races in changed (a contender finished, a check ran, one was picked).
    ArenaUpdated {
        arena: crate::arena::Arena,
    },
}

/// The only frame that is not numbered: the client must reload over REST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlFrame {
    Resync,
}

/// A slash command an agent offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AgentCommand {
    pub name: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub input_hint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_flat_with_type_tag() {
        let frame = Frame {
            seq: 3,
            session_id: SessionId("s1".into()),
            body: FrameBody::Delta {
                message_id: MessageId("m1".into()),
                chat_id: ChatId("c1".into()),
                content: "hi".into(),
            },
        };
        let json = serde_json::to_value(&frame).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"seq":3,"session_id":"s1","type":"delta","message_id":"m1","chat_id":"c1","content":"hi"})
        );
        let back: Frame = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, frame);
    }

    #[test]
    fn resync_is_bare() {
        let text = serde_json::to_string(&ControlFrame::Resync).unwrap_or_default();
        assert_eq!(text, r#"{"type":"resync"}"#);
    }
}
