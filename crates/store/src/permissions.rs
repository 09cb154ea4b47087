//! Permission requests an agent asked (kept, so a reload shows the ones still waiting) and the standing
//! "always allow" rules a user gave a session, which answer later requests of the same tool kind.

use async_trait::async_trait;
use boocode_protocol::{
    PermissionId, PermissionRequest, PermissionRule, PermissionRuleId, SessionId,
};

use crate::Result;

/// Permission requests and rules.
#[async_trait]
pub trait PermissionStore: Send + Sync {
    async fn insert_permission(&self, request: &PermissionRequest) -> Result<()>;
    async fn get_permission(&self, id: &PermissionId) -> Result<PermissionRequest>;
    /// A session's requests, oldest first; only the undecided ones with `pending_only`.
    async fn list_permissions(
        &self,
        session: &SessionId,
        pending_only: bool,
    ) -> Result<Vec<PermissionRequest>>;
    /// Records the decision once; an already decided request is a conflict.
    async fn decide_permission(
        &self,
        id: &PermissionId,
        decision: &str,
    ) -> Result<PermissionRequest>;
    /// Closes requests nobody can answer any more (their agent is gone after a restart).
    async fn expire_permissions(&self) -> Result<u64>;

    /// Adds a rule; one per (session, kind), so adding it again returns the existing one.
    async fn insert_permission_rule(&self, rule: &PermissionRule) -> Result<PermissionRule>;
    /// A session's rules, oldest first.
    async fn list_permission_rules(&self, session: &SessionId) -> Result<Vec<PermissionRule>>;
    /// Removes a rule; an unknown id is not found.
    async fn delete_permission_rule(&self, id: &PermissionRuleId) -> Result<PermissionRule>;
}

macro_rules! impl_permission_store {
    ($store:ty, $row:ty) => {
        mod permission_queries {
            use async_trait::async_trait;
            use boocode_protocol::{
                PermissionId, PermissionOption, PermissionRequest, PermissionRule, PermissionRuleId,
                SessionId, TaskId, ToolKind,
            };
            use chrono::Utc;
            use sqlx::Row as _;
            use sqlx::types::Json;

            use super::*;
            use crate::permissions::PermissionStore;
            use crate::{Result, StoreError};

            fn permission_from(row: &$row) -> Result<PermissionRequest> {
                let tool_call: Json<serde_json::Value> = row.try_get("tool_call")?;
                let options: Json<Vec<PermissionOption>> = row.try_get("options")?;
                Ok(PermissionRequest {
                    id: PermissionId(row.try_get("id")?),
                    session_id: SessionId(row.try_get("session_id")?),
                    task_id: row.try_get::<Option<String>, _>("task_id")?.map(TaskId),
                    tool_call: tool_call.0,
                    options: options.0,
                    decision: row.try_get("decision")?,
                    created_at: row.try_get("created_at")?,
                    decided_at: row.try_get("decided_at")?,
                })
            }

            fn rule_from(row: &$row) -> Result<PermissionRule> {
                let kind: String = row.try_get("kind")?;
                Ok(PermissionRule {
                    id: PermissionRuleId(row.try_get("id")?),
                    session_id: SessionId(row.try_get("session_id")?),
                    kind: ToolKind::parse(&kind),
                    created_at: row.try_get("created_at")?,
                })
            }

            #[async_trait]
            impl PermissionStore for $store {
                async fn insert_permission(&self, p: &PermissionRequest) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO permission_requests (id, session_id, task_id, tool_call, options, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(p.id.as_str())
                    .bind(p.session_id.as_str())
                    .bind(p.task_id.as_ref().map(|t| t.as_str().to_owned()))
                    .bind(Json(&p.tool_call))
                    .bind(Json(&p.options))
                    .bind(p.created_at)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn get_permission(&self, id: &PermissionId) -> Result<PermissionRequest> {
                    let row = sqlx::query("SELECT * FROM permission_requests WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?;
                    row.as_ref().map(permission_from).unwrap_or_else(|| Err(StoreError::not_found("permission request", id)))
                }

                async fn decide_permission(&self, id: &PermissionId, decision: &str) -> Result<PermissionRequest> {
                    let row = sqlx::query(
                        "UPDATE permission_requests SET decision = $2, decided_at = $3 \
                         WHERE id = $1 AND decision IS NULL RETURNING *",
                    )
                    .bind(id.as_str())
                    .bind(decision)
                    .bind(Utc::now())
                    .fetch_optional(self.writer())
                    .await?;
                    match row {
                        Some(r) => permission_from(&r),
                        None => {
                            let current = self.get_permission(id).await?;
                            Err(StoreError::Conflict(format!(
                                "permission request {id} was already answered ({})",
                                current.decision.unwrap_or_default()
                            )))
                        }
                    }
                }

                async fn expire_permissions(&self) -> Result<u64> {
                    let done = sqlx::query(
                        "UPDATE permission_requests SET decision = 'expired', decided_at = $1 WHERE decision IS NULL",
                    )
                    .bind(Utc::now())
                    .execute(self.writer())
                    .await?;
                    Ok(done.rows_affected())
                }



                async fn list_permissions(&self, session: &SessionId, pending_only: bool) -> Result<Vec<PermissionRequest>> {
                    let rows = sqlx::query(
                        "SELECT * FROM permission_requests WHERE session_id = $1 AND ($2 = FALSE OR decision IS NULL) \
                         ORDER BY created_at, id",
                    )
                    .bind(session.as_str())
                    .bind(pending_only)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(permission_from).collect()
                }

                async fn insert_permission_rule(&self, rule: &PermissionRule) -> Result<PermissionRule> {
                    sqlx::query(
                        "INSERT INTO permission_rules (id, session_id, kind, created_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (session_id, kind) DO NOTHING",
                    )
                    .bind(rule.id.as_str())
                    .bind(rule.session_id.as_str())
                    .bind(rule.kind.as_str())
                    .bind(rule.created_at)
                    .execute(self.writer())
                    .await?;
                    let row = sqlx::query("SELECT * FROM permission_rules WHERE session_id = $1 AND kind = $2")
                        .bind(rule.session_id.as_str())
                        .bind(rule.kind.as_str())
                        .fetch_one(self.reader())
                        .await?;
                    rule_from(&row)
                }

                async fn list_permission_rules(&self, session: &SessionId) -> Result<Vec<PermissionRule>> {
                    let rows = sqlx::query("SELECT * FROM permission_rules WHERE session_id = $1 ORDER BY created_at, id")
                        .bind(session.as_str())
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(rule_from).collect()
                }

                async fn delete_permission_rule(&self, id: &PermissionRuleId) -> Result<PermissionRule> {
                    let row = sqlx::query("DELETE FROM permission_rules WHERE id = $1 RETURNING *")
                        .bind(id.as_str())
                        .fetch_optional(self.writer())
                        .await?;
                    row.as_ref().map(rule_from).unwrap_or_else(|| Err(StoreError::not_found("permission rule", id)))
                }
            }
        }
    };
}

pub(crate) use impl_permission_store;
