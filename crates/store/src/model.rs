//! Store-side records that are not wire types.

use boocode_protocol::{MessageStatus, SessionId, Usage};
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
    pub finished_at: DateTime<Utc>,
}
