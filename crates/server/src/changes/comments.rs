//! Comments on the lines of a change and "request changes": a comment keeps the line's text, so a later
//! diff shows it where that line still is; request changes sends the unsent comments (file, line, the
//! quoted code, the text) to the same agent, in the same chat, as the session's next turn.

use std::path::Path;

use boocode_protocol::{
    AddCommentRequest, ChangeId, CommentId, CommentSide, CreateTaskRequest, RequestChangesRequest,
    ReviewComment, Task,
};
use boocode_workspace::{LineKind, Patch, PatchFile};
use chrono::Utc;

use super::{ChangeError, ChangeService, workspace_error};
use crate::tasks::{TaskError, TaskService};

/// Most characters of a comment.
const MAX_COMMENT: usize = 20_000;

impl ChangeService {
    /// Stores a comment on a line of a pending change; a line the file does not have is refused.
    pub async fn add_comment(
        &self,
        id: &ChangeId,
        request: AddCommentRequest,
    ) -> Result<ReviewComment, ChangeError> {
        let (change, _) = self.store.get_change(id).await?;
        if change.status != boocode_protocol::ChangeStatus::Pending {
            return Err(ChangeError::Conflict(format!(
                "change {id} is {}; comment on the pending change",
                change.status.as_str()
            )));
        }
        let text = request.text.trim();
        if text.is_empty() || text.chars().count() > MAX_COMMENT {
            return Err(ChangeError::Invalid(format!(
                "a comment needs text (at most {MAX_COMMENT} characters)"
            )));
        }
        let side = request.side.unwrap_or_default();
        let patch = Patch::parse(change.diff.as_deref().unwrap_or_default());
        let file = patch
            .files
            .iter()
            .find(|f| f.path == request.path)
            .ok_or_else(|| {
                ChangeError::Invalid(format!("no file {:?} in change {id}", request.path))
            })?;
        let quoted = self
            .line_text(&change.session_id, file, side, request.line)
            .await?;
        let comment = ReviewComment {
            id: CommentId::new(),
            session_id: change.session_id.clone(),
            change_id: id.clone(),
            path: request.path,
            line: request.line,
            side,
            quoted,
            text: text.to_owned(),
            created_at: Utc::now(),
            sent_at: None,
            task_id: None,
            anchor_line: Some(request.line),
        };
        self.store.insert_comment(&comment).await?;
        Ok(comment)
    }

    /// The text of `line` on `side` of `file`, or why there is none.
    async fn line_text(
        &self,
        session: &boocode_protocol::SessionId,
        file: &PatchFile,
        side: CommentSide,
        line: u32,
    ) -> Result<String, ChangeError> {
        let blob = match side {
            CommentSide::New => file.new_blob.as_deref(),
            CommentSide::Old => file.old_blob.as_deref(),
        }
        .ok_or_else(|| {
            ChangeError::Invalid(format!(
                "{} has no {} side in this change",
                file.path,
                side.as_str()
            ))
        })?;
        let session = self.store.get_session(session).await?;
        let project = self.store.get_project(&session.project_id).await?;
        let bytes = boocode_workspace::read_blob(Path::new(&project.path), blob, 8 * 1024 * 1024)
            .await
            .map_err(workspace_error)?
            .ok_or_else(|| ChangeError::Invalid(format!("{} is too large", file.path)))?;
        let text = String::from_utf8_lossy(&bytes);
        let count = text.lines().count();
        usize::try_from(line)
            .ok()
            .filter(|n| *n >= 1)
            .and_then(|n| text.lines().nth(n - 1))
            .map(str::to_owned)
            .ok_or_else(|| {
                ChangeError::Invalid(format!(
                    "line {line} does not exist in {} ({count} lines on the {} side)",
                    file.path,
                    side.as_str()
                ))
            })
    }

    /// The session's comments on files of this change, each anchored where its line is in this diff
    /// (the same text on the same side, nearest its original number), or unanchored when it is gone.
    pub async fn comments(&self, id: &ChangeId) -> Result<Vec<ReviewComment>, ChangeError> {
        let (change, _) = self.store.get_change(id).await?;
        let patch = Patch::parse(change.diff.as_deref().unwrap_or_default());
        let mut out = Vec::new();
        for mut comment in self.store.list_comments(&change.session_id).await? {
            let Some(file) = patch.files.iter().find(|f| f.path == comment.path) else {
                continue;
            };
            comment.anchor_line = anchor(file, &comment, &change.id);
            out.push(comment);
        }
        Ok(out)
    }

    /// Deletes a comment that was not sent yet.
    pub async fn delete_comment(&self, id: &CommentId) -> Result<(), ChangeError> {
        Ok(self.store.delete_comment(id).await?)
    }

    /// Sends the session's unsent comments (and an optional note) to the agent that made the change, in
    /// its chat, as a new turn; the comments are marked sent with that turn.
    pub async fn request_changes(
        &self,
        id: &ChangeId,
        request: RequestChangesRequest,
        tasks: &TaskService,
    ) -> Result<Task, ChangeError> {
        let (change, _) = self.store.get_change(id).await?;
        if change.status != boocode_protocol::ChangeStatus::Pending {
            return Err(ChangeError::Conflict(format!(
                "change {id} is {}; request changes on the pending change",
                change.status.as_str()
            )));
        }
        let unsent: Vec<ReviewComment> = self
            .store
            .list_comments(&change.session_id)
            .await?
            .into_iter()
            .filter(|c| c.sent_at.is_none())
            .collect();
        let note = request.message.as_deref().map(str::trim).unwrap_or("");
        if unsent.is_empty() && note.is_empty() {
            return Err(ChangeError::Invalid(
                "nothing to send: comment on lines of the change or write a message".into(),
            ));
        }
        let previous = match &change.task_id {
            Some(task) => Some(self.store.get_task(task).await?),
            None => None,
        };
        let agent = previous
            .as_ref()
            .map(|t| t.agent.clone())
            .or_else(|| change.agent.clone())
            .ok_or_else(|| ChangeError::Invalid("no agent made this change".into()))?;
        let session = self.store.get_session(&change.session_id).await?;
        let task = tasks
            .create(CreateTaskRequest {
                project_id: session.project_id.clone(),
                session_id: Some(change.session_id.clone()),
                chat_id: previous.as_ref().map(|t| t.chat_id.clone()),
                input: compose(note, &unsent),
                agent,
                model: previous.as_ref().and_then(|t| t.model.clone()),
                mode_id: previous.as_ref().and_then(|t| t.mode_id.clone()),
                thinking_option_id: None,
                feature_values: None,
            })
            .await
            .map_err(|e| match e {
                TaskError::Invalid(m) => ChangeError::Invalid(m),
                TaskError::Conflict(m) => ChangeError::Conflict(m),
                TaskError::Store(e) => ChangeError::Store(e),
            })?;
        let ids: Vec<CommentId> = unsent.iter().map(|c| c.id.clone()).collect();
        self.store.mark_comments_sent(&ids, &task.id).await?;
        Ok(task)
    }
}

/// Where a comment's line is in `file`'s hunks: its own line on the change it was written on, else the
/// line with the same text on the same side nearest the original number.
fn anchor(file: &PatchFile, comment: &ReviewComment, change: &ChangeId) -> Option<u32> {
    let on_side = |l: &boocode_workspace::PatchLine| match comment.side {
        CommentSide::New => l.kind != LineKind::Removed,
        CommentSide::Old => l.kind != LineKind::Added,
    };
    let number = |l: &boocode_workspace::PatchLine| match comment.side {
        CommentSide::New => l.new_line,
        CommentSide::Old => l.old_line,
    };
    let lines = file
        .hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .filter(|l| on_side(l));
    if &comment.change_id == change {
        return Some(comment.line);
    }
    lines
        .filter(|l| l.text == comment.quoted)
        .filter_map(number)
        .min_by_key(|n| n.abs_diff(comment.line))
}

/// The turn's input: the note, then each comment with its file, line and the quoted code.
fn compose(note: &str, comments: &[ReviewComment]) -> String {
    let mut out = String::new();
    if !note.is_empty() {
        out.push_str(note);
        out.push_str("\n\n");
    }
    if !comments.is_empty() {
        out.push_str("Review comments on your change; address each one:\n");
        for (n, c) in comments.iter().enumerate() {
            let which = match c.side {
                CommentSide::New => format!("line {}", c.line),
                CommentSide::Old => format!("removed line {} (old numbering)", c.line),
            };
            out.push_str(&format!(
                "\n{}. {}, {which}:\n   > {}\n   {}\n",
                n + 1,
                c.path,
                c.quoted,
                c.text.replace('\n', "\n   ")
            ));
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_turn_quotes_each_comment() {
        let c = ReviewComment {
            id: CommentId::new(),
            session_id: boocode_protocol::SessionId::new(),
            change_id: ChangeId::new(),
            path: "src/lib.rs".into(),
            line: 30,
            side: CommentSide::New,
            quoted: "fn f30() -> u64 { 30 }".into(),
            text: "Keep u32.\nCallers need it.".into(),
            created_at: Utc::now(),
            sent_at: None,
            task_id: None,
            anchor_line: None,
        };
        let text = compose("Nearly there.", &[c]);
        assert!(text.starts_with("Nearly there.\n\nReview comments"));
        assert!(text.contains("1. src/lib.rs, line 30:\n   > fn f30() -> u64 { 30 }\n   Keep u32.\n   Callers need it."));
    }
}
