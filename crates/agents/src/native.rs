//! The native backend: boocode's own loop over the model server. For chat it is a single streamed
//! completion; the coding tools arrive with the coding-task work.

use async_trait::async_trait;
use boocode_llm::{ChatRequest, LlmClient, StreamEvent};
use boocode_protocol::{AgentEvent, Usage};

use crate::backend::{AgentBackend, AgentError, TurnContext, TurnInput, TurnOutcome};

/// Runs turns directly against an OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct NativeBackend {
    llm: LlmClient,
}

impl NativeBackend {
    /// A backend over `llm`.
    pub fn new(llm: LlmClient) -> Self {
        Self { llm }
    }
}

#[async_trait]
impl AgentBackend for NativeBackend {
    fn name(&self) -> &'static str {
        "native"
    }

    async fn prompt(&self, input: TurnInput, ctx: &TurnContext) -> Result<TurnOutcome, AgentError> {
        let request = ChatRequest {
            model: input.model,
            messages: input.history,
            ..Default::default()
        };
        // Dropping the stream (on cancel) closes the connection, which stops generation upstream.
        let mut stream = tokio::select! {
            s = self.llm.stream_chat(&request) => s?,
            () = ctx.cancelled() => return Ok(TurnOutcome::Cancelled),
        };
        loop {
            let next = tokio::select! {
                n = stream.next() => n,
                () = ctx.cancelled() => return Ok(TurnOutcome::Cancelled),
            };
            match next {
                None | Some(Ok(StreamEvent::Done { .. })) => return Ok(TurnOutcome::Completed),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(StreamEvent::Content(content))) => ctx.emit(AgentEvent::Text { content }),
                Some(Ok(StreamEvent::Reasoning(content))) => {
                    ctx.emit(AgentEvent::Reasoning { content });
                }
                Some(Ok(StreamEvent::Usage(u))) => ctx.emit(AgentEvent::Usage {
                    usage: Usage {
                        prompt_tokens: u.prompt_tokens,
                        completion_tokens: u.completion_tokens,
                        context_limit: None,
                    },
                }),
                // Chat offers no tools; a model that calls one anyway gets its text kept, the call ignored.
                Some(Ok(StreamEvent::ToolCalls(calls))) => {
                    tracing::debug!(
                        count = calls.len(),
                        "ignoring tool calls in a tool-less turn"
                    );
                }
            }
        }
    }
}
