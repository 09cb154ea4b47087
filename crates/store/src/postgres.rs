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

crate::queries::impl_store!(PgStore, PgRow, "postgres");
