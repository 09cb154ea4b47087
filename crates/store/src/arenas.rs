//! Arena persistence: the arena and its contenders' lanes (which session and task each runs in, and its
//! check result). Task state, timing, usage and diffs are read from the tasks and changes of the lanes,
//! not copied here.

use async_trait::async_trait;
use boocode_protocol::{ArenaId, ArenaStatus, ChangeId, CheckResult, ProjectId, SessionId, TaskId};
use chrono::{DateTime, Utc};

use crate::Result;

/// An arena as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArenaRow {
    pub id: ArenaId,
    pub project_id: ProjectId,
    pub input: String,
    pub check_command: Option<String>,
    pub check_timeout_secs: u64,
    pub base_commit: String,
    pub status: ArenaStatus,
    pub picked: Option<u32>,
    pub picked_change: Option<ChangeId>,
    pub created_at: DateTime<Utc>,
}

/// One lane as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContenderRow {
    pub index: u32,
    pub agent: String,
    pub model: Option<String>,
    pub mode_id: Option<String>,
    pub session_id: SessionId,
    pub task_id: TaskId,
    pub check: Option<CheckResult>,
}

/// Arenas and their lanes.
#[async_trait]
pub trait ArenaStore: Send + Sync {
    async fn insert_arena(&self, arena: &ArenaRow, contenders: &[ContenderRow]) -> Result<()>;
    /// The arena and its lanes in order; `NotFound` for an unknown id.
    async fn get_arena(&self, id: &ArenaId) -> Result<(ArenaRow, Vec<ContenderRow>)>;
    /// Arenas still racing (resumed after a restart).
    async fn list_running_arenas(&self) -> Result<Vec<ArenaId>>;
    /// A project's arenas, newest first, at most `limit`.
    async fn list_project_arenas(&self, project: &ProjectId, limit: u32) -> Result<Vec<ArenaId>>;
    /// The arena a session races in, if any.
    async fn arena_of_session(&self, session: &SessionId) -> Result<Option<ArenaId>>;
    async fn set_contender_check(
        &self,
        id: &ArenaId,
        index: u32,
        check: &CheckResult,
    ) -> Result<()>;
    async fn set_arena_status(
        &self,
        id: &ArenaId,
        status: ArenaStatus,
        picked: Option<(u32, ChangeId)>,
    ) -> Result<()>;
    async fn delete_arena(&self, id: &ArenaId) -> Result<()>;
}

macro_rules! impl_arena_store {
    ($store:ty, $row:ty) => {
        mod arena_queries {
            use async_trait::async_trait;
            use boocode_protocol::{ArenaId, ArenaStatus, ChangeId, CheckResult, ProjectId, SessionId, TaskId};
            use sqlx::Row as _;
            use sqlx::types::Json;

            use super::*;
            use crate::arenas::{ArenaRow, ArenaStore, ContenderRow};
            use crate::{Result, StoreError};

            fn arena_from(r: &$row) -> Result<ArenaRow> {
                let status: String = r.try_get("status")?;
                let picked: Option<i64> = r.try_get("picked")?;
                let timeout: i64 = r.try_get("check_timeout_secs")?;
                Ok(ArenaRow {
                    id: ArenaId(r.try_get("id")?),
                    project_id: ProjectId(r.try_get("project_id")?),
                    input: r.try_get("input")?,
                    check_command: r.try_get("check_command")?,
                    check_timeout_secs: u64::try_from(timeout).unwrap_or(0),
                    base_commit: r.try_get("base_commit")?,
                    status: ArenaStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("arena status {status:?}")))?,
                    picked: picked.and_then(|p| u32::try_from(p).ok()),
                    picked_change: r.try_get::<Option<String>, _>("picked_change")?.map(ChangeId),
                    created_at: r.try_get("created_at")?,
                })
            }

            fn contender_from(r: &$row) -> Result<ContenderRow> {
                let idx: i64 = r.try_get("idx")?;
                let check: Option<Json<CheckResult>> = r.try_get("check_result")?;
                Ok(ContenderRow {
                    index: u32::try_from(idx).unwrap_or(0),
                    agent: r.try_get("agent")?,
                    model: r.try_get("model")?,
                    mode_id: r.try_get("mode_id")?,
                    session_id: SessionId(r.try_get("session_id")?),
                    task_id: TaskId(r.try_get("task_id")?),
                    check: check.map(|c| c.0),
                })
            }

            #[async_trait]
            impl ArenaStore for $store {
                async fn insert_arena(&self, a: &ArenaRow, contenders: &[ContenderRow]) -> Result<()> {
                    let mut tx = self.writer().begin().await?;
                    sqlx::query(
                        "INSERT INTO arenas (id, project_id, input, check_command, check_timeout_secs, \
                         base_commit, status, picked, picked_change, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8)",
                    )
                    .bind(a.id.as_str())
                    .bind(a.project_id.as_str())
                    .bind(&a.input)
                    .bind(&a.check_command)
                    .bind(i64::try_from(a.check_timeout_secs).unwrap_or(i64::MAX))
                    .bind(&a.base_commit)
                    .bind(a.status.as_str())
                    .bind(a.created_at)
                    .execute(&mut *tx)
                    .await?;
                    for c in contenders {
                        sqlx::query(
                            "INSERT INTO arena_contenders (arena_id, idx, agent, model, mode_id, session_id, \
                             task_id, check_result) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
                        )
                        .bind(a.id.as_str())
                        .bind(i64::from(c.index))
                        .bind(&c.agent)
                        .bind(&c.model)
                        .bind(&c.mode_id)
                        .bind(c.session_id.as_str())
                        .bind(c.task_id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn get_arena(&self, id: &ArenaId) -> Result<(ArenaRow, Vec<ContenderRow>)> {
                    let row = sqlx::query("SELECT * FROM arenas WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or_else(|| StoreError::not_found("arena", id))?;
                    let lanes = sqlx::query("SELECT * FROM arena_contenders WHERE arena_id = $1 ORDER BY idx")
                        .bind(id.as_str())
                        .fetch_all(self.reader())
                        .await?;
                    Ok((arena_from(&row)?, lanes.iter().map(contender_from).collect::<Result<_>>()?))
                }

                async fn list_running_arenas(&self) -> Result<Vec<ArenaId>> {
                    let rows = sqlx::query("SELECT id FROM arenas WHERE status = 'running' ORDER BY created_at")
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(|r| Ok(ArenaId(r.try_get("id")?))).collect()
                }

                async fn list_project_arenas(&self, project: &ProjectId, limit: u32) -> Result<Vec<ArenaId>> {
                    let rows = sqlx::query(
                        "SELECT id FROM arenas WHERE project_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                    )
                    .bind(project.as_str())
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(|r| Ok(ArenaId(r.try_get("id")?))).collect()
                }

                async fn arena_of_session(&self, session: &SessionId) -> Result<Option<ArenaId>> {
                    let row = sqlx::query("SELECT arena_id FROM arena_contenders WHERE session_id = $1")
                        .bind(session.as_str())
                        .fetch_optional(self.reader())
                        .await?;
                    row.map(|r| Ok(ArenaId(r.try_get("arena_id")?))).transpose()
                }

                async fn set_contender_check(&self, id: &ArenaId, index: u32, check: &CheckResult) -> Result<()> {
                    sqlx::query("UPDATE arena_contenders SET check_result = $3 WHERE arena_id = $1 AND idx = $2")
                        .bind(id.as_str())
                        .bind(i64::from(index))
                        .bind(Json(check))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn set_arena_status(
                    &self,
                    id: &ArenaId,
                    status: ArenaStatus,
                    picked: Option<(u32, ChangeId)>,
                ) -> Result<()> {
                    sqlx::query("UPDATE arenas SET status = $2, picked = $3, picked_change = $4 WHERE id = $1")
                        .bind(id.as_str())
                        .bind(status.as_str())
                        .bind(picked.as_ref().map(|(i, _)| i64::from(*i)))
                        .bind(picked.as_ref().map(|(_, c)| c.as_str().to_owned()))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn delete_arena(&self, id: &ArenaId) -> Result<()> {
                    let done = sqlx::query("DELETE FROM arenas WHERE id = $1")
                        .bind(id.as_str())
                        .execute(self.writer())
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::not_found("arena", id));
                    }
                    Ok(())
                }
            }
        }
    };
}
pub(crate) use impl_arena_store;
