//! Branching a chat: regenerate, continue a cut-off reply, switch branch, fork.

use boocode_protocol::{
    Chat, ChatId, Message, MessageId, MessageStatus, RegenerateRequest, RegenerateResponse, Role,
};

use super::{ChatService, message_of_chat};
use crate::chat_tree::{active_path, newest_leaf_under};
use crate::error::ApiError;

impl ChatService {
    /// Answers again: a new assistant reply beside `message` (an assistant reply) or under it (a user
    /// message whose reply failed or was stopped), optionally with another model; it becomes the
    /// active branch.
    pub async fn regenerate(
        &self,
        message_id: &MessageId,
        req: RegenerateRequest,
    ) -> Result<RegenerateResponse, ApiError> {
        let inner = &self.inner;
        let message = inner.store.get_message(message_id).await?;
        let chat = self.open_chat(&message.chat_id).await?;
        let all = inner.store.list_messages(&chat.id).await?;
        let user_id = match message.role {
            Role::User => message.id.clone(),
            _ => message.parent_id.clone().ok_or_else(|| {
                ApiError::bad_request("this reply answers no message; nothing to regenerate")
            })?,
        };
        let mut path = active_path(&all, Some(&user_id));
        let Some(user) = path.pop().filter(|u| u.role == Role::User) else {
            return Err(ApiError::bad_request(
                "only a reply to a user message can be regenerated",
            ));
        };
        let requested = req
            .model
            .or_else(|| message.model.clone().filter(|_| message.role != Role::User));
        let model = self.resolve_model(&chat, requested).await?;
        self.reply_again(chat, path, user, &model, String::new())
            .await
    }

    /// A new assistant reply under `user` (a sibling of its earlier replies), starting with `prefix`,
    /// streamed with `model`; it becomes the active branch.
    async fn reply_again(
        &self,
        chat: Chat,
        path: Vec<Message>,
        user: Message,
        model: &str,
        prefix: String,
    ) -> Result<RegenerateResponse, ApiError> {
        let inner = &self.inner;
        let turn = self.begin(&chat.id)?;
        let (_, mut assistant) = crate::recorder::new_exchange(
            &chat.session_id,
            &chat.id,
            None,
            String::new(),
            model,
            inner.backend.name(),
        );
        assistant.parent_id = Some(user.id.clone());
        if let Err(e) = inner.store.insert_messages(&[&assistant]).await {
            self.forget(&chat.id);
            return Err(e.into());
        }
        let response = RegenerateResponse {
            assistant_message_id: assistant.id.clone(),
        };
        // A continuation carries the old text as its start; the model sees it as its own last turn.
        assistant.content = prefix;
        self.start_replies(chat, path, user, vec![assistant], turn, false)
            .await;
        Ok(response)
    }

    /// Continues a reply that was stopped or cut off: a new sibling that starts with the old text,
    /// the model asked to go on from it (the old text is sent as the last, assistant, message, which
    /// llama.cpp and most servers continue). The original stays as a branch.
    pub async fn continue_reply(
        &self,
        message_id: &MessageId,
    ) -> Result<RegenerateResponse, ApiError> {
        let inner = &self.inner;
        let message = inner.store.get_message(message_id).await?;
        if message.role != Role::Assistant || message.content.trim().is_empty() {
            return Err(ApiError::bad_request(
                "only a reply with some text can be continued; regenerate it instead",
            ));
        }
        if message.status == MessageStatus::Streaming {
            return Err(ApiError::conflict("that reply is still streaming"));
        }
        let chat = self.open_chat(&message.chat_id).await?;
        let all = inner.store.list_messages(&chat.id).await?;
        let Some(user_id) = message.parent_id.clone() else {
            return Err(ApiError::bad_request("this reply answers no message"));
        };
        let mut path = active_path(&all, Some(&user_id));
        let Some(user) = path.pop().filter(|u| u.role == Role::User) else {
            return Err(ApiError::bad_request(
                "only a reply to a user message can be continued",
            ));
        };
        let model = self.resolve_model(&chat, message.model.clone()).await?;
        self.reply_again(chat, path, user, &model, message.content)
            .await
    }

    /// Shows the branch through `message`: its newest descendant becomes the active leaf.
    pub async fn switch_branch(
        &self,
        chat_id: &ChatId,
        message: &MessageId,
    ) -> Result<Chat, ApiError> {
        let inner = &self.inner;
        let all = inner.store.list_messages(chat_id).await?;
        message_of_chat(&all, message, chat_id, &inner.store).await?;
        let leaf = newest_leaf_under(&all, message);
        let chat = inner.store.set_active_leaf(chat_id, &leaf).await?;
        self.announce(&chat).await;
        Ok(chat)
    }

    /// A new chat in the same session holding the path up to `message`, with the same settings.
    pub async fn fork(&self, message_id: &MessageId) -> Result<Chat, ApiError> {
        let inner = &self.inner;
        let message = inner.store.get_message(message_id).await?;
        let source = inner.store.get_chat(&message.chat_id).await?;
        let all = inner.store.list_messages(&source.id).await?;
        let path = active_path(&all, Some(message_id));
        if path.iter().any(|m| m.status == MessageStatus::Streaming) {
            return Err(ApiError::conflict(
                "that branch is still streaming; fork it once the reply ends",
            ));
        }
        let mut chat = Chat::new(
            source.session_id.clone(),
            format!("{} (fork)", source.name),
            source.kind,
        );
        chat.model = source.model.clone();
        chat.system_prompt = source.system_prompt.clone();
        chat.params = source.params.clone();
        inner.store.insert_chat(&chat).await?;
        let mut copies = Vec::with_capacity(path.len());
        let mut parent: Option<MessageId> = None;
        for m in path {
            let copy = Message {
                id: MessageId::new(),
                chat_id: chat.id.clone(),
                parent_id: parent.clone(),
                tool_calls: Vec::new(),
                ..m
            };
            parent = Some(copy.id.clone());
            copies.push(copy);
        }
        let refs: Vec<&Message> = copies.iter().collect();
        if !refs.is_empty() {
            inner.store.insert_messages(&refs).await?;
        }
        let chat = inner.store.get_chat(&chat.id).await?;
        self.announce(&chat).await;
        Ok(chat)
    }
}
