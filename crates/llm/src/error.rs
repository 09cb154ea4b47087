//! Typed failures of the model server, worded for the person reading the chat.

use std::time::Duration;

/// What went wrong talking to the model server.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    #[error("model server at {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    #[error("model server does not know model '{model}': {message}")]
    ModelNotFound { model: String, message: String },
    #[error("prompt is {prompt_tokens} tokens, the model's window is {context} tokens")]
    ContextExceeded { prompt_tokens: u64, context: u64 },
    #[error("model server answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("model server reported an error mid-stream: {0}")]
    Upstream(String),
    #[error("model server sent a malformed stream: {0}")]
    Malformed(String),
    #[error("model server stream ended before the reply finished")]
    Truncated,
    #[error("model server stream was cut off mid-reply: {0}")]
    Interrupted(String),
    #[error("model server sent nothing for {0:?}")]
    IdleTimeout(Duration),
    #[error("request to the model server failed: {0}")]
    Transport(String),
}

impl LlmError {
    /// Whether trying the same request again might succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Truncated
                | Self::Interrupted(_)
                | Self::IdleTimeout(_)
                | Self::Transport(_)
        ) || matches!(self, Self::Http { status, .. } if *status == 429 || *status >= 500)
    }
}
