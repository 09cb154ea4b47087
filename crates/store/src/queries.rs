//! The SQL shared by both engines, written once. `$N` placeholders work in SQLite and PostgreSQL alike;
//! each engine module instantiates `impl_store!` with its row type and its reader/writer/transaction
//! helpers (SQLite funnels writes through one connection with `BEGIN IMMEDIATE`).

macro_rules! impl_store {
    ($store:ty, $row:ty, $backend:expr) => {
        use async_trait::async_trait;
        use boocode_protocol::{
            ChatId, Message, MessageId, MessageStatus, OpenStatus, Project, ProjectId,
            Role, Session, SessionId, ToolCall, UpdateProjectRequest,
            UpdateSessionRequest,
        };
        use chrono::{DateTime, Utc};
        use sqlx::Row as _;
        use sqlx::types::Json;

        use crate::{InterruptedMessage, MessageFinish, Result, Store, StoreError, StoredFrame};

        fn to_u64(v: Option<i64>) -> Option<u64> {
            v.map(|n| u64::try_from(n).unwrap_or(0))
        }

        fn to_i64(v: u64) -> i64 {
            i64::try_from(v).unwrap_or(i64::MAX)
        }

        /// The `id, session_id, chat_id` rows an interrupting UPDATE returned.
        fn interrupted_from(rows: &[$row]) -> Result<Vec<InterruptedMessage>> {
            rows.iter()
                .map(|r| {
                    Ok(InterruptedMessage {
                        id: MessageId(r.try_get("id")?),
                        session_id: SessionId(r.try_get("session_id")?),
                        chat_id: ChatId(r.try_get("chat_id")?),
                    })
                })
                .collect()
        }

        fn parsed<T>(value: Option<T>, what: &str, raw: &str) -> Result<T> {
            value.ok_or_else(|| StoreError::Corrupt(format!("{what} {raw:?}")))
        }

        fn project_from(row: &$row) -> Result<Project> {
            Ok(Project {
                id: ProjectId(row.try_get("id")?),
                name: row.try_get("name")?,
                path: row.try_get("path")?,
                default_model: row.try_get("default_model")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn session_from(row: &$row) -> Result<Session> {
            let status: String = row.try_get("status")?;
            Ok(Session {
                id: SessionId(row.try_get("id")?),
                project_id: ProjectId(row.try_get("project_id")?),
                name: row.try_get("name")?,
                model: row.try_get("model")?,
                status: parsed(OpenStatus::parse(&status), "session status", &status)?,
                created_at: row.try_get("created_at")?,
                last_seq: to_u64(row.try_get("last_seq")?).unwrap_or(0),
            })
        }

        fn message_from(row: &$row) -> Result<Message> {
            let role: String = row.try_get("role")?;
            let status: String = row.try_get("status")?;
            Ok(Message {
                id: MessageId(row.try_get("id")?),
                session_id: SessionId(row.try_get("session_id")?),
                chat_id: ChatId(row.try_get("chat_id")?),
                parent_id: row.try_get::<Option<String>, _>("parent_id")?.map(MessageId),
                role: parsed(Role::parse(&role), "message role", &role)?,
                content: row.try_get("content")?,
                reasoning: row.try_get("reasoning")?,
                status: parsed(MessageStatus::parse(&status), "message status", &status)?,
                error: row.try_get("error")?,
                model: row.try_get("model")?,
                agent: row.try_get("agent")?,
                tokens_prompt: to_u64(row.try_get("tokens_prompt")?),
                tokens_completion: to_u64(row.try_get("tokens_completion")?),
                ttft_ms: to_u64(row.try_get("ttft_ms")?),
                compared: row.try_get("compared")?,
                attachments: row
                    .try_get::<Option<Json<Vec<boocode_protocol::Attachment>>>, _>("attachments")?
                    .map(|a| a.0)
                    .unwrap_or_default(),
                duration_ms: to_u64(row.try_get("duration_ms")?),
                created_at: row.try_get("created_at")?,
                finished_at: row.try_get("finished_at")?,
                tool_calls: Vec::new(),
            })
        }

        fn tool_call_from(row: &$row) -> Result<(String, ToolCall)> {
            let raw_input: Option<Json<serde_json::Value>> = row.try_get("raw_input")?;
            let raw_output: Option<Json<serde_json::Value>> = row.try_get("raw_output")?;
            Ok((
                row.try_get("message_id")?,
                ToolCall {
                    call_id: row.try_get("call_id")?,
                    title: row.try_get("title")?,
                    kind: boocode_protocol::ToolKind::parse(&row.try_get::<String, _>("kind")?),
                    status: {
                        let status: String = row.try_get("status")?;
                        boocode_protocol::ToolStatus::parse(&status)
                            .ok_or_else(|| StoreError::Corrupt(format!("tool call status {status:?}")))?
                    },
                    raw_input: raw_input.map(|j| j.0),
                    raw_output: raw_output.map(|j| j.0),
                },
            ))
        }

        fn frame_from(row: &$row) -> Result<StoredFrame> {
            let body: String = row.try_get("body")?;
            Ok(StoredFrame {
                session_id: SessionId(row.try_get("session_id")?),
                seq: to_u64(Some(row.try_get("seq")?)).unwrap_or(0),
                body: body.into(),
                created_at: row.try_get("created_at")?,
            })
        }

        const SESSION_COLUMNS: &str = "s.id, s.project_id, s.name, s.model, s.status, s.created_at, \
             (SELECT MAX(f.seq) FROM frames f WHERE f.session_id = s.id) AS last_seq";

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> boocode_protocol::DatabaseEngine {
                $backend
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            async fn insert_project(&self, p: &Project) -> Result<()> {
                sqlx::query(
                    "INSERT INTO projects (id, name, path, default_model, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(p.id.as_str())
                .bind(&p.name)
                .bind(&p.path)
                .bind(&p.default_model)
                .bind(p.created_at)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn list_projects(&self) -> Result<Vec<Project>> {
                let rows = sqlx::query("SELECT * FROM projects ORDER BY created_at, id")
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(project_from).collect()
            }

            async fn get_project(&self, id: &ProjectId) -> Result<Project> {
                let row = sqlx::query("SELECT * FROM projects WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref()
                    .map(project_from)
                    .unwrap_or_else(|| Err(StoreError::not_found("project", id)))
            }

            async fn update_project(
                &self,
                id: &ProjectId,
                patch: &UpdateProjectRequest,
            ) -> Result<Project> {
                let row = sqlx::query(
                    "UPDATE projects SET name = COALESCE($2, name), \
                     default_model = COALESCE($3, default_model) WHERE id = $1 RETURNING *",
                )
                .bind(id.as_str())
                .bind(&patch.name)
                .bind(&patch.default_model)
                .fetch_optional(self.writer())
                .await?;
                row.as_ref()
                    .map(project_from)
                    .unwrap_or_else(|| Err(StoreError::not_found("project", id)))
            }

            async fn delete_project(&self, id: &ProjectId) -> Result<()> {
                let done = sqlx::query("DELETE FROM projects WHERE id = $1")
                    .bind(id.as_str())
                    .execute(self.writer())
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("project", id));
                }
                Ok(())
            }

            async fn insert_session(&self, s: &Session) -> Result<()> {
                sqlx::query(
                    "INSERT INTO sessions (id, project_id, name, model, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(s.id.as_str())
                .bind(s.project_id.as_str())
                .bind(&s.name)
                .bind(&s.model)
                .bind(s.status.as_str())
                .bind(s.created_at)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn list_sessions(&self, project: &ProjectId) -> Result<Vec<Session>> {
                let sql = format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.project_id = $1 \
                     ORDER BY s.created_at, s.id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(project.as_str())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(session_from).collect()
            }

            async fn get_session(&self, id: &SessionId) -> Result<Session> {
                let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref()
                    .map(session_from)
                    .unwrap_or_else(|| Err(StoreError::not_found("session", id)))
            }

            async fn update_session(
                &self,
                id: &SessionId,
                patch: &UpdateSessionRequest,
            ) -> Result<Session> {
                let done = sqlx::query(
                    "UPDATE sessions SET name = COALESCE($2, name), model = COALESCE($3, model), \
                     status = COALESCE($4, status) WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(&patch.name)
                .bind(&patch.model)
                .bind(patch.status.map(OpenStatus::as_str))
                .execute(self.writer())
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("session", id));
                }
                self.get_session(id).await
            }

            async fn delete_session(&self, id: &SessionId) -> Result<()> {
                let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
                    .bind(id.as_str())
                    .execute(self.writer())
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("session", id));
                }
                Ok(())
            }

            async fn insert_messages(&self, messages: &[&Message]) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for m in messages {
                    sqlx::query(
                        "INSERT INTO messages (id, session_id, chat_id, role, content, reasoning, \
                         status, error, model, agent, created_at, finished_at, parent_id, \
                         tokens_prompt, tokens_completion, ttft_ms, duration_ms, compared, \
                         attachments) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                         $16, $17, $18, $19)",
                    )
                    .bind(m.id.as_str())
                    .bind(m.session_id.as_str())
                    .bind(m.chat_id.as_str())
                    .bind(m.role.as_str())
                    .bind(&m.content)
                    .bind(&m.reasoning)
                    .bind(m.status.as_str())
                    .bind(&m.error)
                    .bind(&m.model)
                    .bind(&m.agent)
                    .bind(m.created_at)
                    .bind(m.finished_at)
                    .bind(m.parent_id.as_ref().map(MessageId::as_str))
                    .bind(m.tokens_prompt.map(to_i64))
                    .bind(m.tokens_completion.map(to_i64))
                    .bind(m.ttft_ms.map(to_i64))
                    .bind(m.duration_ms.map(to_i64))
                    .bind(m.compared)
                    .bind((!m.attachments.is_empty()).then(|| Json(&m.attachments)))
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(last) = messages.last() {
                    sqlx::query("UPDATE chats SET active_leaf_id = $2, updated_at = $3 WHERE id = $1")
                        .bind(last.chat_id.as_str())
                        .bind(last.id.as_str())
                        .bind(last.created_at)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn list_messages(&self, chat: &ChatId) -> Result<Vec<Message>> {
                let rows = sqlx::query("SELECT * FROM messages WHERE chat_id = $1 ORDER BY id")
                    .bind(chat.as_str())
                    .fetch_all(self.reader())
                    .await?;
                let mut messages = rows.iter().map(message_from).collect::<Result<Vec<_>>>()?;
                let calls = sqlx::query(
                    "SELECT t.* FROM tool_calls t JOIN messages m ON m.id = t.message_id \
                     WHERE m.chat_id = $1 ORDER BY t.id",
                )
                .bind(chat.as_str())
                .fetch_all(self.reader())
                .await?;
                let mut by_message: std::collections::HashMap<String, Vec<ToolCall>> =
                    std::collections::HashMap::new();
                for row in &calls {
                    let (message_id, call) = tool_call_from(row)?;
                    by_message.entry(message_id).or_default().push(call);
                }
                for m in &mut messages {
                    m.tool_calls = by_message.remove(m.id.as_str()).unwrap_or_default();
                }
                Ok(messages)
            }

            async fn get_message(&self, id: &MessageId) -> Result<Message> {
                let row = sqlx::query("SELECT * FROM messages WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(self.reader())
                    .await?;
                let mut message = row
                    .as_ref()
                    .map(message_from)
                    .unwrap_or_else(|| Err(StoreError::not_found("message", id)))?;
                let calls =
                    sqlx::query("SELECT * FROM tool_calls WHERE message_id = $1 ORDER BY id")
                        .bind(id.as_str())
                        .fetch_all(self.reader())
                        .await?;
                for row in &calls {
                    message.tool_calls.push(tool_call_from(row)?.1);
                }
                Ok(message)
            }

            async fn save_message_progress(
                &self,
                id: &MessageId,
                content: &str,
                reasoning: &str,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE messages SET content = $2, reasoning = $3 \
                     WHERE id = $1 AND status = 'streaming'",
                )
                .bind(id.as_str())
                .bind(content)
                .bind(reasoning)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn finish_message(&self, id: &MessageId, f: &MessageFinish) -> Result<()> {
                let done = sqlx::query(
                    "UPDATE messages SET status = $2, content = $3, reasoning = $4, error = $5, \
                     tokens_prompt = $6, tokens_completion = $7, finished_at = $8, ttft_ms = $9, \
                     duration_ms = $10 WHERE id = $1",
                )
                .bind(id.as_str())
                .bind(f.status.as_str())
                .bind(&f.content)
                .bind(&f.reasoning)
                .bind(&f.error)
                .bind(f.usage.map(|u| to_i64(u.prompt_tokens)))
                .bind(f.usage.map(|u| to_i64(u.completion_tokens)))
                .bind(f.finished_at)
                .bind(f.ttft_ms.map(to_i64))
                .bind(f.duration_ms.map(to_i64))
                .execute(self.writer())
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::not_found("message", id));
                }
                Ok(())
            }

            async fn upsert_tool_call(&self, message: &MessageId, call: &ToolCall) -> Result<()> {
                sqlx::query(
                    "INSERT INTO tool_calls (id, message_id, call_id, title, kind, status, \
                     raw_input, raw_output, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (message_id, call_id) DO UPDATE SET title = excluded.title, \
                     kind = excluded.kind, status = excluded.status, \
                     raw_input = excluded.raw_input, raw_output = excluded.raw_output, \
                     updated_at = excluded.updated_at",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(message.as_str())
                .bind(&call.call_id)
                .bind(&call.title)
                .bind(call.kind.as_str())
                .bind(call.status.as_str())
                .bind(call.raw_input.as_ref().map(Json))
                .bind(call.raw_output.as_ref().map(Json))
                .bind(Utc::now())
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn interrupt_streaming_messages(&self, reason: &str) -> Result<Vec<InterruptedMessage>> {
                let rows = sqlx::query(
                    "UPDATE messages SET status = 'error', error = $1, finished_at = $2 \
                     WHERE status = 'streaming' RETURNING id, session_id, chat_id",
                )
                .bind(reason)
                .bind(Utc::now())
                .fetch_all(self.writer())
                .await?;
                interrupted_from(&rows)
            }

            async fn heartbeat(&self, worker: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO workers (id, last_seen) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
                )
                .bind(worker)
                .bind(Utc::now())
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn set_message_worker(&self, message: &MessageId, worker: &str) -> Result<()> {
                sqlx::query("UPDATE messages SET worker_id = $2 WHERE id = $1")
                    .bind(message.as_str())
                    .bind(worker)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn interrupt_orphaned_messages(
                &self,
                stale_before: DateTime<Utc>,
                reason: &str,
            ) -> Result<Vec<InterruptedMessage>> {
                let rows = sqlx::query(
                    "UPDATE messages SET status = 'error', error = $2, finished_at = $3 \
                     WHERE status = 'streaming' AND worker_id IS NOT NULL AND NOT EXISTS \
                     (SELECT 1 FROM workers w WHERE w.id = messages.worker_id AND w.last_seen >= $1) \
                     RETURNING id, session_id, chat_id",
                )
                .bind(stale_before)
                .bind(reason)
                .bind(Utc::now())
                .fetch_all(self.writer())
                .await?;
                interrupted_from(&rows)
            }

            async fn append_frames(&self, frames: &[StoredFrame]) -> Result<()> {
                if frames.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for f in frames {
                    sqlx::query(
                        "INSERT INTO frames (session_id, seq, body, created_at) \
                         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $1) \
                         ON CONFLICT (session_id, seq) DO NOTHING",
                    )
                    .bind(f.session_id.as_str())
                    .bind(to_i64(f.seq))
                    .bind(&*f.body)
                    .bind(f.created_at)
                    .execute(&mut *tx)
                    .await?;
                }
                self.announce_frames(&mut tx, frames).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn frames_after(
                &self,
                session: &SessionId,
                after: u64,
                limit: u64,
            ) -> Result<Vec<StoredFrame>> {
                let rows = sqlx::query(
                    "SELECT * FROM frames WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(session.as_str())
                .bind(to_i64(after))
                .bind(to_i64(limit))
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(frame_from).collect()
            }

            async fn last_seq(&self, session: &SessionId) -> Result<u64> {
                let row = sqlx::query("SELECT MAX(seq) AS seq FROM frames WHERE session_id = $1")
                    .bind(session.as_str())
                    .fetch_one(self.reader())
                    .await?;
                Ok(to_u64(row.try_get("seq")?).unwrap_or(0))
            }

            async fn check_write(&self) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO store_health (id, checked_at) VALUES (1, $1) \
                     ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                )
                .bind(Utc::now().to_rfc3339())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn reserve_frame_seqs(&self, session: &SessionId, upto: u64) -> Result<u64> {
                let row = sqlx::query(
                    "INSERT INTO frame_seq_reservations (session_id, reserved_upto) \
                     SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $1) \
                     ON CONFLICT (session_id) DO UPDATE SET reserved_upto = CASE \
                     WHEN frame_seq_reservations.reserved_upto > excluded.reserved_upto \
                     THEN frame_seq_reservations.reserved_upto ELSE excluded.reserved_upto END \
                     RETURNING reserved_upto",
                )
                .bind(session.as_str())
                .bind(to_i64(upto))
                .fetch_optional(self.writer())
                .await?;
                match row {
                    Some(r) => Ok(to_u64(r.try_get("reserved_upto")?).unwrap_or(upto)),
                    None => Ok(upto),
                }
            }

            async fn reserved_frame_seq(&self, session: &SessionId) -> Result<u64> {
                let row = sqlx::query(
                    "SELECT reserved_upto FROM frame_seq_reservations WHERE session_id = $1",
                )
                .bind(session.as_str())
                .fetch_optional(self.reader())
                .await?;
                match row {
                    Some(r) => Ok(to_u64(r.try_get("reserved_upto")?).unwrap_or(0)),
                    None => Ok(0),
                }
            }

            async fn release_frame_seqs(&self, session: &SessionId, reserved: u64, last: u64) -> Result<()> {
                sqlx::query(
                    "UPDATE frame_seq_reservations SET reserved_upto = $3 \
                     WHERE session_id = $1 AND reserved_upto = $2",
                )
                .bind(session.as_str())
                .bind(to_i64(reserved))
                .bind(to_i64(last))
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn first_seq(&self, session: &SessionId) -> Result<Option<u64>> {
                let row = sqlx::query("SELECT MIN(seq) AS seq FROM frames WHERE session_id = $1")
                    .bind(session.as_str())
                    .fetch_one(self.reader())
                    .await?;
                Ok(to_u64(row.try_get("seq")?))
            }

            async fn frame_notices(
                &self,
            ) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<crate::FrameNotice>>> {
                self.listen_frames().await
            }

            async fn prune_frames(&self, keep: u64, older_than: DateTime<Utc>) -> Result<u64> {
                let done = sqlx::query(
                    "DELETE FROM frames WHERE created_at < $1 AND seq <= \
                     (SELECT MAX(f.seq) FROM frames f WHERE f.session_id = frames.session_id) - $2",
                )
                .bind(older_than)
                .bind(to_i64(keep))
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_store;
