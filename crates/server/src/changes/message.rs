//! A commit message drafted by the model for a change: the task's request and the diff (clipped) in, a
//! subject in the imperative and a few lines of why out, cleaned of `<think>` blocks, fences and quotes.
//! The user edits it before committing; a model that fails says so (502), nothing is committed.

use boocode_llm::{ChatMessage, ChatRequest, LlmClient, LlmError};
use boocode_protocol::ChangeId;

use super::{ChangeError, ChangeService};

/// Most characters of the diff the model sees.
const MAX_DIFF: usize = 12_000;

impl ChangeService {
    /// Drafts a commit message for the change with `model`.
    pub async fn draft_message(
        &self,
        id: &ChangeId,
        llm: &LlmClient,
        model: &str,
    ) -> Result<String, ChangeError> {
        let (change, _) = self.store.get_change(id).await?;
        let request = self.request_of(&change).await;
        let diff = change.diff.unwrap_or_default();
        let clipped: String = diff.chars().take(MAX_DIFF).collect();
        let more = if clipped.len() < diff.len() {
            "\n[… the rest of the diff is left out]"
        } else {
            ""
        };
        let mut ask = ChatRequest {
            model: model.to_owned(),
            messages: vec![
                ChatMessage::new(
                    "system",
                    "You write git commit messages. Reply with the message only: a subject line in \
                     the imperative mood of at most 60 characters, then, if it helps, a blank line and \
                     at most three short lines saying why. No quotes, no code fences, no preamble.",
                ),
                ChatMessage::new(
                    "user",
                    format!(
                        "The request was: {}\n\nThe diff:\n{clipped}{more}",
                        request.chars().take(2000).collect::<String>()
                    ),
                ),
            ],
            temperature: Some(0.2),
            max_tokens: Some(200),
            tools: Vec::new(),
            disable_reasoning: true,
            extra: serde_json::Map::new(),
        };
        let reply = match llm.complete(&ask).await {
            // Some servers reject the thinking switches; ask again without them.
            Err(LlmError::Http {
                status: 400 | 422, ..
            }) => {
                ask.disable_reasoning = false;
                llm.complete(&ask).await
            }
            other => other,
        }
        .map_err(|e| ChangeError::Model(format!("{model} could not draft a message: {e}")))?;
        clean_message(&reply.content)
            .ok_or_else(|| ChangeError::Model(format!("{model} answered with no message")))
    }
}

/// A model's answer as a commit message: no `<think>` blocks, fences, labels or quotes; the subject at
/// most 72 characters; at most ten lines.
pub fn clean_message(raw: &str) -> Option<String> {
    let mut text = raw.to_owned();
    while let Some(start) = text.find("<think>") {
        match text[start..].find("</think>") {
            Some(end) => text.replace_range(start..start + end + "</think>".len(), ""),
            None => text.truncate(start),
        }
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .collect();
    let start = lines.iter().position(|l| !l.trim().is_empty())?;
    let mut out: Vec<String> = Vec::new();
    for (n, line) in lines[start..].iter().take(10).enumerate() {
        let line = line.trim_end();
        if n == 0 {
            let subject = line
                .trim()
                .trim_start_matches("Subject:")
                .trim_start_matches("Commit message:")
                .trim()
                .trim_matches(|c| matches!(c, '"' | '\'' | '`' | '*'))
                .trim_end_matches('.');
            let subject: String = subject.chars().take(72).collect();
            if subject.is_empty() {
                return None;
            }
            out.push(subject);
        } else {
            out.push(line.to_owned());
        }
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    Some(out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::clean_message;

    #[test]
    fn messages_are_cleaned() {
        assert_eq!(
            clean_message(
                "<think>hm</think>\n```\nSubject: \"Widen f30 to u64.\"\n\nCallers overflowed.\n```"
            )
            .as_deref(),
            Some("Widen f30 to u64\n\nCallers overflowed.")
        );
        assert_eq!(clean_message(" \n "), None);
        assert!(clean_message(&"x".repeat(200)).is_some_and(|m| m.len() == 72));
    }
}
