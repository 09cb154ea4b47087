//! The chat service (docs/ARCHITECTURE.md §10): accepts a message, runs the reply as a native-backend turn through
//! the turn recorder, stops it on request, and names the chat after its first exchange.

mod branches;
mod settings;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use boocode_agents::{AgentBackend, TurnInput};
use boocode_llm::{ChatMessage, LlmClient};
use boocode_protocol::{
    Chat, ChatId, ChatParams, FrameBody, Message, MessageId, MessageStatus, PostMessageRequest,
    PostMessageResponse, ReasoningEffort, Role, UpdateChatRequest,
};
use boocode_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::Broker;
use crate::chat_tree::active_path;
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
    uploads: crate::uploads::Uploads,
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
    /// Where attached files are kept.
    pub uploads: crate::uploads::Uploads,
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
                uploads: d.uploads,
                running: Mutex::default(),
                tracker: d.tracker,
                shutdown: d.shutdown,
                worker_id: d.worker_id,
            }),
        }
    }

    /// Stores the user's message and starts the reply; the reply streams as frames. The message follows
    /// `req.parent_id` (default: the active leaf), so an edit is a new branch beside the original.
    pub async fn post_message(
        &self,
        chat_id: &ChatId,
        req: PostMessageRequest,
    ) -> Result<PostMessageResponse, ApiError> {
        let inner = &self.inner;
        if req.content.trim().is_empty() && req.attachments.as_ref().is_none_or(Vec::is_empty) {
            return Err(ApiError::bad_request("content must not be empty"));
        }
        let chat = self.open_chat(chat_id).await?;
        let all = inner.store.list_messages(chat_id).await?;
        let parent = match req.parent_id {
            None => chat.active_leaf_id.clone(),
            Some(None) => None,
            Some(Some(id)) => {
                let parent = message_of_chat(&all, &id, chat_id, &inner.store).await?;
                if parent.role == Role::User {
                    return Err(ApiError::bad_request(
                        "a message follows a reply, not another user message: to edit a message, \
                         send the new text with the edited message's parent_id",
                    ));
                }
                Some(id)
            }
        };
        let attachments = match req.attachments.as_deref() {
            None | Some([]) => Vec::new(),
            Some(ids) if ids.len() > 20 => {
                return Err(ApiError::bad_request("at most 20 attachments per message"));
            }
            Some(ids) => inner
                .uploads
                .resolve(ids)
                .await
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        };
        let path = active_path(&all, parent.as_ref());
        if let Some(models) = req.models {
            let models = compare_models(models)?;
            return self
                .compare(chat, path, parent, req.content, attachments, models)
                .await;
        }
        let model = self.resolve_model(&chat, req.model).await?;
        let turn = self.begin(chat_id)?;
        let (mut user, assistant) = crate::recorder::new_exchange(
            &chat.session_id,
            chat_id,
            parent,
            req.content,
            &model,
            inner.backend.name(),
        );
        user.attachments = attachments;
        if let Err(e) = inner.store.insert_exchange(&user, &assistant).await {
            self.forget(chat_id);
            return Err(e.into());
        }
        publish_user_message(&inner.broker, &user).await;
        let response = PostMessageResponse {
            user_message_id: user.id.clone(),
            assistant_message_id: assistant.id.clone(),
            assistant_message_ids: vec![assistant.id.clone()],
        };
        self.start_replies(chat, path, user, vec![assistant], turn, false)
            .await;
        Ok(response)
    }

    /// One message, answered by each of `models` as sibling replies. Behind a server that holds one
    /// model at a time (llama-swap: it says which is loaded) they run one after another, loaded ones
    /// first, so a comparison never thrashes models; otherwise they stream at once.
    async fn compare(
        &self,
        chat: Chat,
        path: Vec<Message>,
        parent: Option<MessageId>,
        content: String,
        attachments: Vec<boocode_protocol::Attachment>,
        models: Vec<String>,
    ) -> Result<PostMessageResponse, ApiError> {
        let inner = &self.inner;
        let one_at_a_time = inner.catalog.swaps_models().await;
        let mut order = models;
        if one_at_a_time && let Some(loaded) = inner.catalog.loaded_models().await {
            // Stable: the user's order within the loaded and within the unloaded.
            order.sort_by_key(|m| !loaded.contains(m));
        }
        let turn = self.begin(&chat.id)?;
        let (mut user, first) = crate::recorder::new_exchange(
            &chat.session_id,
            &chat.id,
            parent,
            content,
            &order[0],
            inner.backend.name(),
        );
        user.attachments = attachments;
        let replies: Vec<Message> = order
            .iter()
            .map(|model| Message {
                id: MessageId::new(),
                model: Some(model.clone()),
                compared: true,
                ..first.clone()
            })
            .collect();
        let mut all: Vec<&Message> = vec![&user];
        all.extend(replies.iter());
        if let Err(e) = inner.store.insert_messages(&all).await {
            self.forget(&chat.id);
            return Err(e.into());
        }
        publish_user_message(&inner.broker, &user).await;
        let response = PostMessageResponse {
            user_message_id: user.id.clone(),
            assistant_message_id: replies[0].id.clone(),
            assistant_message_ids: replies.iter().map(|r| r.id.clone()).collect(),
        };
        self.start_replies(chat, path, user, replies, turn, one_at_a_time)
            .await;
        Ok(response)
    }

    /// The default model boocode was started with (`--default-model`), if any.
    pub fn configured_default_model(&self) -> Option<String> {
        self.inner.default_model.clone()
    }

    /// Tells the session's clients about a chat's new state (created, renamed, new settings or branch).
    pub async fn announce(&self, chat: &Chat) {
        let frame = FrameBody::ChatUpdated { chat: chat.clone() };
        if let Err(e) = self.inner.broker.publish(&chat.session_id, frame).await {
            tracing::warn!(error = %e, "chat_updated not published");
        }
    }

    /// The chat, if messages may be added to it now.
    async fn open_chat(&self, chat_id: &ChatId) -> Result<Chat, ApiError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(ApiError::conflict(SHUTDOWN_REASON));
        }
        let chat = self.inner.store.get_chat(chat_id).await?;
        if chat.status == boocode_protocol::OpenStatus::Closed {
            return Err(ApiError::conflict(
                "chat is closed; reopen it to send messages",
            ));
        }
        if chat.archived {
            return Err(ApiError::conflict(
                "chat is archived; unarchive it to send messages",
            ));
        }
        Ok(chat)
    }

    /// The model a reply uses: the one asked for, else the chat's, the session's, the project's, the
    /// global default, else the first the server lists.
    async fn resolve_model(
        &self,
        chat: &Chat,
        requested: Option<String>,
    ) -> Result<String, ApiError> {
        let requested = requested.filter(|m| !m.trim().is_empty());
        self.model_in(&chat.session_id, requested.or(chat.model.clone()))
            .await
    }

    /// Claims the chat's one reply slot (409 while a reply streams).
    fn begin(&self, chat_id: &ChatId) -> Result<RunningTurn, ApiError> {
        let mut running = self
            .inner
            .running
            .lock()
            .map_err(|_| ApiError::internal("poisoned"))?;
        if running.contains_key(chat_id) {
            return Err(ApiError::conflict(
                "a reply is still streaming in this chat; stop it first",
            ));
        }
        // Not a child of the shutdown token: shutdown cancels through `cancel_all`, which records why.
        let turn = RunningTurn {
            cancel: CancellationToken::new(),
            reason: CancelReason::default(),
        };
        running.insert(
            chat_id.clone(),
            RunningTurn {
                cancel: turn.cancel.clone(),
                reason: turn.reason.clone(),
            },
        );
        Ok(turn)
    }

    /// Streams each of `replies` (assistant messages answering `user`), given the path before `user`,
    /// with the chat's system prompt and parameters: one after another when `sequential`, else at once.
    async fn start_replies(
        &self,
        chat: Chat,
        before: Vec<Message>,
        user: Message,
        replies: Vec<Message>,
        turn: RunningTurn,
        sequential: bool,
    ) {
        let inner = &self.inner;
        for reply in &replies {
            if let Err(e) = inner
                .store
                .set_message_worker(&reply.id, &inner.worker_id)
                .await
            {
                tracing::warn!(error = %e, "the reply's worker not recorded");
            }
        }
        if sequential {
            // Show every column now; the ones waiting say for what.
            for (i, reply) in replies.iter().enumerate().skip(1) {
                let previous = replies[i - 1].model.clone().unwrap_or_default();
                for body in [
                    FrameBody::MessageStarted {
                        message_id: reply.id.clone(),
                        chat_id: chat.id.clone(),
                        role: Role::Assistant,
                        parent_id: reply.parent_id.clone(),
                        compared: Some(true),
                        attachments: None,
                        agent: reply.agent.clone(),
                        model: reply.model.clone(),
                    },
                    FrameBody::TurnStatus {
                        message_id: reply.id.clone(),
                        chat_id: chat.id.clone(),
                        status: format!("waiting for {previous} to finish (one model at a time)"),
                    },
                ] {
                    if let Err(e) = inner.broker.publish(&chat.session_id, body).await {
                        tracing::warn!(error = %e, "frame publish failed");
                    }
                }
            }
        }
        let mut conversation = Vec::with_capacity(before.len() + 2);
        if let Some(prompt) = chat
            .system_prompt
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            conversation.push(ChatMessage::new("system", prompt));
        }
        for m in before.iter().filter(|m| {
            (!m.content.is_empty() || !m.attachments.is_empty())
                && m.status != MessageStatus::Streaming
        }) {
            conversation.push(self.model_message(m).await);
        }
        conversation.push(self.model_message(&user).await);
        if let [reply] = replies.as_slice()
            && !reply.content.is_empty()
        {
            conversation.push(ChatMessage::new("assistant", reply.content.clone()));
        }
        let first_exchange = before.is_empty();
        let this = self.clone();
        inner.tracker.spawn(async move {
            let runs = replies
                .into_iter()
                .map(|reply| this.run_reply(&chat, conversation.clone(), reply, &turn));
            let summaries = if sequential {
                let mut done = Vec::new();
                for run in runs {
                    done.push(run.await);
                }
                done
            } else {
                futures::future::join_all(runs).await
            };
            this.forget(&chat.id);
            let named = summaries
                .iter()
                .find(|(_, s)| s.status == MessageStatus::Complete);
            if first_exchange && let Some((model, summary)) = named {
                this.auto_name(&chat, model, &user.content, &summary.content)
                    .await;
            }
        });
    }

    /// A stored message as the model gets it: skills expanded, attachments added.
    async fn model_message(&self, m: &Message) -> ChatMessage {
        let text = crate::coding::expand_user(&self.inner.skills, m);
        if m.attachments.is_empty() {
            return ChatMessage::new(m.role.as_str(), text);
        }
        let (content, images) = self.inner.uploads.model_content(m, text).await;
        ChatMessage {
            images,
            ..ChatMessage::new(m.role.as_str(), content)
        }
    }

    /// Records one reply; returns its model and how it ended.
    async fn run_reply(
        &self,
        chat: &Chat,
        conversation: Vec<ChatMessage>,
        reply: Message,
        turn: &RunningTurn,
    ) -> (String, crate::recorder::TurnSummary) {
        let inner = &self.inner;
        let model = reply.model.clone().unwrap_or_default();
        let run = TurnRun {
            store: inner.store.clone(),
            broker: inner.broker.clone(),
            target: TurnTarget {
                session_id: chat.session_id.clone(),
                chat_id: chat.id.clone(),
                message_id: reply.id.clone(),
                parent_id: reply.parent_id.clone(),
                compared: reply.compared,
                prefix: reply.content.clone(),
                model: Some(model.clone()),
                agent: reply.agent.clone(),
            },
            cancel: turn.cancel.clone(),
            cancel_reason: turn.reason.clone(),
            context_limit: inner.catalog.context_limit(&model).await,
            permissions: None,
            fence: None,
        };
        let mut input = TurnInput::chat(model.clone(), conversation);
        input.request_extra = request_extra(&chat.params);
        (model, record_turn(run, inner.backend.clone(), input).await)
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
            ..Default::default()
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

/// `id` as a message of `chat`: 404 when no such message exists, 400 when it belongs to another chat.
async fn message_of_chat(
    all: &[Message],
    id: &MessageId,
    chat: &ChatId,
    store: &Arc<dyn Store>,
) -> Result<Message, ApiError> {
    if let Some(m) = all.iter().find(|m| &m.id == id) {
        return Ok(m.clone());
    }
    match store.get_message(id).await {
        Ok(_) => Err(ApiError::bad_request(format!(
            "message {id} belongs to another chat than {chat}"
        ))),
        Err(boocode_store::StoreError::NotFound { .. }) => {
            Err(ApiError::not_found(format!("no message {id} in this chat")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The chat's parameters as request fields; thinking switched off also sets the chat-template switch
/// Qwen-style templates read.
fn request_extra(params: &ChatParams) -> serde_json::Map<String, serde_json::Value> {
    let mut extra = match serde_json::to_value(params) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    if params.reasoning_effort == Some(ReasoningEffort::None) {
        extra.insert(
            "chat_template_kwargs".into(),
            serde_json::json!({"enable_thinking": false}),
        );
    }
    extra
}

/// The models of a comparison: 2 to 4, distinct, named.
fn compare_models(models: Vec<String>) -> Result<Vec<String>, ApiError> {
    let models: Vec<String> = models.into_iter().map(|m| m.trim().to_owned()).collect();
    if !(2..=4).contains(&models.len()) {
        return Err(ApiError::bad_request(format!(
            "models takes 2 to 4 model ids to compare, got {}",
            models.len()
        )));
    }
    if models.iter().any(String::is_empty) {
        return Err(ApiError::bad_request("a model id in models is empty"));
    }
    let distinct: std::collections::HashSet<&String> = models.iter().collect();
    if distinct.len() != models.len() {
        return Err(ApiError::bad_request("models names the same model twice"));
    }
    Ok(models)
}
