//! Chats and their messages.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boocode_protocol::{
    Chat, ChatId, ChatKind, CreateChatRequest, Message, OpenStatus, PostMessageRequest,
    PostMessageResponse, SessionId, StopResponse, UpdateChatRequest,
};
use chrono::Utc;

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{JsonBody, OptionalJsonBody};
use crate::title::DEFAULT_CHAT_NAME;

pub async fn list(
    State(state): State<AppState>,
    Path(session): Path<String>,
) -> Result<Json<Vec<Chat>>, ApiError> {
    let session = SessionId(session);
    state.store.get_session(&session).await?;
    Ok(Json(state.store.list_chats(&session).await?))
}

pub async fn create(
    State(state): State<AppState>,
    Path(session): Path<String>,
    OptionalJsonBody(req): OptionalJsonBody<CreateChatRequest>,
) -> Result<(StatusCode, Json<Chat>), ApiError> {
    let session = state.store.get_session(&SessionId(session)).await?;
    let chat = Chat {
        id: ChatId::new(),
        session_id: session.id,
        name: req
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_CHAT_NAME.into()),
        kind: req.kind.unwrap_or(ChatKind::Chat),
        status: OpenStatus::Open,
        created_at: Utc::now(),
    };
    state.store.insert_chat(&chat).await?;
    Ok((StatusCode::CREATED, Json(chat)))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Chat>, ApiError> {
    Ok(Json(state.store.get_chat(&ChatId(id)).await?))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<UpdateChatRequest>,
) -> Result<Json<Chat>, ApiError> {
    if req.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::bad_request("name must not be empty"));
    }
    let chat = state.store.update_chat(&ChatId(id), &req).await?;
    let frame = boocode_protocol::FrameBody::ChatUpdated { chat: chat.clone() };
    if let Err(e) = state.broker.publish(&chat.session_id, frame).await {
        tracing::warn!(error = %e, "chat_updated not published");
    }
    Ok(Json(chat))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = ChatId(id);
    state.chat.stop(&id);
    state.store.delete_chat(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn messages(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let id = ChatId(id);
    state.store.get_chat(&id).await?;
    Ok(Json(state.store.list_messages(&id).await?))
}

pub async fn post_message(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PostMessageRequest>,
) -> Result<(StatusCode, Json<PostMessageResponse>), ApiError> {
    let response = state.chat.post_message(&ChatId(id), req).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

pub async fn stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<StopResponse>, ApiError> {
    let id = ChatId(id);
    state.store.get_chat(&id).await?;
    Ok(Json(StopResponse {
        stopped: state.chat.stop(&id),
    }))
}
