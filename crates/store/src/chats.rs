//! Chats: their list (newest first, pinned on top, archived apart), settings, active branch, full-text
//! search over titles and finished message text, and presets. The search SQL is per engine (SQLite
//! FTS5, PostgreSQL `tsvector` with a GIN index); everything else is shared.

use async_trait::async_trait;
use boocode_protocol::{
    Attachment, Chat, ChatId, ChatKind, ChatListItem, MessageId, Preset, ProjectId, SessionId,
    SnippetPart, UpdateChatRequest, UploadId,
};

use crate::Result;

/// Opens a hit in a snippet the engines return (a private-use character no one types).
pub(crate) const HIT_START: char = '\u{E000}';
/// Closes a hit.
pub(crate) const HIT_END: char = '\u{E001}';
/// Most words of a query that are searched for.
const MAX_TERMS: usize = 16;

/// What `find_chats` looks for.
#[derive(Debug, Clone, Default)]
pub struct ChatFilter {
    /// Words to find; each must occur (as a word prefix) in one message, or the phrase in the title.
    pub text: Option<String>,
    pub session: Option<SessionId>,
    pub archived: bool,
    pub kind: Option<ChatKind>,
    pub limit: u32,
}

/// Chats and presets.
#[async_trait]
pub trait ChatStore: Send + Sync {
    async fn insert_chat(&self, chat: &Chat) -> Result<()>;
    /// A session's chats, oldest first (the workspace's tabs).
    async fn list_chats(&self, session: &SessionId) -> Result<Vec<Chat>>;
    async fn get_chat(&self, id: &ChatId) -> Result<Chat>;
    /// Applies a patch; `active_leaf_id` is left to `set_active_leaf`, which checks it.
    async fn update_chat(&self, id: &ChatId, patch: &UpdateChatRequest) -> Result<Chat>;
    async fn delete_chat(&self, id: &ChatId) -> Result<()>;
    /// Makes `leaf` (a message of the chat) the one the next message follows.
    async fn set_active_leaf(&self, id: &ChatId, leaf: &MessageId) -> Result<Chat>;
    /// Chats across sessions (or of one), pinned first then newest, matching the filter's text.
    async fn find_chats(&self, filter: &ChatFilter) -> Result<Vec<ChatListItem>>;

    /// Records an upload whose bytes were just written to the data directory.
    async fn insert_upload(&self, upload: &Attachment) -> Result<()>;
    /// The uploads with these ids that exist, in no particular order.
    async fn get_uploads(&self, ids: &[UploadId]) -> Result<Vec<Attachment>>;

    /// A server-wide setting set from the UI (`None` when unset).
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    /// Sets (`Some`) or clears (`None`) a server-wide setting.
    async fn set_setting(&self, key: &str, value: Option<&str>) -> Result<()>;

    async fn insert_preset(&self, preset: &Preset) -> Result<()>;
    /// Global presets and, when given, the project's own.
    async fn list_presets(&self, project: Option<&ProjectId>) -> Result<Vec<Preset>>;
    async fn delete_preset(&self, id: &str) -> Result<()>;
}

/// The words of a query as the engines' tokenizers see them: runs of letters and digits. Everything
/// else (quotes, `*`, `:`, `&`, parentheses — FTS syntax) separates words and is never passed on.
pub(crate) fn search_terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .take(MAX_TERMS)
        .map(str::to_lowercase)
        .collect()
}

/// A `LIKE` pattern finding `q` anywhere in a lowercased title, its wildcards escaped with `\`.
pub(crate) fn title_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Splits an engine's marked snippet into plain-text parts.
pub(crate) fn snippet_parts(marked: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut hit = false;
    for c in marked.chars() {
        if c == HIT_START || c == HIT_END {
            if !text.is_empty() {
                parts.push(SnippetPart {
                    text: std::mem::take(&mut text),
                    hit,
                });
            }
            hit = c == HIT_START;
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        parts.push(SnippetPart { text, hit });
    }
    parts
}

/// The query around an engine's hits subquery (`chat_id`, `snippet` by chat, reading `$1`).
/// `$2` title pattern (NULL: no query), `$3` session, `$4` archived, `$5` kind, `$6` limit.
pub(crate) fn list_sql(hits: &str) -> String {
    format!(
        "SELECT c.*, s.name AS session_name, s.project_id AS project_id, p.name AS project_name, \
         h.snippet AS snippet \
         FROM chats c JOIN sessions s ON s.id = c.session_id JOIN projects p ON p.id = s.project_id \
         LEFT JOIN ({hits}) h ON h.chat_id = c.id \
         WHERE c.archived = $4 \
         AND (CAST($3 AS TEXT) IS NULL OR c.session_id = $3) \
         AND (CAST($5 AS TEXT) IS NULL OR c.kind = $5) \
         AND (CAST($2 AS TEXT) IS NULL OR h.chat_id IS NOT NULL OR LOWER(c.name) LIKE $2 ESCAPE '\\') \
         ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC LIMIT $6"
    )
}

/// Hits subquery when the query has no words (titles may still match).
pub(crate) const NO_HITS: &str =
    "SELECT CAST($1 AS TEXT) AS chat_id, CAST(NULL AS TEXT) AS snippet WHERE 1 = 0";

macro_rules! impl_chat_store {
    ($store:ty, $row:ty) => {
        mod chat_queries {
            use async_trait::async_trait;
            use boocode_protocol::{
                Attachment, AttachmentKind, Chat, ChatId, ChatKind, ChatListItem, ChatParams,
                MessageId, OpenStatus, Preset, ProjectId, SessionId, UpdateChatRequest, UploadId,
            };
            use sqlx::Row as _;
            use sqlx::types::Json;

            use super::*;
            use crate::chats::{ChatFilter, ChatStore, snippet_parts};
            use crate::{Result, StoreError};

            fn parsed<T>(value: Option<T>, what: &str, raw: &str) -> Result<T> {
                value.ok_or_else(|| StoreError::Corrupt(format!("{what} {raw:?}")))
            }

            pub(crate) fn chat_from(row: &$row) -> Result<Chat> {
                let status: String = row.try_get("status")?;
                let kind: String = row.try_get("kind")?;
                let created_at = row.try_get("created_at")?;
                let params: Option<Json<ChatParams>> = row.try_get("params")?;
                let updated_at: Option<chrono::DateTime<chrono::Utc>> = row.try_get("updated_at")?;
                Ok(Chat {
                    id: ChatId(row.try_get("id")?),
                    session_id: SessionId(row.try_get("session_id")?),
                    name: row.try_get("name")?,
                    kind: parsed(ChatKind::parse(&kind), "chat kind", &kind)?,
                    status: parsed(OpenStatus::parse(&status), "chat status", &status)?,
                    created_at,
                    updated_at: updated_at.unwrap_or(created_at),
                    pinned: row.try_get("pinned")?,
                    archived: row.try_get("archived")?,
                    active_leaf_id: row.try_get::<Option<String>, _>("active_leaf_id")?.map(MessageId),
                    model: row.try_get("model")?,
                    system_prompt: row.try_get("system_prompt")?,
                    params: params.map(|p| p.0).unwrap_or_default(),
                })
            }

            fn preset_from(row: &$row) -> Result<Preset> {
                let params: Option<Json<ChatParams>> = row.try_get("params")?;
                Ok(Preset {
                    id: row.try_get("id")?,
                    project_id: row.try_get::<Option<String>, _>("project_id")?.map(ProjectId),
                    name: row.try_get("name")?,
                    system_prompt: row.try_get("system_prompt")?,
                    params: params.map(|p| p.0).unwrap_or_default(),
                    created_at: row.try_get("created_at")?,
                })
            }

            /// `""` clears a text setting; anything else sets it.
            fn cleared(v: &Option<String>) -> (bool, Option<&str>) {
                match v.as_deref() {
                    None => (false, None),
                    Some(s) if s.trim().is_empty() => (true, None),
                    Some(s) => (true, Some(s)),
                }
            }

            #[async_trait]
            impl ChatStore for $store {
                async fn insert_chat(&self, c: &Chat) -> Result<()> {
                    let params = (!c.params.is_empty()).then(|| Json(&c.params));
                    sqlx::query(
                        "INSERT INTO chats (id, session_id, name, kind, status, created_at, updated_at, \
                         pinned, archived, active_leaf_id, model, system_prompt, params) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    )
                    .bind(c.id.as_str())
                    .bind(c.session_id.as_str())
                    .bind(&c.name)
                    .bind(c.kind.as_str())
                    .bind(c.status.as_str())
                    .bind(c.created_at)
                    .bind(c.updated_at)
                    .bind(c.pinned)
                    .bind(c.archived)
                    .bind(c.active_leaf_id.as_ref().map(MessageId::as_str))
                    .bind(&c.model)
                    .bind(&c.system_prompt)
                    .bind(params)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn list_chats(&self, session: &SessionId) -> Result<Vec<Chat>> {
                    let rows = sqlx::query(
                        "SELECT * FROM chats WHERE session_id = $1 ORDER BY created_at, id",
                    )
                    .bind(session.as_str())
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(chat_from).collect()
                }

                async fn get_chat(&self, id: &ChatId) -> Result<Chat> {
                    let row = sqlx::query("SELECT * FROM chats WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref()
                        .map(chat_from)
                        .unwrap_or_else(|| Err(StoreError::not_found("chat", id)))
                }

                async fn update_chat(&self, id: &ChatId, patch: &UpdateChatRequest) -> Result<Chat> {
                    let (set_model, model) = cleared(&patch.model);
                    let (set_prompt, prompt) = cleared(&patch.system_prompt);
                    let params = patch
                        .params
                        .as_ref()
                        .map(|p| (!p.is_empty()).then(|| Json(p)));
                    let row = sqlx::query(
                        "UPDATE chats SET name = COALESCE($2, name), status = COALESCE($3, status), \
                         pinned = COALESCE($4, pinned), archived = COALESCE($5, archived), \
                         model = CASE WHEN $6 THEN $7 ELSE model END, \
                         system_prompt = CASE WHEN $8 THEN $9 ELSE system_prompt END, \
                         params = CASE WHEN $10 THEN $11 ELSE params END \
                         WHERE id = $1 RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(&patch.name)
                    .bind(patch.status.map(OpenStatus::as_str))
                    .bind(patch.pinned)
                    .bind(patch.archived)
                    .bind(set_model)
                    .bind(model)
                    .bind(set_prompt)
                    .bind(prompt)
                    .bind(params.is_some())
                    .bind(params.flatten())
                    .fetch_optional(self.writer())
                    .await?;
                    row.as_ref()
                        .map(chat_from)
                        .unwrap_or_else(|| Err(StoreError::not_found("chat", id)))
                }

                async fn delete_chat(&self, id: &ChatId) -> Result<()> {
                    let done = sqlx::query("DELETE FROM chats WHERE id = $1")
                        .bind(id.as_str())
                        .execute(self.writer())
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::not_found("chat", id));
                    }
                    Ok(())
                }

                async fn set_active_leaf(&self, id: &ChatId, leaf: &MessageId) -> Result<Chat> {
                    let row = sqlx::query(
                        "UPDATE chats SET active_leaf_id = $2 WHERE id = $1 \
                         AND EXISTS (SELECT 1 FROM messages m WHERE m.id = $2 AND m.chat_id = $1) \
                         RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(leaf.as_str())
                    .fetch_optional(self.writer())
                    .await?;
                    row.as_ref()
                        .map(chat_from)
                        .unwrap_or_else(|| Err(StoreError::not_found("message of this chat", leaf)))
                }

                async fn find_chats(&self, f: &ChatFilter) -> Result<Vec<ChatListItem>> {
                    let query = f.text.as_deref().map(str::trim).filter(|q| !q.is_empty());
                    let terms = query.map(crate::chats::search_terms).unwrap_or_default();
                    let (sql, matcher) = Self::chat_search(&terms);
                    // Built from constants only; the query's text travels as bound parameters.
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(matcher)
                        .bind(query.map(crate::chats::title_pattern))
                        .bind(f.session.as_ref().map(SessionId::as_str))
                        .bind(f.archived)
                        .bind(f.kind.map(ChatKind::as_str))
                        .bind(i64::from(f.limit.clamp(1, 500)))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter()
                        .map(|row| {
                            let snippet: Option<String> = row.try_get("snippet")?;
                            Ok(ChatListItem {
                                chat: chat_from(row)?,
                                session_name: row.try_get("session_name")?,
                                project_id: ProjectId(row.try_get("project_id")?),
                                project_name: row.try_get("project_name")?,
                                snippet: snippet.as_deref().map(snippet_parts).unwrap_or_default(),
                            })
                        })
                        .collect()
                }

                async fn insert_upload(&self, u: &Attachment) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO uploads (id, name, kind, mime, size, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(u.id.as_str())
                    .bind(&u.name)
                    .bind(u.kind.as_str())
                    .bind(&u.mime)
                    .bind(i64::try_from(u.size).unwrap_or(i64::MAX))
                    .bind(chrono::Utc::now())
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn get_uploads(&self, ids: &[UploadId]) -> Result<Vec<Attachment>> {
                    let mut found = Vec::with_capacity(ids.len());
                    for id in ids {
                        let row = sqlx::query("SELECT * FROM uploads WHERE id = $1")
                            .bind(id.as_str())
                            .fetch_optional(self.reader())
                            .await?;
                        if let Some(r) = row {
                            let kind: String = r.try_get("kind")?;
                            let size: i64 = r.try_get("size")?;
                            found.push(Attachment {
                                id: UploadId(r.try_get("id")?),
                                name: r.try_get("name")?,
                                kind: parsed(AttachmentKind::parse(&kind), "upload kind", &kind)?,
                                mime: r.try_get("mime")?,
                                size: u64::try_from(size).unwrap_or(0),
                            });
                        }
                    }
                    Ok(found)
                }

                async fn get_setting(&self, key: &str) -> Result<Option<String>> {
                    let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
                        .bind(key)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(match row {
                        Some(r) => Some(r.try_get("value")?),
                        None => None,
                    })
                }

                async fn set_setting(&self, key: &str, value: Option<&str>) -> Result<()> {
                    match value {
                        Some(v) => {
                            sqlx::query(
                                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            )
                            .bind(key)
                            .bind(v)
                            .execute(self.writer())
                            .await?;
                        }
                        None => {
                            sqlx::query("DELETE FROM settings WHERE key = $1")
                                .bind(key)
                                .execute(self.writer())
                                .await?;
                        }
                    }
                    Ok(())
                }

                async fn insert_preset(&self, p: &Preset) -> Result<()> {
                    let params = (!p.params.is_empty()).then(|| Json(&p.params));
                    sqlx::query(
                        "INSERT INTO presets (id, project_id, name, system_prompt, params, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&p.id)
                    .bind(p.project_id.as_ref().map(ProjectId::as_str))
                    .bind(&p.name)
                    .bind(&p.system_prompt)
                    .bind(params)
                    .bind(p.created_at)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn list_presets(&self, project: Option<&ProjectId>) -> Result<Vec<Preset>> {
                    let rows = sqlx::query(
                        "SELECT * FROM presets WHERE project_id IS NULL OR project_id = $1 \
                         ORDER BY name, id",
                    )
                    .bind(project.map(ProjectId::as_str))
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(preset_from).collect()
                }

                async fn delete_preset(&self, id: &str) -> Result<()> {
                    let done = sqlx::query("DELETE FROM presets WHERE id = $1")
                        .bind(id)
                        .execute(self.writer())
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::not_found("preset", id));
                    }
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use impl_chat_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_drop_search_syntax() {
        assert_eq!(
            search_terms(r#"  "foo* AND (bar):baz^ -x""#),
            ["foo", "and", "bar", "baz", "x"]
        );
        assert!(search_terms("\"*:()").is_empty());
        assert_eq!(title_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn snippets_split_on_markers() {
        let parts = snippet_parts("a \u{E000}b\u{E001} c");
        assert_eq!(parts.len(), 3);
        assert!(parts[1].hit && parts[1].text == "b");
        assert!(!parts[2].hit);
    }
}
