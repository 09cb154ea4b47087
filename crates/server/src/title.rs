//! Auto-naming a chat after its first exchange (docs/ARCHITECTURE.md §10, §15): the session's model,
//! thinking off, a short title cleaned of quotes, markdown and `<think>` blocks. Any failure keeps the name.

use boocode_llm::{ChatMessage, ChatRequest, LlmClient, LlmError};

/// The name a new chat gets until auto-naming replaces it.
pub const DEFAULT_CHAT_NAME: &str = "New chat";

const MAX_TITLE_CHARS: usize = 60;

/// Asks the model for a title; `Ok(None)` when the answer cleans to nothing.
pub async fn generate_title(
    llm: &LlmClient,
    model: &str,
    user: &str,
    assistant: &str,
) -> Result<Option<String>, LlmError> {
    let clip = |s: &str| s.chars().take(2000).collect::<String>();
    let mut request = ChatRequest {
        model: model.to_owned(),
        messages: vec![
            ChatMessage::new(
                "system",
                "You name conversations. Reply with a title of at most six words for the \
                 conversation below. Reply with the title only: no quotes, no punctuation at the end.",
            ),
            ChatMessage::new(
                "user",
                format!("User: {}\n\nAssistant: {}", clip(user), clip(assistant)),
            ),
        ],
        temperature: Some(0.3),
        max_tokens: Some(30),
        tools: Vec::new(),
        disable_reasoning: true,
        extra: serde_json::Map::new(),
    };
    let reply = match llm.complete(&request).await {
        // Some servers reject the thinking switches; ask again without them.
        Err(LlmError::Http {
            status: 400 | 422, ..
        }) => {
            request.disable_reasoning = false;
            llm.complete(&request).await?
        }
        other => other?,
    };
    Ok(clean_title(&reply.content))
}

/// Reduces a model's answer to a short one-line title.
pub fn clean_title(raw: &str) -> Option<String> {
    let mut text = raw.to_owned();
    while let Some(start) = text.find("<think>") {
        match text[start..].find("</think>") {
            Some(end) => text.replace_range(start..start + end + "</think>".len(), ""),
            None => text.truncate(start),
        }
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = strip_label(line);
    let trimmed = line.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '*' | '#' | '_' | '.' | ':' | '“' | '”' | '‘' | '’'
            )
    });
    let words: Vec<&str> = trimmed.split_whitespace().collect();
    let mut title = String::new();
    for word in words {
        if title.chars().count() + word.chars().count() + 1 > MAX_TITLE_CHARS {
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    (!title.is_empty()).then_some(title)
}

fn strip_label(line: &str) -> &str {
    let lower = line.to_ascii_lowercase();
    for label in ["title:", "**title:**", "chat title:"] {
        if lower.starts_with(label) {
            return &line[label.len()..];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::clean_title;

    #[test]
    fn cleans_titles() {
        assert_eq!(
            clean_title("\"Rust borrow checker help\"").as_deref(),
            Some("Rust borrow checker help")
        );
        assert_eq!(
            clean_title("<think>hmm</think>\nTitle: **Fixing CI.**").as_deref(),
            Some("Fixing CI")
        );
        assert_eq!(
            clean_title("# Hello world\nsecond line").as_deref(),
            Some("Hello world")
        );
        assert_eq!(clean_title("<think>never closed"), None);
        assert_eq!(clean_title("  \n "), None);
        let long = "word ".repeat(40);
        assert!(clean_title(&long).is_some_and(|t| t.len() <= 60));
    }
}
