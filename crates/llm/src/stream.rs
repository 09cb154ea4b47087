//! The streamed reply: SSE events → `StreamEvent`s. Comments and keep-alives are skipped by the SSE
//! parser; `[DONE]` or a `finish_reason` ends the stream cleanly, anything else is a failure.
//! Dropping a `ChatStream` closes the HTTP connection, which is what stops generation upstream.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};

use crate::error::LlmError;
use crate::think::{Piece, ThinkSplitter};
use crate::tools::{ToolCallAccumulator, ToolCallRequest};
use crate::wire::{Chunk, TokenUsage, error_message};

/// One step of a streamed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Content(String),
    Reasoning(String),
    /// Tool calls, complete; only sent once the stream finished cleanly.
    ToolCalls(Vec<ToolCallRequest>),
    Usage(TokenUsage),
    /// The server is loading the model (llama-swap's status chunks): a status, never reasoning.
    Loading(String),
    /// The reply is over; nothing follows.
    Done {
        finish_reason: Option<String>,
    },
}

type SseStream =
    Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// A reply being streamed.
pub struct ChatStream {
    events: SseStream,
    idle: Duration,
    pending: VecDeque<StreamEvent>,
    think: ThinkSplitter,
    tools: ToolCallAccumulator,
    finish_reason: Option<String>,
    saw_real_chunk: bool,
    done: bool,
}

impl ChatStream {
    pub(crate) fn new(response: reqwest::Response, idle: Duration) -> Self {
        Self::from_sse(Box::pin(response.bytes_stream().eventsource()), idle)
    }

    fn from_sse(events: SseStream, idle: Duration) -> Self {
        Self {
            events,
            idle,
            pending: VecDeque::new(),
            think: ThinkSplitter::default(),
            tools: ToolCallAccumulator::default(),
            finish_reason: None,
            saw_real_chunk: false,
            done: false,
        }
    }

    /// The next event; `None` after `Done` or an error.
    pub async fn next(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let item = match tokio::time::timeout(self.idle, self.events.next()).await {
                Err(_) => return self.fail(LlmError::IdleTimeout(self.idle)),
                Ok(None) if self.finish_reason.is_some() => {
                    self.finish();
                    continue;
                }
                Ok(None) => return self.fail(LlmError::Truncated),
                Ok(Some(Err(EventStreamError::Utf8(_)))) => {
                    return self.fail(LlmError::Malformed("invalid UTF-8 in the stream".into()));
                }
                Ok(Some(Err(EventStreamError::Parser(e)))) => {
                    return self.fail(LlmError::Malformed(format!("bad SSE framing: {e}")));
                }
                Ok(Some(Err(EventStreamError::Transport(e)))) => {
                    // The response had started: any transport failure now is a cut-off stream.
                    return self.fail(LlmError::Interrupted(root_cause(&e)));
                }
                Ok(Some(Ok(event))) => event,
            };
            if let Err(e) = self.handle(&item.data) {
                return self.fail(e);
            }
        }
    }

    fn fail(&mut self, err: LlmError) -> Option<Result<StreamEvent, LlmError>> {
        self.done = true;
        self.pending.clear();
        Some(Err(err))
    }

    fn finish(&mut self) {
        self.done = true;
        self.push_pieces_final();
        let tools = std::mem::take(&mut self.tools).finish();
        if !tools.is_empty() {
            self.pending.push_back(StreamEvent::ToolCalls(tools));
        }
        self.pending.push_back(StreamEvent::Done {
            finish_reason: self.finish_reason.take(),
        });
    }

    fn push_pieces_final(&mut self) {
        for piece in self.think.finish() {
            self.pending.push_back(piece_event(piece));
        }
    }

    fn handle(&mut self, data: &str) -> Result<(), LlmError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.finish();
            return Ok(());
        }
        let value: serde_json::Value = serde_json::from_str(data)
            .map_err(|e| LlmError::Malformed(format!("{e} in {:?}", clip(data))))?;
        if let Some(err) = value.get("error") {
            return Err(LlmError::Upstream(error_message(&err.to_string())));
        }
        let chunk: Chunk = serde_json::from_value(value)
            .map_err(|e| LlmError::Malformed(format!("{e} in {:?}", clip(data))))?;
        // llama-swap's loading messages come before the real stream, without id or object: not reasoning.
        if chunk.id.is_none() && chunk.object.is_none() && !self.saw_real_chunk {
            let status: String = chunk
                .choices
                .into_iter()
                .filter_map(|c| c.delta.or(c.message))
                .filter_map(|d| d.reasoning_content.or(d.reasoning).or(d.content))
                .collect();
            if !status.trim().is_empty() {
                self.pending
                    .push_back(StreamEvent::Loading(status.trim().to_owned()));
            }
            return Ok(());
        }
        self.saw_real_chunk = true;
        for choice in chunk.choices {
            if let Some(delta) = choice.delta.or(choice.message) {
                if let Some(r) = delta
                    .reasoning_content
                    .or(delta.reasoning)
                    .filter(|r| !r.is_empty())
                {
                    self.pending.push_back(StreamEvent::Reasoning(r));
                }
                if let Some(text) = delta.content.filter(|c| !c.is_empty()) {
                    for piece in self.think.push(&text) {
                        self.pending.push_back(piece_event(piece));
                    }
                }
                for call in delta.tool_calls.unwrap_or_default() {
                    self.tools.push(call);
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
        }
        if let Some(usage) = chunk.usage {
            self.pending.push_back(StreamEvent::Usage(usage));
        }
        Ok(())
    }
}

fn piece_event(piece: Piece) -> StreamEvent {
    match piece {
        Piece::Content(t) => StreamEvent::Content(t),
        Piece::Reasoning(t) => StreamEvent::Reasoning(t),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn clip(s: &str) -> String {
    s.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(raw: &'static str) -> ChatStream {
        let bytes = futures::stream::iter(
            raw.as_bytes()
                .chunks(7)
                .map(|c| Ok::<_, reqwest::Error>(bytes_of(c)))
                .collect::<Vec<_>>(),
        );
        ChatStream::from_sse(Box::pin(bytes.eventsource()), Duration::from_secs(5))
    }

    fn bytes_of(c: &[u8]) -> Vec<u8> {
        c.to_vec()
    }

    async fn collect(mut s: ChatStream) -> Vec<Result<StreamEvent, LlmError>> {
        let mut out = Vec::new();
        while let Some(e) = s.next().await {
            out.push(e);
        }
        out
    }

    #[tokio::test]
    async fn content_reasoning_usage_and_keepalives() {
        let raw = ": ping\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}\r\n\r\n\
            data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"reasoning\":\"m\"}}]}\n\n\
            event: message\ndata: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n\
            data: [DONE]\n\n";
        let got: Vec<_> = collect(stream_of(raw))
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            got,
            vec![
                StreamEvent::Reasoning("hm".into()),
                StreamEvent::Reasoning("m".into()),
                StreamEvent::Content("Hi".into()),
                StreamEvent::Usage(TokenUsage {
                    prompt_tokens: 3,
                    completion_tokens: 2
                }),
                StreamEvent::Done {
                    finish_reason: Some("stop".into())
                },
            ]
        );
    }

    #[tokio::test]
    async fn tool_calls_arrive_only_at_the_end() {
        let raw = "data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"grep\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n\
            data: [DONE]\n\n";
        let got: Vec<_> = collect(stream_of(raw))
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            got[0],
            StreamEvent::ToolCalls(vec![ToolCallRequest {
                id: "c".into(),
                name: "grep".into(),
                arguments: "{\"a\":1}".into()
            }])
        );
    }

    #[tokio::test]
    async fn stream_without_finish_is_truncated() {
        let raw = "data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n";
        let got = collect(stream_of(raw)).await;
        assert!(
            matches!(got.last(), Some(Err(LlmError::Truncated))),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn in_stream_error_and_garbage_are_typed() {
        let raw = "data: {\"error\":{\"message\":\"model crashed\"}}\n\n";
        let got = collect(stream_of(raw)).await;
        assert!(
            matches!(&got[0], Err(LlmError::Upstream(m)) if m == "model crashed"),
            "{got:?}"
        );
        let raw = "data: {not json\n\n";
        let got = collect(stream_of(raw)).await;
        assert!(matches!(&got[0], Err(LlmError::Malformed(_))), "{got:?}");
    }

    #[tokio::test]
    async fn loading_chunks_are_not_reasoning() {
        let raw = "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"llama-swap loading model\"}}]}\n\n\
            data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n\
            data: [DONE]\n\n";
        let got: Vec<_> = collect(stream_of(raw))
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            got[..2],
            [
                StreamEvent::Loading("llama-swap loading model".into()),
                StreamEvent::Content("ok".into())
            ]
        );
        assert!(!got.iter().any(|e| matches!(e, StreamEvent::Reasoning(_))));
    }
}
