//! Store-side records that are not wire types.

use boocode_protocol::{ChatId, MessageId, MessageStatus, SessionId, Usage};
use chrono::{DateTime, Utc};

/// One journaled frame: its text is exactly what clients receive, so replay is byte-identical.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFrame {
    pub session_id: SessionId,
    pub seq: u64,
    pub body: std::sync::Arc<str>,
    pub created_at: DateTime<Utc>,
}

/// The final state of a message.
#[derive(Debug, Clone)]
pub struct MessageFinish {
    pub status: MessageStatus,
    pub content: String,
    pub reasoning: String,
    pub error: Option<String>,
    pub usage: Option<Usage>,
    /// Time to the first streamed token, when one came.
    pub ttft_ms: Option<u64>,
    /// Time from the request to the end.
    pub duration_ms: Option<u64>,
    pub finished_at: DateTime<Utc>,
}

/// A reply recovery closed: enough to tell the session's open clients (a `message_error` frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterruptedMessage {
    pub id: MessageId,
    pub session_id: SessionId,
    pub chat_id: ChatId,
}

/// "Session `session_id` has journaled frames up to `seq`", as sent between processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameNotice {
    pub session_id: SessionId,
    pub seq: u64,
}

impl FrameNotice {
    /// The NOTIFY payload: `session_id:seq`.
    pub fn to_payload(&self) -> String {
        format!("{}:{}", self.session_id, self.seq)
    }

    /// Parses a NOTIFY payload; `None` when it is not ours.
    pub fn from_payload(payload: &str) -> Option<Self> {
        let (session, seq) = payload.rsplit_once(':')?;
        Some(Self {
            session_id: SessionId(session.to_owned()),
            seq: seq.parse().ok()?,
        })
    }
}
