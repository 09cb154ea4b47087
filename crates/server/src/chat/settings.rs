//! A chat's settings and list fields (rename, pin, archive, model, prompt, parameters, branch), and
//! storing imported chats.

use boocode_protocol::{Chat, ChatId, Message, SessionId, UpdateChatRequest};

use super::ChatService;
use crate::error::ApiError;

impl ChatService {
    /// The model for work in a session: `preferred` (a chat's or a task's), else the session's, the
    /// project's, the global default, the configured default, the model server's first.
    pub async fn model_in(
        &self,
        session: &SessionId,
        preferred: Option<String>,
    ) -> Result<String, ApiError> {
        let inner = &self.inner;
        let session = inner.store.get_session(session).await?;
        let project = inner.store.get_project(&session.project_id).await?;
        let chosen = preferred
            .filter(|m| !m.trim().is_empty())
            .or(session.model)
            .or(project.default_model);
        let chosen = match chosen {
            Some(m) => Some(m),
            None => {
                crate::models::global_default_model(
                    inner.store.as_ref(),
                    inner.default_model.as_ref(),
                )
                .await
            }
        };
        match chosen {
            Some(m) => Ok(m),
            None => inner.catalog.fallback_model().await.ok_or_else(|| {
                ApiError::bad_request(
                    "no model chosen and the model server lists none: pick one in the chat's \
                     settings, set the session's model or start boocode with --default-model",
                )
            }),
        }
    }

    /// Applies a chat patch after checking it: settings, pin/archive, rename, branch switch.
    pub async fn update(&self, chat_id: &ChatId, req: UpdateChatRequest) -> Result<Chat, ApiError> {
        if req.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(ApiError::bad_request("name must not be empty"));
        }
        if req
            .system_prompt
            .as_ref()
            .is_some_and(|p| p.chars().count() > 100_000)
        {
            return Err(ApiError::bad_request(
                "system_prompt is longer than 100,000 characters",
            ));
        }
        if let Some(params) = &req.params {
            params.validate().map_err(ApiError::bad_request)?;
        }
        let store = &self.inner.store;
        let mut chat = store.get_chat(chat_id).await?;
        if let Some(leaf) = &req.active_leaf_id {
            if self.is_running(chat_id) {
                return Err(ApiError::conflict(
                    "a reply is streaming in this chat; switch branches once it ends",
                ));
            }
            chat = self.switch_branch(chat_id, leaf).await?;
        }
        let settings = UpdateChatRequest {
            active_leaf_id: None,
            ..req
        };
        let touches = settings.name.is_some()
            || settings.status.is_some()
            || settings.pinned.is_some()
            || settings.archived.is_some()
            || settings.model.is_some()
            || settings.system_prompt.is_some()
            || settings.params.is_some();
        if touches {
            chat = store.update_chat(chat_id, &settings).await?;
            self.announce(&chat).await;
        }
        Ok(chat)
    }

    fn is_running(&self, chat_id: &ChatId) -> bool {
        self.inner
            .running
            .lock()
            .map(|r| r.contains_key(chat_id))
            .unwrap_or(false)
    }

    /// Stores imported chats (checked whole by `chat_transfer::prepare_import`); if one fails, the
    /// chats already stored by this import are removed again.
    pub async fn import(
        &self,
        prepared: Vec<crate::chat_transfer::PreparedChat>,
    ) -> Result<Vec<Chat>, ApiError> {
        let store = &self.inner.store;
        let mut created: Vec<Chat> = Vec::with_capacity(prepared.len());
        for mut p in prepared {
            for (at, name, bytes) in std::mem::take(&mut p.files) {
                let saved = self
                    .inner
                    .uploads
                    .save(&name, &bytes)
                    .await
                    .map_err(|e| ApiError::bad_request(format!("chat {:?}: {e}", p.chat.name)));
                match saved {
                    Ok(a) => p.messages[at].attachments.push(a),
                    Err(e) => {
                        for c in &created {
                            let _ = store.delete_chat(&c.id).await;
                        }
                        return Err(e);
                    }
                }
            }
            let stored = async {
                store.insert_chat(&p.chat).await?;
                let refs: Vec<&Message> = p.messages.iter().collect();
                for chunk in refs.chunks(2000) {
                    store.insert_messages(chunk).await?;
                }
                match &p.active_leaf {
                    Some(leaf) => store.set_active_leaf(&p.chat.id, leaf).await,
                    None => store.get_chat(&p.chat.id).await,
                }
            }
            .await;
            match stored {
                Ok(chat) => created.push(chat),
                Err(e) => {
                    for c in created.iter().map(|c| &c.id).chain([&p.chat.id]) {
                        let _ = store.delete_chat(c).await;
                    }
                    return Err(e.into());
                }
            }
        }
        for chat in &created {
            self.announce(chat).await;
        }
        Ok(created)
    }
}
