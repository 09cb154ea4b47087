//! The turn recorder: the only place that turns a turn's `AgentEvent`s into persisted message state and
//! frames. Every backend's turn — chat today, coding tasks later — runs through `record_turn`, so the UI,
//! the database and a reconnecting client always agree.

use std::sync::Arc;
use std::time::Duration;

use boocode_agents::{AgentBackend, AgentError, TurnContext, TurnInput, TurnOutcome};
use boocode_protocol::{
    AgentEvent, ChatId, FrameBody, MessageId, MessageStatus, Role, SessionId, ToolCall, Usage,
};
use boocode_store::{MessageFinish, Store};
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;

/// Longest time streamed text stays only in memory; a crash loses at most this much.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);

/// Which message a turn writes into.
#[derive(Debug, Clone)]
pub struct TurnTarget {
    pub session_id: SessionId,
    pub chat_id: ChatId,
    pub message_id: MessageId,
    /// The message the reply answers (the tree's parent).
    pub parent_id: Option<MessageId>,
    /// One of the replies of a comparison.
    pub compared: bool,
    /// Text the reply starts with (continuing a cut-off reply): stored and framed first, the model's
    /// tokens follow it.
    pub prefix: String,
    pub model: Option<String>,
    pub agent: Option<String>,
}

/// How a recorded turn ended, for follow-up work (auto-naming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnSummary {
    pub status: MessageStatus,
    pub content: String,
    /// Why the turn failed or was cancelled, when it says.
    pub error: Option<String>,
    pub usage: Option<Usage>,
}

/// Model output is stored as it came, except U+0000, which PostgreSQL text cannot hold and no reader
/// wants: it becomes U+FFFD (the replacement character) in text, reasoning and tool calls alike.
fn without_nul(event: AgentEvent) -> AgentEvent {
    fn text(s: String) -> String {
        if s.contains('\0') {
            s.replace('\0', "\u{FFFD}")
        } else {
            s
        }
    }
    fn json(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::String(s) => serde_json::Value::String(text(s)),
            serde_json::Value::Array(items) => items.into_iter().map(json).collect(),
            serde_json::Value::Object(map) => {
                map.into_iter().map(|(k, v)| (text(k), json(v))).collect()
            }
            other => other,
        }
    }
    fn call(mut c: ToolCall) -> ToolCall {
        c.title = text(c.title);
        c.raw_input = c.raw_input.map(json);
        c.raw_output = c.raw_output.map(json);
        c
    }
    match event {
        AgentEvent::Text { content } => AgentEvent::Text {
            content: text(content),
        },
        AgentEvent::Reasoning { content } => AgentEvent::Reasoning {
            content: text(content),
        },
        AgentEvent::ToolCall { tool_call } => AgentEvent::ToolCall {
            tool_call: call(tool_call),
        },
        AgentEvent::ToolUpdate { tool_call } => AgentEvent::ToolUpdate {
            tool_call: call(tool_call),
        },
        AgentEvent::Status { status } => AgentEvent::Status {
            status: text(status),
        },
        other => other,
    }
}

/// Why a turn was cancelled, when it was.
pub type CancelReason = Arc<std::sync::Mutex<Option<String>>>;

struct Recorder {
    fence: Option<Arc<dyn boocode_agents::TurnFence>>,
    store: Arc<dyn Store>,
    broker: Broker,
    target: TurnTarget,
    content: String,
    reasoning: String,
    usage: Option<Usage>,
    dirty: bool,
    started: std::time::Instant,
    /// Time to the first text or reasoning token.
    first_token: Option<Duration>,
}

impl Recorder {
    async fn publish(&self, body: FrameBody) {
        if let Err(e) = self.broker.publish(&self.target.session_id, body).await {
            tracing::error!(error = %e, message = %self.target.message_id, "frame publish failed");
        }
    }

    async fn record(&mut self, event: AgentEvent) {
        let event = without_nul(event);
        if self.first_token.is_none()
            && matches!(
                event,
                AgentEvent::Text { .. } | AgentEvent::Reasoning { .. }
            )
        {
            self.first_token = Some(self.started.elapsed());
        }
        let (message_id, chat_id) = (self.target.message_id.clone(), self.target.chat_id.clone());
        match event {
            AgentEvent::Text { content } => {
                self.content.push_str(&content);
                self.dirty = true;
                self.publish(FrameBody::Delta {
                    message_id,
                    chat_id,
                    content,
                })
                .await;
            }
            AgentEvent::Reasoning { content } => {
                self.reasoning.push_str(&content);
                self.dirty = true;
                self.publish(FrameBody::ReasoningDelta {
                    message_id,
                    chat_id,
                    content,
                })
                .await;
            }
            AgentEvent::ToolCall { tool_call } | AgentEvent::ToolUpdate { tool_call } => {
                self.save_tool_call(&tool_call).await;
                self.publish(FrameBody::ToolCall {
                    message_id,
                    chat_id,
                    tool_call,
                })
                .await;
            }
            AgentEvent::Commands { commands } => {
                let task_id = self.target.message_id.to_string();
                self.publish(FrameBody::AgentCommands { task_id, commands })
                    .await;
            }
            AgentEvent::Usage { usage } => self.usage = Some(usage),
            AgentEvent::Status { status } => {
                self.publish(FrameBody::TurnStatus {
                    message_id,
                    chat_id,
                    status,
                })
                .await;
            }
        }
    }

    async fn save_tool_call(&self, call: &ToolCall) {
        if let Err(e) = self
            .store
            .upsert_tool_call(&self.target.message_id, call)
            .await
        {
            tracing::error!(error = %e, "tool call not persisted");
        }
    }

    async fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        match self
            .store
            .save_message_progress(&self.target.message_id, &self.content, &self.reasoning)
            .await
        {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!(error = %e, "message checkpoint failed; will retry"),
        }
    }

    async fn finish(
        mut self,
        status: MessageStatus,
        error: Option<String>,
        context_limit: Option<u64>,
    ) -> TurnSummary {
        if let Some(usage) = self.usage.as_mut() {
            usage.context_limit = context_limit;
        }
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let finish = MessageFinish {
            status,
            content: std::mem::take(&mut self.content),
            reasoning: std::mem::take(&mut self.reasoning),
            error: error.clone(),
            usage: self.usage,
            ttft_ms: self.first_token.map(millis),
            duration_ms: Some(millis(self.started.elapsed())),
            finished_at: Utc::now(),
        };
        if let Some(fence) = &self.fence
            && !fence.still_owner().await
        {
            // Another worker owns the task now: its recovery closed this reply; leave it as it is.
            tracing::warn!(message = %self.target.message_id, "lease lost: the reply's final state is not written");
            return TurnSummary {
                status,
                content: finish.content,
                error: Some("this worker lost the task's lease".into()),
                usage: finish.usage,
            };
        }
        if let Err(e) = self
            .store
            .finish_message(&self.target.message_id, &finish)
            .await
        {
            // Never leave the reply `streaming`: keep trying (a full disk may be freed), and a restart
            // marks anything still streaming as interrupted.
            tracing::error!(error = %e, "final message state not persisted; retrying");
            retry_finish(
                self.store.clone(),
                self.target.message_id.clone(),
                finish.clone(),
            );
        }
        let (message_id, chat_id) = (self.target.message_id.clone(), self.target.chat_id.clone());
        if let (MessageStatus::Error, Some(error)) = (status, error) {
            self.publish(FrameBody::MessageError {
                message_id,
                chat_id,
                error,
            })
            .await;
        } else {
            let usage = self.usage.or_else(|| {
                context_limit.map(|limit| Usage {
                    context_limit: Some(limit),
                    ..Usage::default()
                })
            });
            self.publish(FrameBody::MessageComplete {
                message_id,
                chat_id,
                status,
                usage,
                ttft_ms: finish.ttft_ms,
                duration_ms: finish.duration_ms,
            })
            .await;
        }
        TurnSummary {
            status,
            content: finish.content,
            error: finish.error,
            usage: finish.usage,
        }
    }
}

/// Retries a message's final write in the background, with growing pauses, for about ten minutes.
fn retry_finish(store: Arc<dyn Store>, id: MessageId, finish: MessageFinish) {
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(500);
        for _ in 0..20 {
            tokio::time::sleep(pause).await;
            match store.finish_message(&id, &finish).await {
                Ok(()) => {
                    tracing::info!(message = %id, "final message state persisted after a retry");
                    return;
                }
                Err(e) => {
                    tracing::warn!(message = %id, error = %e, "final message state still not persisted")
                }
            }
            pause = (pause * 2).min(Duration::from_secs(60));
        }
    });
}

/// Everything `record_turn` needs besides the backend.
pub struct TurnRun {
    pub store: Arc<dyn Store>,
    pub broker: Broker,
    pub target: TurnTarget,
    pub cancel: CancellationToken,
    /// Set by whoever cancels, to say why (e.g. "server shutting down"); `None` means the user stopped it.
    pub cancel_reason: CancelReason,
    /// The model's window, reported with the usage.
    pub context_limit: Option<u64>,
    /// Where the backend's permission requests go (coding turns); `None` denies them.
    pub permissions: Option<Arc<dyn boocode_agents::PermissionAsker>>,
    /// For a task: whether this worker still holds its lease. Writes, checkpoints and the final state
    /// happen only while it does.
    pub fence: Option<Arc<dyn boocode_agents::TurnFence>>,
}

/// Runs one turn on `backend`, persisting and framing everything it emits.
pub async fn record_turn(
    run: TurnRun,
    backend: Arc<dyn AgentBackend>,
    input: TurnInput,
) -> TurnSummary {
    let mut rec = Recorder {
        fence: run.fence.clone(),
        store: run.store,
        broker: run.broker,
        target: run.target.clone(),
        content: run.target.prefix.clone(),
        reasoning: String::new(),
        usage: None,
        dirty: false,
        started: std::time::Instant::now(),
        first_token: None,
    };
    rec.publish(FrameBody::MessageStarted {
        message_id: run.target.message_id.clone(),
        chat_id: run.target.chat_id.clone(),
        role: Role::Assistant,
        parent_id: run.target.parent_id.clone(),
        compared: run.target.compared.then_some(true),
        attachments: None,
        agent: run.target.agent.clone(),
        model: run.target.model.clone(),
    })
    .await;
    if !run.target.prefix.is_empty() {
        rec.dirty = true;
        rec.publish(FrameBody::Delta {
            message_id: run.target.message_id.clone(),
            chat_id: run.target.chat_id.clone(),
            content: run.target.prefix.clone(),
        })
        .await;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut ctx = TurnContext::new(tx, run.cancel.clone());
    if let Some(asker) = run.permissions.clone() {
        ctx = ctx.with_permissions(asker);
    }
    if let Some(fence) = run.fence.clone() {
        ctx = ctx.with_fence(fence);
    }
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The turn runs on its own task: it must keep making progress (and release whatever it holds, such
    // as a store connection) while this loop awaits the store to record its events.
    let turn_ctx = ctx.clone();
    let mut turn = AbortOnDrop(tokio::spawn(async move {
        backend.prompt(input, &turn_ctx).await
    }));
    let result = loop {
        tokio::select! {
            biased;
            Some(event) = rx.recv() => rec.record(event).await,
            _ = ticker.tick() => rec.flush().await,
            joined = &mut turn.0 => {
                break joined.unwrap_or_else(|e| Err(AgentError::Backend(format!("the agent turn crashed: {e}"))));
            }
        }
    };
    drop(ctx);
    while let Ok(event) = rx.try_recv() {
        rec.record(event).await;
    }
    let limit = run.context_limit;
    let (status, error) = match result {
        Ok(TurnOutcome::Completed) => (MessageStatus::Complete, None),
        Ok(TurnOutcome::Cancelled) => {
            let reason = run.cancel_reason.lock().ok().and_then(|r| r.clone());
            (MessageStatus::Cancelled, reason)
        }
        Err(AgentError::Llm(e)) => (MessageStatus::Error, Some(e.to_string())),
        Err(e) => (MessageStatus::Error, Some(e.to_string())),
    };
    if let Some(error) = &error {
        tracing::info!(message = %run.target.message_id, %error, ?status, "turn ended");
    }
    rec.finish(status, error, limit).await
}

/// A user message (complete on arrival) following `parent`, and the assistant message that will
/// answer it (streaming).
pub fn new_exchange(
    session: &SessionId,
    chat: &ChatId,
    parent: Option<MessageId>,
    content: String,
    model: &str,
    agent: &str,
) -> (boocode_protocol::Message, boocode_protocol::Message) {
    let user =
        boocode_protocol::Message::new(session.clone(), chat.clone(), parent, Role::User, content);
    let assistant = boocode_protocol::Message {
        id: MessageId::new(),
        parent_id: Some(user.id.clone()),
        role: Role::Assistant,
        content: String::new(),
        status: MessageStatus::Streaming,
        model: Some(model.to_owned()),
        agent: Some(agent.to_owned()),
        finished_at: None,
        ..user.clone()
    };
    (user, assistant)
}

/// Aborts the turn's task if the recording is dropped (e.g. a shutdown deadline passed).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Tells a session's open clients that recovery closed one of its replies (a tab would otherwise show
/// it streaming, Send disabled, until a reload).
pub async fn publish_interrupted(
    broker: &Broker,
    session: &SessionId,
    message_id: &MessageId,
    chat_id: &ChatId,
    reason: &str,
) {
    let body = FrameBody::MessageError {
        message_id: message_id.clone(),
        chat_id: chat_id.clone(),
        error: reason.to_owned(),
    };
    if let Err(e) = broker.publish(session, body).await {
        tracing::warn!(error = %e, "interrupted reply not announced");
    }
}

/// Frames a user's message so every open client shows it; it is complete on arrival.
pub async fn publish_user_message(broker: &Broker, message: &boocode_protocol::Message) {
    let (message_id, chat_id) = (message.id.clone(), message.chat_id.clone());
    let frames = [
        FrameBody::MessageStarted {
            message_id: message_id.clone(),
            chat_id: chat_id.clone(),
            role: message.role,
            parent_id: message.parent_id.clone(),
            compared: None,
            attachments: (!message.attachments.is_empty()).then(|| message.attachments.clone()),
            agent: None,
            model: None,
        },
        FrameBody::Delta {
            message_id: message_id.clone(),
            chat_id: chat_id.clone(),
            content: message.content.clone(),
        },
        FrameBody::MessageComplete {
            message_id,
            chat_id,
            status: MessageStatus::Complete,
            usage: None,
            ttft_ms: None,
            duration_ms: None,
        },
    ];
    for body in frames {
        if let Err(e) = broker.publish(&message.session_id, body).await {
            tracing::error!(error = %e, "frame publish failed");
        }
    }
}
