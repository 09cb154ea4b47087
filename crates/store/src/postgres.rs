//! PostgreSQL: for several boocode workers sharing one queue and one frame journal.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use crate::migrate::{Dialect, run_migrations};

/// The shared store.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and migrates (serialised across processes by an advisory lock).
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            // A connection left inside a transaction by a failed COMMIT is closed, never reused.
            .after_release(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .connect(url)
            .await?;
        run_migrations(&pool, Dialect::Postgres).await?;
        Ok(Self { pool })
    }

    /// The pool, for LISTEN/NOTIFY users in the server.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> crate::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

impl PgStore {
    /// `NOTIFY frames` once per session in the batch, delivered when the transaction commits.
    async fn announce_frames(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        frames: &[crate::StoredFrame],
    ) -> crate::Result<()> {
        let mut newest: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
        for f in frames {
            let seq = newest.entry(f.session_id.as_str()).or_default();
            *seq = (*seq).max(f.seq);
        }
        for (session, seq) in newest {
            let notice = crate::FrameNotice {
                session_id: session.to_owned().into(),
                seq,
            };
            sqlx::query("SELECT pg_notify('frames', $1)")
                .bind(notice.to_payload())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// `LISTEN frames` on a dedicated connection; sqlx reconnects it after a drop (notices sent
    /// meanwhile are lost, and the next notice of a session catches it up from the journal).
    async fn listen_frames(
        &self,
    ) -> crate::Result<Option<tokio::sync::mpsc::UnboundedReceiver<crate::FrameNotice>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen("frames").await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if let Some(notice) = crate::FrameNotice::from_payload(n.payload())
                            && tx.send(notice).is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "frame listener failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(rx))
    }
}

impl PgStore {
    /// `NOTIFY tasks_new`, delivered to every worker when the enqueuing transaction commits.
    async fn announce_task(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    ) -> crate::Result<()> {
        sqlx::query("SELECT pg_notify('tasks_new', '')")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// `LISTEN tasks_new`; a lost notice is covered by the dispatcher's poll.
    async fn listen_tasks(
        &self,
    ) -> crate::Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen("tasks_new").await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(_) => {
                        if tx.send(()).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "task listener failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(Some(rx))
    }
}

crate::queries::impl_store!(PgStore, PgRow, boocode_protocol::DatabaseEngine::Postgres);
crate::queries_tasks::impl_task_store!(PgStore, PgRow, " FOR UPDATE SKIP LOCKED");
crate::arenas::impl_arena_store!(PgStore, PgRow);
crate::chats::impl_chat_store!(PgStore, PgRow);
crate::permissions::impl_permission_store!(PgStore, PgRow);
crate::comments::impl_comment_store!(PgStore, PgRow);

impl PgStore {
    /// `tsquery` of every word as a prefix (`'word':*`), all required, over the GIN-indexed
    /// `to_tsvector('simple', content)` of finished messages; the newest matching message per chat
    /// gives the headline.
    fn chat_search(terms: &[String]) -> (String, Option<String>) {
        if terms.is_empty() {
            return (crate::chats::list_sql(crate::chats::NO_HITS), None);
        }
        let matcher = terms
            .iter()
            .map(|t| format!("'{t}':*"))
            .collect::<Vec<_>>()
            .join(" & ");
        let hits = format!(
            "SELECT b.chat_id AS chat_id, ts_headline('simple', b.content, to_tsquery('simple', $1), \
             'StartSel=\"' || chr({start}) || '\", StopSel=\"' || chr({end}) || \
             '\", MaxWords=30, MinWords=10, MaxFragments=1, FragmentDelimiter=\" … \"') AS snippet \
             FROM (SELECT DISTINCT ON (m.chat_id) m.chat_id, m.content FROM messages m \
             WHERE m.status <> 'streaming' \
             AND to_tsvector('simple', m.content) @@ to_tsquery('simple', $1) \
             ORDER BY m.chat_id, m.id DESC) b",
            start = u32::from(crate::chats::HIT_START),
            end = u32::from(crate::chats::HIT_END),
        );
        (crate::chats::list_sql(&hits), Some(matcher))
    }
}
