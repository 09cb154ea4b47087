//! Chats and their messages.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boocode_protocol::{
    Chat, ChatId, ChatKind, ChatListItem, ChatListQuery, CreateChatRequest, Message, MessageId,
    PostMessageRequest, PostMessageResponse, RegenerateRequest, RegenerateResponse, SessionId,
    StopResponse, UpdateChatRequest,
};
use boocode_store::ChatFilter;
use serde::Deserialize;

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
    let chat = Chat::new(
        session.id,
        req.name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_CHAT_NAME.into()),
        req.kind.unwrap_or(ChatKind::Chat),
    );
    state.store.insert_chat(&chat).await?;
    state.chat.announce(&chat).await;
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
    Ok(Json(state.chat.update(&ChatId(id), req).await?))
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

/// `GET /api/chats/{id}/messages` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// `1`: every message of every branch, not only the active path.
    #[serde(default)]
    tree: Option<u8>,
}

pub async fn messages(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = ChatId(id);
    let chat = state.store.get_chat(&id).await?;
    let all = state.store.list_messages(&id).await?;
    Ok(Json(match q.tree {
        Some(1) => all,
        Some(_) => {
            return Err(ApiError::bad_request(
                "tree takes 1 (every branch) or nothing",
            ));
        }
        None => crate::chat_tree::active_path(&all, chat.active_leaf_id.as_ref()),
    }))
}

/// `GET /api/chats`: chats across sessions (or one), pinned first then newest; `q` searches titles
/// and message text.
pub async fn find(
    State(state): State<AppState>,
    query: Result<Query<ChatListQuery>, QueryRejection>,
) -> Result<Json<Vec<ChatListItem>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if q.q.as_ref().is_some_and(|t| t.chars().count() > 500) {
        return Err(ApiError::bad_request("q is longer than 500 characters"));
    }
    let filter = ChatFilter {
        text: q.q,
        session: q.session_id.filter(|s| !s.is_empty()).map(SessionId),
        archived: q.archived.unwrap_or(false),
        kind: q.kind,
        limit: q.limit.unwrap_or(200),
    };
    Ok(Json(state.store.find_chats(&filter).await?))
}

pub async fn regenerate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJsonBody(req): OptionalJsonBody<RegenerateRequest>,
) -> Result<(StatusCode, Json<RegenerateResponse>), ApiError> {
    let response = state.chat.regenerate(&MessageId(id), req).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

pub async fn continue_reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RegenerateResponse>), ApiError> {
    let response = state.chat.continue_reply(&MessageId(id)).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

pub async fn fork(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<boocode_protocol::ForkResponse>), ApiError> {
    let chat = state.chat.fork(&MessageId(id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(boocode_protocol::ForkResponse { chat }),
    ))
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

/// `GET /api/chats/{id}/export` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: boocode_protocol::ExportFormat,
}

/// The chat as a download: Markdown (the active branch) or boocode JSON (everything).
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let Query(q) = query.map_err(|_| ApiError::bad_request("format must be md or json"))?;
    let id = ChatId(id);
    let chat = state.store.get_chat(&id).await?;
    let messages = state.store.list_messages(&id).await?;
    let (body, mime, ext) = match q.format {
        boocode_protocol::ExportFormat::Md => (
            crate::chat_transfer::to_markdown(&chat, &messages),
            "text/markdown; charset=utf-8",
            "md",
        ),
        boocode_protocol::ExportFormat::Json => {
            let mut files = std::collections::HashMap::new();
            for a in messages.iter().flat_map(|m| &m.attachments) {
                if let Ok(bytes) = state.uploads.read(&a.id).await {
                    files.insert(a.id.clone(), bytes);
                }
            }
            let export = crate::chat_transfer::to_export(&chat, &messages, &files);
            (
                serde_json::to_string_pretty(&export)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
                "application/json",
                "json",
            )
        }
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        crate::chat_transfer::file_name(&chat, ext)
    );
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// `POST /api/chats/import` query: the session the chats go into.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    session_id: String,
}

/// Imports a boocode or Open WebUI export into a session; checked whole before anything is stored.
pub async fn import(
    State(state): State<AppState>,
    query: Result<Query<ImportQuery>, QueryRejection>,
    JsonBody(file): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<boocode_protocol::ImportResponse>), ApiError> {
    let Query(q) = query.map_err(|_| ApiError::bad_request("session_id is required"))?;
    let session = state.store.get_session(&SessionId(q.session_id)).await?;
    let prepared = crate::chat_transfer::prepare_import(&file, &session.id)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let chats = state.chat.import(prepared).await?;
    Ok((
        StatusCode::CREATED,
        Json(boocode_protocol::ImportResponse { chats }),
    ))
}
