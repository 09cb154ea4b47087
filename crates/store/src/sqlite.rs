//! SQLite: the zero-setup default. WAL, a busy timeout and foreign keys on every connection; all writes go
//! through one connection and multi-statement writes use `BEGIN IMMEDIATE`, so a writer never meets
//! `SQLITE_BUSY` from a deferred read-then-write upgrade.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use crate::migrate::{Dialect, run_migrations};

/// The embedded store.
pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database file at `path`.
    pub async fn open(path: &Path) -> crate::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                crate::StoreError::Database(sqlx::Error::Configuration(
                    format!("cannot create {}: {e}", dir.display()).into(),
                ))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            // A connection still inside a transaction when it comes back (a COMMIT that failed, say on a
            // full disk) is closed rather than reused: the next write gets a fresh connection instead of
            // failing with "begin_with at non-zero transaction depth" until a restart.
            .after_release(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .connect_with(options.clone())
            .await?;
        run_migrations(&writer, Dialect::Sqlite).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(Self { reader, writer })
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_write(&self) -> crate::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl SqliteStore {
    /// One process owns an SQLite file: nobody else to tell.
    async fn announce_frames(
        &self,
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        _frames: &[crate::StoredFrame],
    ) -> crate::Result<()> {
        Ok(())
    }

    async fn listen_frames(
        &self,
    ) -> crate::Result<Option<tokio::sync::mpsc::UnboundedReceiver<crate::FrameNotice>>> {
        Ok(None)
    }
}

impl SqliteStore {
    /// The enqueuing process wakes its own dispatcher; nobody else shares the file.
    async fn announce_task(
        &self,
        _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    ) -> crate::Result<()> {
        Ok(())
    }

    async fn listen_tasks(
        &self,
    ) -> crate::Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>> {
        Ok(None)
    }
}

crate::queries::impl_store!(
    SqliteStore,
    SqliteRow,
    boocode_protocol::DatabaseEngine::Sqlite
);
crate::queries_tasks::impl_task_store!(SqliteStore, SqliteRow, "");
crate::arenas::impl_arena_store!(SqliteStore, SqliteRow);
crate::chats::impl_chat_store!(SqliteStore, SqliteRow);
crate::permissions::impl_permission_store!(SqliteStore, SqliteRow);
crate::comments::impl_comment_store!(SqliteStore, SqliteRow);

impl SqliteStore {
    /// FTS5: every word as a quoted prefix (`"word"*`), all required; the best message per chat
    /// (lowest bm25) gives the snippet.
    fn chat_search(terms: &[String]) -> (String, Option<String>) {
        if terms.is_empty() {
            return (crate::chats::list_sql(crate::chats::NO_HITS), None);
        }
        let matcher = terms
            .iter()
            .map(|t| format!("\"{t}\"*"))
            .collect::<Vec<_>>()
            .join(" ");
        let hits = format!(
            "WITH found AS MATERIALIZED (SELECT r.message_id AS message_id, \
             snippet(message_fts, 0, char({start}), char({end}), '…', 16) AS snippet, \
             bm25(message_fts) AS rank FROM message_fts \
             JOIN message_search_rows r ON r.id = message_fts.rowid WHERE message_fts MATCH $1) \
             SELECT m.chat_id AS chat_id, f.snippet AS snippet, MIN(f.rank) AS rank \
             FROM found f JOIN messages m ON m.id = f.message_id GROUP BY m.chat_id",
            start = u32::from(crate::chats::HIT_START),
            end = u32::from(crate::chats::HIT_END),
        );
        (crate::chats::list_sql(&hits), Some(matcher))
    }
}
