//! The chat service (docs/ARCHITECTURE.md §10): accepts a message, runs the reply as a native-backend turn through
//! the turn recorder, stops it on request, and names the chat after its first exchange.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use boocode_agents::{AgentBackend, TurnInput};
use boocode_llm::{ChatMessage, LlmClient};
use boocode_protocol::{
    Chat, ChatId, FrameBody, MessageStatus, PostMessageRequest, PostMessageResponse,
    UpdateChatRequest,
};
use boocode_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::Broker;
use crate::error::ApiError;
use crate::models::ModelCatalog;
use crate::recorder::{CancelReason, TurnRun, TurnTarget, publish_user_message, record_turn};
use crate::title::{DEFAULT_CHAT_NAME, generate_title};

/// Why replies still streaming at shutdown end.
pub const SHUTDOWN_REASON: &str = "server shutting down";

struct RunningTurn {
    cancel: CancellationToken,
    reason: CancelReason,
}

/// Shared chat state; cheap to clone.
#[derive(Clone)]
pub struct ChatService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    broker: Broker,
    llm: LlmClient,
    catalog: ModelCatalog,
    backend: Arc<dyn AgentBackend>,
    default_model: Option<String>,
    skills: crate::skills::Skills,
    running: Mutex<HashMap<ChatId, RunningTurn>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    worker_id: String,
}

/// What the chat service is built from.
pub struct ChatDeps {
    pub store: Arc<dyn Store>,
    pub broker: Broker,
    pub llm: LlmClient,
    pub catalog: ModelCatalog,
    pub backend: Arc<dyn AgentBackend>,
    pub default_model: Option<String>,
    pub skills: crate::skills::Skills,
    pub tracker: TaskTracker,
    pub shutdown: CancellationToken,
    /// This process's worker id: replies record it, so another worker can close them if this one dies.
    pub worker_id: String,
}

impl ChatService {
    /// Builds the service.
    pub fn new(d: ChatDeps) -> Self {
        Self {
            inner: Arc::new(Inner {
                store: d.store,
                broker: d.broker,
                llm: d.llm,
                catalog: d.catalog,
                backend: d.backend,
                default_model: d.default_model,
                skills: d.skills,
                running: Mutex::default(),
                tracker: d.tracker,
                shutdown: d.shutdown,
                worker_id: d.worker_id,
            }),
        }
    }

    /// Stores the user's message and starts the reply; the reply streams as frames.
    pub async fn post_message(
        &self,
        chat_id: &ChatId,
        req: PostMessageRequest,
    ) -> Result<PostMessageResponse, ApiError> {
        let inner = &self.inner;
        if req.content.trim().is_empty() {
            return Err(ApiError::bad_request("content must not be empty"));
        }
        if inner.shutdown.is_cancelled() {
            return Err(ApiError::conflict(SHUTDOWN_REASON));
        }
        let chat = inner.store.get_chat(chat_id).await?;
        if chat.status == boocode_protocol::OpenStatus::Closed {
            return Err(ApiError::conflict(
                "chat is closed; reopen it to send messages",
            ));
        }
        let session = inner.store.get_session(&chat.session_id).await?;
        let project = inner.store.get_project(&session.project_id).await?;
        let chosen = req.model.clone().filter(|m| !m.trim().is_empty());
        let model = match chosen
            .or(session.model.clone())
            .or(project.default_model.clone())
            .or(inner.default_model.clone())
        {
            Some(m) => m,
            None => inner.catalog.fallback_model().await.ok_or_else(|| {
                ApiError::bad_request(
                    "no model chosen and the model server lists none: pass `model`, set the \
                     session's model or start boocode with --default-model",
                )
            })?,
        };
        let history = inner.store.list_messages(chat_id).await?;
        // Not a child of the shutdown token: shutdown cancels through `cancel_all`, which records why first.
        let cancel = CancellationToken::new();
        let reason = CancelReason::default();
        {
            let mut running = inner
                .running
                .lock()
                .map_err(|_| ApiError::internal("poisoned"))?;
            if running.contains_key(chat_id) {
                return Err(ApiError::conflict(
                    "a reply is still streaming in this chat; stop it first",
                ));
            }
            running.insert(
                chat_id.clone(),
                RunningTurn {
                    cancel: cancel.clone(),
                    reason: reason.clone(),
                },
            );
        }
        let (user, assistant) = crate::recorder::new_exchange(
            &chat.session_id,
            chat_id,
            req.content,
            &model,
            inner.backend.name(),
        );
        if let Err(e) = inner.store.insert_exchange(&user, &assistant).await {
            self.forget(chat_id);
            return Err(e.into());
        }
        if let Err(e) = inner
            .store
            .set_message_worker(&assistant.id, &inner.worker_id)
            .await
        {
            tracing::warn!(error = %e, "the reply's worker not recorded");
        }
        publish_user_message(&inner.broker, &user).await;
        let mut conversation: Vec<ChatMessage> = history
            .iter()
            .filter(|m| !m.content.is_empty() && m.status != MessageStatus::Streaming)
            .map(|m| {
                ChatMessage::new(
                    m.role.as_str(),
                    crate::coding::expand_user(&inner.skills, m),
                )
            })
            .collect();
        conversation.push(ChatMessage::new("user", inner.skills.expand(&user.content)));
        let first_exchange = history.is_empty();
        let response = PostMessageResponse {
            user_message_id: user.id.clone(),
            assistant_message_id: assistant.id.clone(),
        };
        let this = self.clone();
        let target = TurnTarget {
            session_id: chat.session_id.clone(),
            chat_id: chat_id.clone(),
            message_id: assistant.id.clone(),
            model: Some(model.clone()),
            agent: assistant.agent.clone(),
        };
        inner.tracker.spawn(async move {
            let inner = &this.inner;
            let run = TurnRun {
                store: inner.store.clone(),
                broker: inner.broker.clone(),
                target,
                cancel,
                cancel_reason: reason,
                context_limit: inner.catalog.context_limit(&model).await,
                permissions: None,
                fence: None,
            };
            let turn_model = model.clone();
            let input = TurnInput::chat(model, conversation);
            let summary = record_turn(run, inner.backend.clone(), input).await;
            this.forget(&chat.id);
            if first_exchange && summary.status == MessageStatus::Complete {
                this.auto_name(&chat, &turn_model, &user.content, &summary.content)
                    .await;
            }
        });
        Ok(response)
    }

    fn forget(&self, chat_id: &ChatId) {
        if let Ok(mut running) = self.inner.running.lock() {
            running.remove(chat_id);
        }
    }

    /// Stops the chat's running reply; `false` when nothing was running.
    pub fn stop(&self, chat_id: &ChatId) -> bool {
        let Ok(running) = self.inner.running.lock() else {
            return false;
        };
        match running.get(chat_id) {
            Some(turn) => {
                turn.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every running reply, saying why; the caller then waits on the tracker.
    pub fn cancel_all(&self, why: &str) {
        if let Ok(running) = self.inner.running.lock() {
            for turn in running.values() {
                if let Ok(mut r) = turn.reason.lock() {
                    *r = Some(why.to_owned());
                }
                turn.cancel.cancel();
            }
        }
    }

    async fn auto_name(&self, chat: &Chat, turn_model: &str, user: &str, assistant: &str) {
        let inner = &self.inner;
        // Only a chat still carrying the default name: a user's rename wins.
        let Ok(current) = inner.store.get_chat(&chat.id).await else {
            return;
        };
        if current.name != DEFAULT_CHAT_NAME {
            return;
        }
        let session_model = inner
            .store
            .get_session(&chat.session_id)
            .await
            .ok()
            .and_then(|s| s.model);
        // The session's model, else the default, else the one that just answered. A small call must
        // never make llama-swap load another model: when the server says the preferred one is not
        // loaded, the model that just answered (loaded by definition) names the chat.
        let preferred = session_model
            .or(inner.default_model.clone())
            .unwrap_or_else(|| turn_model.to_owned());
        let model = match inner.catalog.loaded_models().await {
            Some(loaded) if !loaded.contains(&preferred) => turn_model.to_owned(),
            _ => preferred,
        };
        let title = tokio::select! {
            t = generate_title(&inner.llm, &model, user, assistant) => t,
            () = inner.shutdown.cancelled() => return,
        };
        let title = match title {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::info!(chat = %chat.id, error = %e, "auto-naming failed; name unchanged");
                return;
            }
        };
        let patch = UpdateChatRequest {
            name: Some(title),
            status: None,
        };
        match inner.store.update_chat(&chat.id, &patch).await {
            Ok(chat) => {
                let session = chat.session_id.clone();
                if let Err(e) = inner
                    .broker
                    .publish(&session, FrameBody::ChatUpdated { chat })
                    .await
                {
                    tracing::warn!(error = %e, "chat_updated not published");
                }
            }
            Err(e) => tracing::warn!(error = %e, "auto-name not saved"),
        }
    }
}
