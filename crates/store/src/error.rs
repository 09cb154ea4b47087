//! Store errors, with the distinctions the API needs (not found, conflict) kept apart from engine failures.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unsupported database url {0} (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl(String),
    #[error("migration {version} failed: {message}")]
    Migration { version: i64, message: String },
    #[error("stored row is corrupt: {0}")]
    Corrupt(String),
    /// The database refuses writes for now (disk full, read-only); nothing stored was lost.
    #[error("the database cannot store anything right now: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict(db.message().to_owned())
            }
            // SQLite's SQLITE_FULL (13) and SQLITE_READONLY (8), PostgreSQL's disk_full (53100).
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("13" | "8" | "53100"))
                    || db.message().contains("database or disk is full") =>
            {
                Self::Unavailable(db.message().to_owned())
            }
            _ => Self::Database(err),
        }
    }
}

impl StoreError {
    pub(crate) fn not_found(entity: &'static str, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }
}
