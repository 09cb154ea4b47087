//! Forward-only migrations per engine, applied in order inside transactions and recorded in
//! `boocode_migrations`. PostgreSQL takes an advisory lock so concurrent workers migrate once.

use sqlx::{Pool, Row as _};

use crate::{Result, StoreError};

/// Which SQL dialect a migration set is written in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "task_queue",
        include_str!("../migrations/sqlite/0002_task_queue.sql"),
    ),
    (
        3,
        "arenas",
        include_str!("../migrations/sqlite/0003_arenas.sql"),
    ),
    (
        4,
        "frame_seq_reservations",
        include_str!("../migrations/sqlite/0004_frame_seq_reservations.sql"),
    ),
    (
        5,
        "task_attempts",
        include_str!("../migrations/sqlite/0005_task_attempts.sql"),
    ),
    (
        6,
        "worker_heartbeats",
        include_str!("../migrations/sqlite/0006_worker_heartbeats.sql"),
    ),
    (
        7,
        "chat_tree",
        include_str!("../migrations/sqlite/0007_chat_tree.sql"),
    ),
    (
        8,
        "compare",
        include_str!("../migrations/sqlite/0008_compare.sql"),
    ),
    (
        9,
        "attachments",
        include_str!("../migrations/sqlite/0009_attachments.sql"),
    ),
    (
        10,
        "settings",
        include_str!("../migrations/sqlite/0010_settings.sql"),
    ),
    (
        11,
        "permission_rules",
        include_str!("../migrations/sqlite/0011_permission_rules.sql"),
    ),
    (
        12,
        "review_comments",
        include_str!("../migrations/sqlite/0012_review_comments.sql"),
    ),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "task_queue",
        include_str!("../migrations/postgres/0002_task_queue.sql"),
    ),
    (
        3,
        "arenas",
        include_str!("../migrations/postgres/0003_arenas.sql"),
    ),
    (
        4,
        "frame_seq_reservations",
        include_str!("../migrations/postgres/0004_frame_seq_reservations.sql"),
    ),
    (
        5,
        "task_attempts",
        include_str!("../migrations/postgres/0005_task_attempts.sql"),
    ),
    (
        6,
        "worker_heartbeats",
        include_str!("../migrations/postgres/0006_worker_heartbeats.sql"),
    ),
    (
        7,
        "chat_tree",
        include_str!("../migrations/postgres/0007_chat_tree.sql"),
    ),
    (
        8,
        "compare",
        include_str!("../migrations/postgres/0008_compare.sql"),
    ),
    (
        9,
        "attachments",
        include_str!("../migrations/postgres/0009_attachments.sql"),
    ),
    (
        10,
        "settings",
        include_str!("../migrations/postgres/0010_settings.sql"),
    ),
    (
        11,
        "permission_rules",
        include_str!("../migrations/postgres/0011_permission_rules.sql"),
    ),
    (
        12,
        "review_comments",
        include_str!("../migrations/postgres/0012_review_comments.sql"),
    ),
];

/// Applies every migration not yet recorded.
pub(crate) async fn run_migrations<DB>(pool: &Pool<DB>, dialect: Dialect) -> Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    i64: sqlx::Type<DB> + for<'r> sqlx::Decode<'r, DB> + for<'q> sqlx::Encode<'q, DB>,
    String: sqlx::Type<DB> + for<'q> sqlx::Encode<'q, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let set = match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    };
    let mut conn = pool.acquire().await?;
    if let Dialect::Postgres = dialect {
        // Session lock: two workers starting at once must not race on CREATE TABLE below.
        sqlx::raw_sql("SELECT pg_advisory_lock(7450003)")
            .execute(&mut *conn)
            .await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS boocode_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    for &(version, name, sql) in set {
        let begin = match dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        sqlx::raw_sql(begin).execute(&mut *conn).await?;
        let outcome: Result<(), sqlx::Error> = async {
            let applied = sqlx::query("SELECT COUNT(*) FROM boocode_migrations WHERE version = $1")
                .bind(version)
                .fetch_one(&mut *conn)
                .await?;
            if applied.try_get::<i64, _>(0usize)? > 0 {
                return Ok(());
            }
            sqlx::raw_sql(sql).execute(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO boocode_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(name.to_owned())
            .bind(chrono::Utc::now().to_rfc3339())
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
        .await;
        let end = if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        sqlx::raw_sql(end).execute(&mut *conn).await?;
        outcome.map_err(|e| StoreError::Migration {
            version,
            message: e.to_string(),
        })?;
    }
    if let Dialect::Postgres = dialect {
        sqlx::raw_sql("SELECT pg_advisory_unlock(7450003)")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
