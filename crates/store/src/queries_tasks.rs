//! SQL of the `TaskStore`, shared by both engines like `queries.rs`. The engine supplies the claim lock
//! clause (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and `announce_task` (NOTIFY, or nothing).

macro_rules! impl_task_store {
    ($store:ty, $row:ty, $claim_lock:literal) => {
        mod task_queries {
            use async_trait::async_trait;
            use boocode_protocol::{
                ChangeId, ChangeStatus, ChatId, ExecutionPath, MessageId, PendingChange,
                ProjectId, SessionId, Task, TaskId, TaskState,
            };
            use chrono::{DateTime, Utc};
            use sqlx::Row as _;
            use sqlx::types::Json;

            use super::*;
            use crate::tasks::{
                AgentSessionRow, ClaimCandidate, ClaimedTask, LeaseState, ChangePart, NewChange, SessionWorktree, TaskFilter, TaskOutcome, TaskStore,
            };
            use crate::{Result, StoreError};

            fn to_u64(v: Option<i64>) -> Option<u64> {
                v.map(|n| u64::try_from(n).unwrap_or(0))
            }

            fn to_i64(v: u64) -> i64 {
                i64::try_from(v).unwrap_or(i64::MAX)
            }

            /// Stores `c` as a pending change (inside the caller's transaction).
            async fn insert_pending<'c, E>(exec: E, c: &NewChange) -> Result<PendingChange>
            where
                E: sqlx::Executor<'c, Database = <$row as sqlx::Row>::Database>,
            {
                let row = sqlx::query(
                    "INSERT INTO pending_changes (id, session_id, task_id, agent, diff, files_changed, \
                     insertions, deletions, status, created_at, head_commit) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10) RETURNING *",
                )
                .bind(c.id.as_str())
                .bind(c.session_id.as_str())
                .bind(c.task_id.as_ref().map(|t| t.as_str().to_owned()))
                .bind(&c.agent)
                .bind(&c.diff)
                .bind(to_i64(c.files_changed))
                .bind(to_i64(c.insertions))
                .bind(to_i64(c.deletions))
                .bind(c.created_at)
                .bind(&c.head_commit)
                .fetch_one(exec)
                .await?;
                change_from(&row)
            }

            fn task_from(row: &$row) -> Result<Task> {
                let state: String = row.try_get("state")?;
                let path: Option<String> = row.try_get("execution_path")?;
                let chat: Option<String> = row.try_get("chat_id")?;
                let session: Option<String> = row.try_get("session_id")?;
                let features: Option<Json<serde_json::Value>> = row.try_get("feature_values")?;
                Ok(Task {
                    id: TaskId(row.try_get("id")?),
                    project_id: ProjectId(row.try_get("project_id")?),
                    session_id: SessionId(session.ok_or_else(|| StoreError::Corrupt("task without session".into()))?),
                    chat_id: ChatId(chat.ok_or_else(|| StoreError::Corrupt("task without chat".into()))?),
                    message_id: row.try_get::<Option<String>, _>("message_id")?.map(MessageId),
                    input: row.try_get("input")?,
                    agent: row.try_get("agent")?,
                    model: row.try_get("model")?,
                    mode_id: row.try_get("mode_id")?,
                    thinking_option_id: row.try_get("thinking_option_id")?,
                    feature_values: features.map(|j| j.0),
                    state: TaskState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("task state {state:?}")))?,
                    execution_path: path.as_deref().and_then(ExecutionPath::parse),
                    output_summary: row.try_get("output_summary")?,
                    error: row.try_get("error")?,
                    cost_tokens: to_u64(row.try_get("cost_tokens")?),
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    worker_id: row.try_get("worker_id")?,
                    created_at: row.try_get("created_at")?,
                    started_at: row.try_get("started_at")?,
                    ended_at: row.try_get("ended_at")?,
                })
            }

            fn change_from(row: &$row) -> Result<PendingChange> {
                let status: String = row.try_get("status")?;
                Ok(PendingChange {
                    id: ChangeId(row.try_get("id")?),
                    session_id: SessionId(row.try_get("session_id")?),
                    task_id: row.try_get::<Option<String>, _>("task_id")?.map(TaskId),
                    agent: row.try_get("agent")?,
                    diff: Some(row.try_get("diff")?),
                    files_changed: to_u64(Some(row.try_get("files_changed")?)).unwrap_or(0),
                    insertions: to_u64(Some(row.try_get("insertions")?)).unwrap_or(0),
                    deletions: to_u64(Some(row.try_get("deletions")?)).unwrap_or(0),
                    status: ChangeStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("change status {status:?}")))?,
                    created_at: row.try_get("created_at")?,
                    resolved_at: row.try_get("resolved_at")?,
                })
            }

            fn agent_session_from(r: &$row) -> Result<AgentSessionRow> {
                Ok(AgentSessionRow {
                    session_id: SessionId(r.try_get("session_id")?),
                    agent: r.try_get("agent")?,
                    backend: r.try_get("backend")?,
                    agent_session_id: r.try_get("agent_session_id")?,
                    status: r.try_get("status")?,
                    config_hash: r.try_get("config_hash")?,
                })
            }

            fn worktree_from(row: &$row) -> Result<SessionWorktree> {
                Ok(SessionWorktree {
                    session_id: SessionId(row.try_get("session_id")?),
                    worktree_path: row.try_get("worktree_path")?,
                    branch: row.try_get("branch")?,
                    base_commit: row.try_get("base_commit")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            #[async_trait]
            impl TaskStore for $store {
                async fn insert_task(&self, t: &Task) -> Result<()> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "INSERT INTO tasks (id, project_id, session_id, chat_id, input, agent, model, \
                         mode_id, thinking_option_id, feature_values, state, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(t.id.as_str())
                    .bind(t.project_id.as_str())
                    .bind(t.session_id.as_str())
                    .bind(t.chat_id.as_str())
                    .bind(&t.input)
                    .bind(&t.agent)
                    .bind(&t.model)
                    .bind(&t.mode_id)
                    .bind(&t.thinking_option_id)
                    .bind(t.feature_values.as_ref().map(Json))
                    .bind(t.state.as_str())
                    .bind(t.created_at)
                    .execute(&mut *tx)
                    .await?;
                    self.announce_task(&mut tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn get_task(&self, id: &TaskId) -> Result<Task> {
                    let row = sqlx::query("SELECT * FROM tasks WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(task_from).unwrap_or_else(|| Err(StoreError::not_found("task", id)))
                }

                async fn list_tasks(&self, f: &TaskFilter) -> Result<Vec<Task>> {
                    let rows = sqlx::query(
                        "SELECT * FROM tasks WHERE ($1 IS NULL OR session_id = $1) \
                         AND ($2 IS NULL OR state = $2) AND ($4 IS NULL OR project_id = $4) \
                         ORDER BY created_at DESC, id DESC LIMIT $3",
                    )
                    .bind(f.session_id.as_ref().map(|s| s.as_str().to_owned()))
                    .bind(f.state.map(|s| s.as_str().to_owned()))
                    .bind(to_i64(f.limit.unwrap_or(500)))
                    .bind(f.project_id.as_ref().map(|p| p.as_str().to_owned()))
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(task_from).collect()
                }

                async fn claim_task(&self, worker: &str, lease_until: DateTime<Utc>) -> Result<Option<ClaimedTask>> {
                    // A concurrent claim of another task of the same session loses on the unique index;
                    // try the next candidate a few times before reporting an empty queue.
                    for _ in 0..4 {
                        let candidate = sqlx::query(
                            "SELECT id FROM tasks t WHERE state IN ('pending', 'waiting_for_model') \
                             AND session_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tasks r \
                             WHERE r.session_id = t.session_id AND r.state = 'running') \
                             ORDER BY created_at, id LIMIT 1",
                        )
                        .fetch_optional(self.reader())
                        .await?;
                        let Some(candidate) = candidate else { return Ok(None) };
                        let id = TaskId(candidate.try_get("id")?);
                        if let Some(claimed) = self.claim_task_id(&id, worker, lease_until).await? {
                            return Ok(Some(claimed));
                        }
                    }
                    Ok(None)
                }

                async fn claim_task_id(&self, id: &TaskId, worker: &str, lease_until: DateTime<Utc>) -> Result<Option<ClaimedTask>> {
                    let mut tx = self.begin_write().await?;
                    let locked = sqlx::query(concat!(
                        "SELECT id FROM tasks t WHERE id = $1 AND state IN ('pending', 'waiting_for_model') \
                         AND NOT EXISTS (SELECT 1 FROM tasks r WHERE r.session_id = t.session_id \
                         AND r.state = 'running')",
                        $claim_lock
                    ))
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if locked.is_none() {
                        return Ok(None);
                    }
                    let claimed = sqlx::query(
                        "UPDATE tasks SET state = 'running', worker_id = $2, lease_until = $3, \
                         lease_generation = lease_generation + 1, started_at = $4, \
                         cancel_requested = FALSE, attempts = attempts + 1 WHERE id = $1 \
                         AND state IN ('pending', 'waiting_for_model') RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(worker)
                    .bind(lease_until)
                    .bind(Utc::now())
                    .fetch_optional(&mut *tx)
                    .await;
                    match claimed {
                        Ok(Some(row)) => {
                            let generation = to_u64(Some(row.try_get("lease_generation")?)).unwrap_or(0);
                            let task = task_from(&row)?;
                            tx.commit().await?;
                            Ok(Some(ClaimedTask { task, generation }))
                        }
                        Ok(None) => Ok(None),
                        Err(e) => match StoreError::from(e) {
                            StoreError::Conflict(_) => Ok(None),
                            other => Err(other),
                        },
                    }
                }

                async fn claim_candidates(&self, limit: u32) -> Result<Vec<ClaimCandidate>> {
                    let rows = sqlx::query(
                        "SELECT t.id, t.state, t.created_at, t.error, p.path AS project_path, \
                         COALESCE(t.model, s.model, p.default_model) AS eff_model \
                         FROM tasks t JOIN sessions s ON s.id = t.session_id JOIN projects p ON p.id = t.project_id \
                         WHERE t.state IN ('pending', 'waiting_for_model') AND NOT EXISTS (SELECT 1 FROM tasks r \
                         WHERE r.session_id = t.session_id AND r.state = 'running') \
                         ORDER BY t.created_at, t.id LIMIT $1",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter()
                        .map(|r| {
                            let state: String = r.try_get("state")?;
                            Ok(ClaimCandidate {
                                id: TaskId(r.try_get("id")?),
                                model: r.try_get("eff_model")?,
                                created_at: r.try_get("created_at")?,
                                waiting: state == "waiting_for_model",
                                project_path: r.try_get("project_path")?,
                                note: r.try_get("error")?,
                            })
                        })
                        .collect()
                }

                async fn set_task_note(&self, id: &TaskId, note: &str) -> Result<Option<Task>> {
                    let row = sqlx::query(
                        "UPDATE tasks SET error = $2 WHERE id = $1 \
                         AND state IN ('pending', 'waiting_for_model') RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(note)
                    .fetch_optional(self.writer())
                    .await?;
                    row.as_ref().map(task_from).transpose()
                }

                async fn set_task_waiting(&self, id: &TaskId, waiting: bool) -> Result<Option<Task>> {
                    let (from, to) = if waiting {
                        ("pending", "waiting_for_model")
                    } else {
                        ("waiting_for_model", "pending")
                    };
                    let row = sqlx::query("UPDATE tasks SET state = $3 WHERE id = $1 AND state = $2 RETURNING *")
                        .bind(id.as_str())
                        .bind(from)
                        .bind(to)
                        .fetch_optional(self.writer())
                        .await?;
                    row.as_ref().map(task_from).transpose()
                }

                async fn renew_lease(&self, id: &TaskId, generation: u64, lease_until: DateTime<Utc>) -> Result<LeaseState> {
                    let row = sqlx::query(
                        "UPDATE tasks SET lease_until = $3 WHERE id = $1 AND lease_generation = $2 \
                         AND state = 'running' RETURNING cancel_requested",
                    )
                    .bind(id.as_str())
                    .bind(to_i64(generation))
                    .bind(lease_until)
                    .fetch_optional(self.writer())
                    .await?;
                    match row {
                        Some(r) => Ok(LeaseState::Held { cancel_requested: r.try_get("cancel_requested")? }),
                        None => Ok(LeaseState::Lost),
                    }
                }

                async fn set_task_message(&self, id: &TaskId, generation: u64, message: &MessageId, path: ExecutionPath) -> Result<bool> {
                    let done = sqlx::query(
                        "UPDATE tasks SET message_id = $3, execution_path = $4 WHERE id = $1 \
                         AND lease_generation = $2 AND state = 'running'",
                    )
                    .bind(id.as_str())
                    .bind(to_i64(generation))
                    .bind(message.as_str())
                    .bind(path.as_str())
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn finish_task(&self, id: &TaskId, generation: u64, o: &TaskOutcome) -> Result<Option<Task>> {
                    let row = sqlx::query(
                        "UPDATE tasks SET state = $3, output_summary = $4, error = $5, cost_tokens = $6, \
                         ended_at = $7, lease_until = NULL WHERE id = $1 AND lease_generation = $2 \
                         AND state = 'running' RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(to_i64(generation))
                    .bind(o.state.as_str())
                    .bind(&o.output_summary)
                    .bind(&o.error)
                    .bind(o.cost_tokens.map(to_i64))
                    .bind(Utc::now())
                    .fetch_optional(self.writer())
                    .await?;
                    row.as_ref().map(task_from).transpose()
                }

                async fn lease_held(&self, id: &TaskId, generation: u64) -> Result<bool> {
                    let row = sqlx::query(
                        "SELECT 1 AS held FROM tasks WHERE id = $1 AND lease_generation = $2 AND state = 'running'",
                    )
                    .bind(id.as_str())
                    .bind(to_i64(generation))
                    .fetch_optional(self.reader())
                    .await?;
                    Ok(row.is_some())
                }

                async fn requeue_task(&self, id: &TaskId, generation: u64, note: &str) -> Result<Option<Task>> {
                    let row = sqlx::query(
                        "UPDATE tasks SET state = 'pending', worker_id = NULL, lease_until = NULL, \
                         message_id = NULL, error = $3, ended_at = NULL, cancel_requested = FALSE \
                         WHERE id = $1 AND lease_generation = $2 AND state = 'running' RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(to_i64(generation))
                    .bind(note)
                    .fetch_optional(self.writer())
                    .await?;
                    row.as_ref().map(task_from).transpose()
                }

                async fn request_cancel(&self, id: &TaskId) -> Result<Task> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "UPDATE tasks SET state = 'cancelled', ended_at = $2, error = 'cancelled before it started' \
                         WHERE id = $1 AND state IN ('pending', 'waiting_for_model')",
                    )
                    .bind(id.as_str())
                    .bind(Utc::now())
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE tasks SET cancel_requested = TRUE WHERE id = $1 AND state = 'running'")
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    let row = sqlx::query("SELECT * FROM tasks WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    row.as_ref().map(task_from).unwrap_or_else(|| Err(StoreError::not_found("task", id)))
                }

                async fn recover_expired_tasks(&self, horizon: DateTime<Utc>) -> Result<Vec<Task>> {
                    let rows = sqlx::query(
                        "UPDATE tasks SET state = 'failed', error = 'interrupted by restart', ended_at = $2, \
                         lease_until = NULL WHERE state = 'running' AND (lease_until IS NULL OR lease_until < $1) \
                         RETURNING *",
                    )
                    .bind(horizon)
                    .bind(Utc::now())
                    .fetch_all(self.writer())
                    .await?;
                    rows.iter().map(task_from).collect()
                }

                async fn task_notices(&self) -> Result<Option<tokio::sync::mpsc::UnboundedReceiver<()>>> {
                    self.listen_tasks().await
                }

                async fn get_worktree(&self, session: &SessionId) -> Result<Option<SessionWorktree>> {
                    let row = sqlx::query("SELECT * FROM session_worktrees WHERE session_id = $1")
                        .bind(session.as_str())
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(worktree_from).transpose()
                }

                async fn insert_worktree(&self, w: &SessionWorktree) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO session_worktrees (session_id, worktree_path, branch, base_commit, created_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(w.session_id.as_str())
                    .bind(&w.worktree_path)
                    .bind(&w.branch)
                    .bind(&w.base_commit)
                    .bind(w.created_at)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn set_worktree_base(&self, session: &SessionId, commit: &str) -> Result<()> {
                    sqlx::query("UPDATE session_worktrees SET base_commit = $2 WHERE session_id = $1")
                        .bind(session.as_str())
                        .bind(commit)
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn list_worktrees(&self) -> Result<Vec<(SessionWorktree, String)>> {
                    let rows = sqlx::query(
                        "SELECT w.*, p.path AS project_path FROM session_worktrees w \
                         JOIN sessions s ON s.id = w.session_id JOIN projects p ON p.id = s.project_id",
                    )
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter()
                        .map(|r| Ok((worktree_from(r)?, r.try_get("project_path")?)))
                        .collect()
                }

                async fn insert_change(&self, c: &NewChange) -> Result<PendingChange> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "UPDATE pending_changes SET status = 'superseded', resolved_at = $2 \
                         WHERE session_id = $1 AND status = 'pending'",
                    )
                    .bind(c.session_id.as_str())
                    .bind(c.created_at)
                    .execute(&mut *tx)
                    .await?;
                    let change = insert_pending(&mut *tx, c).await?;
                    tx.commit().await?;
                    Ok(change)
                }

                async fn list_changes(&self, session: &SessionId, status: Option<ChangeStatus>) -> Result<Vec<PendingChange>> {
                    let rows = sqlx::query(
                        "SELECT * FROM pending_changes WHERE session_id = $1 AND ($2 IS NULL OR status = $2) \
                         ORDER BY created_at DESC, id DESC",
                    )
                    .bind(session.as_str())
                    .bind(status.map(|s| s.as_str().to_owned()))
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(change_from).collect()
                }

                async fn get_change(&self, id: &ChangeId) -> Result<(PendingChange, Option<String>)> {
                    let row = sqlx::query("SELECT * FROM pending_changes WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?;
                    let row = row.ok_or_else(|| StoreError::not_found("change", id))?;
                    Ok((change_from(&row)?, row.try_get("head_commit")?))
                }

                async fn get_agent_session(&self, session: &SessionId, agent: &str) -> Result<Option<AgentSessionRow>> {
                    let row = sqlx::query("SELECT * FROM agent_sessions WHERE session_id = $1 AND agent = $2")
                        .bind(session.as_str())
                        .bind(agent)
                        .fetch_optional(self.reader())
                        .await?;
                    row.map(|r| agent_session_from(&r)).transpose()
                }

                async fn list_agent_sessions(&self, session: &SessionId) -> Result<Vec<AgentSessionRow>> {
                    let rows = sqlx::query("SELECT * FROM agent_sessions WHERE session_id = $1 ORDER BY agent")
                        .bind(session.as_str())
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(agent_session_from).collect()
                }

                async fn put_agent_session(&self, a: &AgentSessionRow) -> Result<()> {
                    let now = Utc::now();
                    sqlx::query(
                        "INSERT INTO agent_sessions (session_id, agent, backend, agent_session_id, status, config_hash, \
                         last_active_at, created_at) SELECT $1, $2, $3, $4, $5, $6, $7, $7 \
                         WHERE EXISTS (SELECT 1 FROM sessions WHERE id = $1) \
                         ON CONFLICT (session_id, agent) DO UPDATE SET backend = excluded.backend, \
                         agent_session_id = excluded.agent_session_id, status = excluded.status, \
                         config_hash = excluded.config_hash, last_active_at = excluded.last_active_at",
                    )
                    .bind(a.session_id.as_str())
                    .bind(&a.agent)
                    .bind(&a.backend)
                    .bind(&a.agent_session_id)
                    .bind(&a.status)
                    .bind(&a.config_hash)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn split_change(
                    &self,
                    id: &ChangeId,
                    status: ChangeStatus,
                    taken: &ChangePart,
                    remainder: Option<&NewChange>,
                ) -> Result<(PendingChange, Option<PendingChange>)> {
                    let mut tx = self.begin_write().await?;
                    let row = sqlx::query(
                        "UPDATE pending_changes SET status = $2, resolved_at = $3, diff = $4, files_changed = $5, \
                         insertions = $6, deletions = $7 WHERE id = $1 AND status = 'pending' RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(status.as_str())
                    .bind(Utc::now())
                    .bind(&taken.diff)
                    .bind(to_i64(taken.files_changed))
                    .bind(to_i64(taken.insertions))
                    .bind(to_i64(taken.deletions))
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        drop(tx);
                        let (current, _) = self.get_change(id).await?;
                        return Err(StoreError::Conflict(format!(
                            "change {id} is {}, not pending",
                            current.status.as_str()
                        )));
                    };
                    let resolved = change_from(&row)?;
                    let mut pending = None;
                    if let Some(c) = remainder {
                        pending = Some(insert_pending(&mut *tx, c).await?);
                    }
                    tx.commit().await?;
                    Ok((resolved, pending))
                }

                async fn resolve_change(&self, id: &ChangeId, status: ChangeStatus) -> Result<PendingChange> {
                    let row = sqlx::query(
                        "UPDATE pending_changes SET status = $2, resolved_at = $3 \
                         WHERE id = $1 AND status = 'pending' RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(status.as_str())
                    .bind(Utc::now())
                    .fetch_optional(self.writer())
                    .await?;
                    match row {
                        Some(r) => change_from(&r),
                        None => {
                            let (current, _) = self.get_change(id).await?;
                            Err(StoreError::Conflict(format!(
                                "change {id} is {}, not pending",
                                current.status.as_str()
                            )))
                        }
                    }
                }
            }
        }
    };
}

pub(crate) use impl_task_store;
