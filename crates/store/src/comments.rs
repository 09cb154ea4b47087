//! Review comments: what a reviewer wrote on a line of a change (with the line's text, so later diffs can
//! find it again), and which turn "request changes" sent it to.

use async_trait::async_trait;
use boocode_protocol::{CommentId, ReviewComment, SessionId, TaskId};

use crate::Result;

/// Review comments of a session.
#[async_trait]
pub trait CommentStore: Send + Sync {
    async fn insert_comment(&self, comment: &ReviewComment) -> Result<()>;
    /// A session's comments, oldest first.
    async fn list_comments(&self, session: &SessionId) -> Result<Vec<ReviewComment>>;
    /// Marks comments as sent to `task`; returns how many were still unsent.
    async fn mark_comments_sent(&self, ids: &[CommentId], task: &TaskId) -> Result<u64>;
    /// Deletes an unsent comment; a sent one is part of a turn's history and stays (a conflict).
    async fn delete_comment(&self, id: &CommentId) -> Result<()>;
}

macro_rules! impl_comment_store {
    ($store:ty, $row:ty) => {
        mod comment_queries {
            use async_trait::async_trait;
            use boocode_protocol::{
                ChangeId, CommentId, CommentSide, ReviewComment, SessionId, TaskId,
            };
            use chrono::Utc;
            use sqlx::Row as _;

            use super::*;
            use crate::comments::CommentStore;
            use crate::{Result, StoreError};

            fn comment_from(row: &$row) -> Result<ReviewComment> {
                let side: String = row.try_get("side")?;
                let line: i64 = row.try_get("line")?;
                Ok(ReviewComment {
                    id: CommentId(row.try_get("id")?),
                    session_id: SessionId(row.try_get("session_id")?),
                    change_id: ChangeId(row.try_get("change_id")?),
                    path: row.try_get("path")?,
                    line: u32::try_from(line).unwrap_or(0),
                    side: CommentSide::parse(&side)
                        .ok_or_else(|| StoreError::Corrupt(format!("comment side {side:?}")))?,
                    quoted: row.try_get("quoted")?,
                    text: row.try_get("text")?,
                    created_at: row.try_get("created_at")?,
                    sent_at: row.try_get("sent_at")?,
                    task_id: row.try_get::<Option<String>, _>("task_id")?.map(TaskId),
                    anchor_line: None,
                })
            }

            #[async_trait]
            impl CommentStore for $store {
                async fn insert_comment(&self, c: &ReviewComment) -> Result<()> {
                    sqlx::query(
                        "INSERT INTO review_comments (id, session_id, change_id, path, line, side, quoted, text, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(c.id.as_str())
                    .bind(c.session_id.as_str())
                    .bind(c.change_id.as_str())
                    .bind(&c.path)
                    .bind(i64::from(c.line))
                    .bind(c.side.as_str())
                    .bind(&c.quoted)
                    .bind(&c.text)
                    .bind(c.created_at)
                    .execute(self.writer())
                    .await?;
                    Ok(())
                }

                async fn list_comments(&self, session: &SessionId) -> Result<Vec<ReviewComment>> {
                    let rows = sqlx::query(
                        "SELECT * FROM review_comments WHERE session_id = $1 ORDER BY created_at, id",
                    )
                    .bind(session.as_str())
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(comment_from).collect()
                }

                async fn mark_comments_sent(&self, ids: &[CommentId], task: &TaskId) -> Result<u64> {
                    let mut tx = self.begin_write().await?;
                    let now = Utc::now();
                    let mut done = 0;
                    for id in ids {
                        done += sqlx::query(
                            "UPDATE review_comments SET sent_at = $2, task_id = $3 WHERE id = $1 AND sent_at IS NULL",
                        )
                        .bind(id.as_str())
                        .bind(now)
                        .bind(task.as_str())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    }
                    tx.commit().await?;
                    Ok(done)
                }

                async fn delete_comment(&self, id: &CommentId) -> Result<()> {
                    let row = sqlx::query("SELECT sent_at FROM review_comments WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(self.reader())
                        .await?
                        .ok_or_else(|| StoreError::not_found("comment", id))?;
                    let sent: Option<chrono::DateTime<Utc>> = row.try_get("sent_at")?;
                    if sent.is_some() {
                        return Err(StoreError::Conflict(format!(
                            "comment {id} was already sent to the agent"
                        )));
                    }
                    sqlx::query("DELETE FROM review_comments WHERE id = $1 AND sent_at IS NULL")
                        .bind(id.as_str())
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_comment_store;
