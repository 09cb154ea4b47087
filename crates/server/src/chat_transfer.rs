//! Chat export and import (docs/ARCHITECTURE.md §10): a chat as Markdown (its active branch, for
//! reading) or as boocode JSON (every branch and its settings, for importing again), and imports of
//! boocode JSON and Open WebUI's chat export, so people switching bring their history along.
//!
//! An import is checked whole before anything is stored: a file that is neither format, a message
//! whose parent is not in the file, a parent cycle or an unknown role is a 400 naming it.

use std::collections::{HashMap, HashSet};

use boocode_protocol::{
    CHAT_EXPORT_FORMAT, Chat, ChatExport, ChatKind, ChatParams, ExportedMessage, Message,
    MessageId, MessageStatus, Role, SessionId,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::chat_tree::active_path;

/// Most messages one import may hold.
pub const MAX_IMPORT_MESSAGES: usize = 100_000;

/// Why an import was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error(
        "not a chat export boocode knows: expected boocode's JSON export (format \"{CHAT_EXPORT_FORMAT}\") or Open WebUI's chat export (a list of chats with chat.history.messages)"
    )]
    UnknownFormat,
    #[error("chat {chat:?}: {why}")]
    Invalid { chat: String, why: String },
    #[error("the file holds no chat")]
    Empty,
    #[error("the file holds more than {MAX_IMPORT_MESSAGES} messages")]
    TooLarge,
}

/// A chat ready to store: the chat row and its messages (new ids, oldest first), with the leaf to show.
#[derive(Debug)]
pub struct PreparedChat {
    pub chat: Chat,
    pub messages: Vec<Message>,
    pub active_leaf: Option<MessageId>,
    /// Files to store as uploads and attach: (index into `messages`, name, bytes).
    pub files: Vec<(usize, String, Vec<u8>)>,
}

/// The boocode JSON of a chat and all its messages; `files` holds each attachment's bytes by upload
/// id (a file gone from disk is left out).
pub fn to_export(
    chat: &Chat,
    messages: &[Message],
    files: &HashMap<boocode_protocol::UploadId, Vec<u8>>,
) -> ChatExport {
    use base64::Engine as _;
    ChatExport {
        format: CHAT_EXPORT_FORMAT.to_owned(),
        name: chat.name.clone(),
        kind: chat.kind,
        model: chat.model.clone(),
        system_prompt: chat.system_prompt.clone(),
        params: chat.params.clone(),
        pinned: chat.pinned,
        created_at: chat.created_at,
        active_leaf_id: chat.active_leaf_id.as_ref().map(ToString::to_string),
        messages: messages
            .iter()
            .filter(|m| m.status != MessageStatus::Streaming)
            .map(|m| ExportedMessage {
                id: m.id.to_string(),
                parent_id: m.parent_id.as_ref().map(ToString::to_string),
                role: m.role,
                content: m.content.clone(),
                reasoning: m.reasoning.clone(),
                model: m.model.clone(),
                error: m.error.clone(),
                tokens_prompt: m.tokens_prompt,
                tokens_completion: m.tokens_completion,
                ttft_ms: m.ttft_ms,
                duration_ms: m.duration_ms,
                created_at: m.created_at,
                attachments: m
                    .attachments
                    .iter()
                    .filter_map(|a| {
                        files
                            .get(&a.id)
                            .map(|bytes| boocode_protocol::ExportedAttachment {
                                name: a.name.clone(),
                                data_base64: base64::engine::general_purpose::STANDARD
                                    .encode(bytes),
                            })
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The chat's active branch as Markdown, for reading and sharing.
pub fn to_markdown(chat: &Chat, messages: &[Message]) -> String {
    let mut out = format!("# {}\n\n", chat.name.trim());
    if let Some(prompt) = chat
        .system_prompt
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        out.push_str("> **System prompt:** ");
        out.push_str(&prompt.replace('\n', "\n> "));
        out.push_str("\n\n");
    }
    for m in active_path(messages, chat.active_leaf_id.as_ref()) {
        let who = match (m.role, m.model.as_deref()) {
            (Role::User, _) => "You".to_owned(),
            (Role::Assistant, Some(model)) => format!("Assistant · {model}"),
            (Role::Assistant, None) => "Assistant".to_owned(),
            (Role::System, _) => "System".to_owned(),
        };
        out.push_str(&format!(
            "### {who} — {}\n\n",
            m.created_at.format("%Y-%m-%d %H:%M UTC")
        ));
        if !m.reasoning.trim().is_empty() {
            out.push_str("<details><summary>Reasoning</summary>\n\n");
            out.push_str(m.reasoning.trim());
            out.push_str("\n\n</details>\n\n");
        }
        out.push_str(m.content.trim_end());
        out.push_str("\n\n");
        if let Some(e) = &m.error {
            out.push_str(&format!("*Error: {e}*\n\n"));
        }
    }
    out
}

/// A file name for the chat: its name, safe for any file system.
pub fn file_name(chat: &Chat, ext: &str) -> String {
    let base: String = chat
        .name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    let base = base.trim_matches('-');
    format!("{}.{ext}", if base.is_empty() { "chat" } else { base })
}

/// One chat as read from a file, before ids are assigned.
struct RawChat {
    name: String,
    kind: ChatKind,
    model: Option<String>,
    system_prompt: Option<String>,
    params: ChatParams,
    pinned: bool,
    created_at: DateTime<Utc>,
    leaf: Option<String>,
    messages: Vec<ExportedMessage>,
}

/// Reads an export file (boocode or Open WebUI) into chats for `session`, checked whole.
pub fn prepare_import(file: &Value, session: &SessionId) -> Result<Vec<PreparedChat>, ImportError> {
    let raw = if file.get("format").and_then(Value::as_str) == Some(CHAT_EXPORT_FORMAT) {
        vec![boocode_chat(file)?]
    } else if let Some(items) = open_webui_items(file) {
        items
            .into_iter()
            .map(open_webui_chat)
            .collect::<Result<Vec<_>, _>>()?
    } else {
        return Err(ImportError::UnknownFormat);
    };
    if raw.is_empty() {
        return Err(ImportError::Empty);
    }
    if raw.iter().map(|c| c.messages.len()).sum::<usize>() > MAX_IMPORT_MESSAGES {
        return Err(ImportError::TooLarge);
    }
    raw.into_iter().map(|c| assign_ids(c, session)).collect()
}

fn boocode_chat(file: &Value) -> Result<RawChat, ImportError> {
    let export: ChatExport =
        serde_json::from_value(file.clone()).map_err(|e| ImportError::Invalid {
            chat: file
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            why: format!("not a valid boocode export: {e}"),
        })?;
    export
        .params
        .validate()
        .map_err(|why| ImportError::Invalid {
            chat: export.name.clone(),
            why,
        })?;
    Ok(RawChat {
        name: export.name,
        kind: export.kind,
        model: export.model,
        system_prompt: export.system_prompt,
        params: export.params,
        pinned: export.pinned,
        created_at: export.created_at,
        leaf: export.active_leaf_id,
        messages: export.messages,
    })
}

/// Open WebUI exports a list of chats (one chat alone when exported from its menu, in a list too);
/// each has `chat.history.messages` keyed by id.
fn open_webui_items(file: &Value) -> Option<Vec<&Value>> {
    let items: Vec<&Value> = match file {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![file],
        _ => return None,
    };
    let looks_right = !items.is_empty()
        && items.iter().all(|i| {
            i.get("chat")
                .and_then(|c| c.get("history"))
                .and_then(|h| h.get("messages"))
                .is_some_and(Value::is_object)
        });
    looks_right.then_some(items)
}

/// Open WebUI stores times as Unix seconds (sometimes milliseconds).
fn unix_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let n = v?.as_f64()?;
    let secs = if n > 1e12 { n / 1000.0 } else { n };
    #[allow(clippy::cast_possible_truncation)]
    Utc.timestamp_opt(secs as i64, 0).single()
}

fn open_webui_chat(item: &Value) -> Result<RawChat, ImportError> {
    let chat = &item["chat"];
    let name = item
        .get("title")
        .or_else(|| chat.get("title"))
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or("Imported chat")
        .to_owned();
    let invalid = |why: String| ImportError::Invalid {
        chat: name.clone(),
        why,
    };
    let created_at = unix_time(item.get("created_at"))
        .or_else(|| unix_time(chat.get("timestamp")))
        .unwrap_or_else(Utc::now);
    let history = chat["history"]["messages"]
        .as_object()
        .ok_or_else(|| invalid("chat.history.messages is not an object".into()))?;
    let mut messages = Vec::with_capacity(history.len());
    for (key, m) in history {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            Some("system") => Role::System,
            other => return Err(invalid(format!("message {key} has role {other:?}"))),
        };
        let content = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => return Err(invalid(format!("message {key} has content {other}"))),
        };
        let model = m
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                m.get("models")
                    .and_then(|v| v.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .filter(|_| role == Role::Assistant);
        let usage = m.get("usage");
        let count = |k: &str| usage.and_then(|u| u.get(k)).and_then(Value::as_u64);
        messages.push(ExportedMessage {
            id: m
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or(key)
                .to_owned(),
            parent_id: m.get("parentId").and_then(Value::as_str).map(str::to_owned),
            role,
            content,
            reasoning: String::new(),
            model,
            error: None,
            tokens_prompt: count("prompt_tokens"),
            tokens_completion: count("completion_tokens"),
            ttft_ms: None,
            duration_ms: None,
            created_at: unix_time(m.get("timestamp")).unwrap_or(created_at),
            attachments: Vec::new(),
        });
    }
    let model = chat
        .get("models")
        .and_then(|v| v.get(0))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let system_prompt = chat
        .get("system")
        .or_else(|| chat.get("params").and_then(|p| p.get("system")))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned);
    Ok(RawChat {
        name,
        kind: ChatKind::Chat,
        model,
        system_prompt,
        params: ChatParams::default(),
        pinned: item.get("pinned").and_then(Value::as_bool).unwrap_or(false),
        created_at,
        leaf: chat["history"]
            .get("currentId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        messages,
    })
}

/// Checks the tree (every parent in the file, no cycle) and gives each message a new id, oldest first.
fn assign_ids(raw: RawChat, session: &SessionId) -> Result<PreparedChat, ImportError> {
    let invalid = |why: String| ImportError::Invalid {
        chat: raw.name.clone(),
        why,
    };
    let ids: HashSet<&str> = raw.messages.iter().map(|m| m.id.as_str()).collect();
    if ids.len() != raw.messages.len() {
        return Err(invalid("two messages share an id".into()));
    }
    let parent_of: HashMap<&str, Option<&str>> = raw
        .messages
        .iter()
        .map(|m| (m.id.as_str(), m.parent_id.as_deref()))
        .collect();
    for m in &raw.messages {
        if let Some(p) = &m.parent_id
            && !ids.contains(p.as_str())
        {
            return Err(invalid(format!(
                "message {} follows {p}, which is not in the file",
                m.id
            )));
        }
        // Walk up: a cycle never reaches a root.
        let mut at = m.parent_id.as_deref();
        let mut steps = 0;
        while let Some(p) = at {
            steps += 1;
            if steps > raw.messages.len() {
                return Err(invalid(format!("message {} is in a parent cycle", m.id)));
            }
            at = parent_of.get(p).copied().flatten();
        }
    }
    // Parents before children and older before newer, so ids (time-ordered) keep both orders.
    let mut order: Vec<&ExportedMessage> = raw.messages.iter().collect();
    let depth = |m: &ExportedMessage| {
        let mut d = 0usize;
        let mut at = m.parent_id.as_deref();
        while let Some(p) = at {
            d += 1;
            at = parent_of.get(p).copied().flatten();
        }
        d
    };
    order.sort_by_key(|m| (m.created_at, depth(m)));
    let mut chat = Chat::new(session.clone(), raw.name.clone(), raw.kind);
    chat.created_at = raw.created_at;
    chat.model = raw.model.clone();
    chat.system_prompt = raw.system_prompt.clone();
    chat.params = raw.params.clone();
    chat.pinned = raw.pinned;
    let new_ids: HashMap<&str, MessageId> = order
        .iter()
        .map(|m| (m.id.as_str(), MessageId::new()))
        .collect();
    let messages: Vec<Message> = order
        .iter()
        .map(|m| Message {
            id: new_ids[m.id.as_str()].clone(),
            session_id: session.clone(),
            chat_id: chat.id.clone(),
            parent_id: m.parent_id.as_deref().map(|p| new_ids[p].clone()),
            role: m.role,
            content: m.content.replace('\0', "\u{FFFD}"),
            reasoning: m.reasoning.replace('\0', "\u{FFFD}"),
            status: if m.error.is_some() {
                MessageStatus::Error
            } else {
                MessageStatus::Complete
            },
            error: m.error.clone(),
            model: m.model.clone(),
            agent: None,
            tokens_prompt: m.tokens_prompt,
            tokens_completion: m.tokens_completion,
            ttft_ms: m.ttft_ms,
            duration_ms: m.duration_ms,
            compared: false,
            attachments: Vec::new(),
            created_at: m.created_at,
            finished_at: Some(m.created_at),
            tool_calls: Vec::new(),
        })
        .collect();
    let mut files = Vec::new();
    for (at, m) in order.iter().enumerate() {
        for a in &m.attachments {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&a.data_base64)
                .map_err(|e| {
                    invalid(format!(
                        "attachment {} of message {} is not base64: {e}",
                        a.name, m.id
                    ))
                })?;
            files.push((at, a.name.clone(), bytes));
        }
    }
    let active_leaf = raw
        .leaf
        .as_deref()
        .and_then(|l| new_ids.get(l).cloned())
        .or_else(|| messages.last().map(|m| m.id.clone()));
    Ok(PreparedChat {
        chat,
        messages,
        active_leaf,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session() -> SessionId {
        SessionId("s".into())
    }

    #[test]
    fn open_webui_tree_keeps_branches_and_order() {
        let file = json!([{
            "id": "c1", "title": "Rust lifetimes", "created_at": 1_700_000_000, "pinned": true,
            "chat": {
                "models": ["llama3:8b"],
                "history": {
                    "currentId": "a2",
                    "messages": {
                        "a2": {"id": "a2", "parentId": "u1", "childrenIds": [], "role": "assistant", "content": "second", "model": "llama3:8b", "timestamp": 1_700_000_030},
                        "u1": {"id": "u1", "parentId": null, "childrenIds": ["a1", "a2"], "role": "user", "content": "why", "timestamp": 1_700_000_000},
                        "a1": {"id": "a1", "parentId": "u1", "childrenIds": [], "role": "assistant", "content": "first", "model": "llama3:8b", "timestamp": 1_700_000_010}
                    }
                }
            }
        }]);
        let chats = prepare_import(&file, &session()).unwrap();
        let c = &chats[0];
        assert_eq!(c.chat.name, "Rust lifetimes");
        assert!(c.chat.pinned);
        let contents: Vec<&str> = c.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(contents, ["why", "first", "second"]);
        assert_eq!(c.messages[1].parent_id, Some(c.messages[0].id.clone()));
        assert_eq!(c.active_leaf, Some(c.messages[2].id.clone()));
        assert_eq!(c.messages[2].model.as_deref(), Some("llama3:8b"));
    }

    #[test]
    fn bad_files_are_named() {
        assert_eq!(
            prepare_import(&json!({"hello": 1}), &session()).unwrap_err(),
            ImportError::UnknownFormat
        );
        let dangling = json!([{"title": "x", "chat": {"history": {"messages": {
            "a": {"id": "a", "parentId": "zz", "role": "user", "content": "hi"}
        }}}}]);
        let err = prepare_import(&dangling, &session()).unwrap_err();
        assert!(err.to_string().contains("not in the file"), "{err}");
        let cycle = json!([{"title": "x", "chat": {"history": {"messages": {
            "a": {"id": "a", "parentId": "b", "role": "user", "content": "hi"},
            "b": {"id": "b", "parentId": "a", "role": "assistant", "content": "ho"}
        }}}}]);
        assert!(
            prepare_import(&cycle, &session())
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );
        let role = json!([{"title": "x", "chat": {"history": {"messages": {
            "a": {"id": "a", "role": "tool", "content": "hi"}
        }}}}]);
        assert!(
            prepare_import(&role, &session())
                .unwrap_err()
                .to_string()
                .contains("role")
        );
        assert_eq!(
            prepare_import(&json!([]), &session()).unwrap_err(),
            ImportError::UnknownFormat
        );
    }

    #[test]
    fn file_names_are_safe() {
        let chat = Chat::new(session(), "../../etc/passwd: a \"chat\"", ChatKind::Chat);
        assert_eq!(file_name(&chat, "md"), "etc-passwd--a--chat.md");
    }
}
