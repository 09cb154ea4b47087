//! How fakellm calls the tools a real agent offers, as a model would: a write tool found by its shape,
//! and a named tool (e.g. one of boocode's MCP tools) found directly or through the agent's deferred-tool
//! bridge (Qwen Code's `tool_search` then `tool_call`), one step per request.

use serde_json::{Value, json};

/// The write tool a real agent offers (opencode `write`, qwen/gemini `write_file`, or anything alike),
/// called with an absolute path under the working directory its prompt states.
pub(crate) fn write_call(body: &Value, path: &str, content: &str) -> Option<(String, String)> {
    let tools = body.get("tools")?.as_array()?;
    let functions: Vec<&Value> = tools.iter().filter_map(|t| t.get("function")).collect();
    let props = |f: &Value| {
        f.pointer("/parameters/properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let path_keys = ["filePath", "file_path", "absolute_path", "path"];
    let content_keys = ["content", "contents", "text"];
    let pick = |f: &&Value| {
        let p = props(f);
        path_keys.iter().any(|k| p.contains_key(*k))
            && content_keys.iter().any(|k| p.contains_key(*k))
    };
    let name_of = |f: &Value| {
        f.get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let tool = ["write", "write_file"]
        .iter()
        .find_map(|n| functions.iter().find(|f| name_of(f) == *n && pick(f)))
        .or_else(|| {
            functions.iter().find(|f| {
                let n = name_of(f);
                (n.contains("write") || n.contains("create")) && pick(f)
            })
        })?;
    let p = props(tool);
    let path_key = path_keys.iter().find(|k| p.contains_key(**k))?;
    let content_key = content_keys.iter().find(|k| p.contains_key(**k))?;
    let full = if path.starts_with('/') {
        path.to_owned()
    } else {
        match working_directory(body) {
            Some(cwd) => format!("{}/{path}", cwd.trim_end_matches('/')),
            None => path.to_owned(),
        }
    };
    let args = json!({*path_key: full, *content_key: content});
    Some((name_of(tool), args.to_string()))
}

/// The directory an agent says it works in, from any message of the request.
fn working_directory(body: &Value) -> Option<String> {
    let texts: Vec<String> = body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|m| match m.get("content") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    for text in &texts {
        for marker in [
            "Working directory: ",
            "I'm currently working in the directory: ",
            "<cwd>",
        ] {
            if let Some(at) = text.find(marker) {
                let rest = &text[at + marker.len()..];
                let end = rest.find(['\n', '<']).unwrap_or(rest.len());
                let dir = rest[..end].trim();
                if dir.starts_with('/') {
                    return Some(dir.to_owned());
                }
            }
        }
    }
    None
}

/// The next call for `[[agent_tool:SUFFIX ARGS]]`: `Ok(None)` once the tool has been called (the
/// model then answers in text), `Err` with a reason when the agent offers no way to reach it.
pub(crate) fn next_call(
    body: &Value,
    suffix: &str,
    args: &str,
) -> Result<Option<(String, String)>, String> {
    let called = calls_since_user(body);
    if called.iter().any(|(name, inner)| {
        matches_suffix(name, suffix) || name == "tool_call" && matches_suffix(inner, suffix)
    }) {
        return Ok(None);
    }
    if let Some(name) = offered(body)
        .into_iter()
        .find(|n| matches_suffix(n, suffix))
    {
        return Ok(Some((name, args.to_owned())));
    }
    let bridge = |n: &str| offered(body).iter().any(|o| o == n);
    if bridge("tool_call")
        && let Some(name) = mentioned_name(body, suffix)
    {
        let arguments: Value =
            serde_json::from_str(args).map_err(|e| format!("bad arguments: {e}"))?;
        let call = json!({"name": name, "arguments": arguments});
        return Ok(Some(("tool_call".to_owned(), call.to_string())));
    }
    if bridge("tool_search") && !called.iter().any(|(n, _)| n == "tool_search") {
        let query = json!({"query": suffix});
        return Ok(Some(("tool_search".to_owned(), query.to_string())));
    }
    Err(format!(
        "no offered tool named like {suffix} among {}",
        offered(body).join(",")
    ))
}

/// `suffix` itself or a prefixed form of it (`boocode_new_task`, `mcp__boocode__new_task`).
fn matches_suffix(name: &str, suffix: &str) -> bool {
    name == suffix || name.ends_with(&format!("_{suffix}"))
}

fn offered(body: &Value) -> Vec<String> {
    body.get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The tool calls the assistant made after the last user message: (name, `tool_call`'s inner name).
fn calls_since_user(body: &Value) -> Vec<(String, String)> {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Vec::new();
    };
    let from = messages
        .iter()
        .rposition(|m| m.get("role") == Some(&json!("user")))
        .unwrap_or(0);
    messages[from..]
        .iter()
        .filter_map(|m| m.get("tool_calls").and_then(Value::as_array))
        .flatten()
        .filter_map(|c| {
            let name = c.pointer("/function/name")?.as_str()?.to_owned();
            let inner = c
                .pointer("/function/arguments")
                .and_then(Value::as_str)
                .and_then(|a| serde_json::from_str::<Value>(a).ok())
                .and_then(|a| a.get("name").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            Some((name, inner))
        })
        .collect()
}

/// A full tool name ending in `_suffix` that the conversation mentions (a deferred-tool list or a
/// `tool_search` result).
fn mentioned_name(body: &Value, suffix: &str) -> Option<String> {
    let text = body.get("messages")?.to_string();
    let needle = format!("_{suffix}");
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(&needle).find_map(|(at, _)| {
        let end = at + needle.len();
        if text[end..].chars().next().is_some_and(word) {
            return None;
        }
        let start = text[..at].rfind(|c: char| !word(c)).map_or(0, |i| i + 1);
        Some(text[start..end].to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(names: &[&str]) -> Value {
        Value::Array(
            names
                .iter()
                .map(|n| json!({"type": "function", "function": {"name": n, "parameters": {}}}))
                .collect(),
        )
    }

    #[test]
    fn a_prefixed_tool_is_called_directly_then_answered() {
        let body = json!({"tools": tools(&["read", "boocode_new_task"]),
            "messages": [{"role": "user", "content": "go"}]});
        assert_eq!(
            next_call(&body, "new_task", "{}").unwrap(),
            Some(("boocode_new_task".into(), "{}".into()))
        );
        let body = json!({"tools": tools(&["boocode_new_task"]), "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "boocode_new_task", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "1", "content": "queued"}]});
        assert_eq!(next_call(&body, "new_task", "{}").unwrap(), None);
    }

    #[test]
    fn a_deferred_tool_is_searched_then_called_through_the_bridge() {
        let offered = tools(&["tool_search", "tool_call", "read_file"]);
        let body = json!({"tools": offered, "messages": [{"role": "user", "content": "go"}]});
        let (name, args) = next_call(&body, "new_task", r#"{"input":"x"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            (name.as_str(), args.as_str()),
            ("tool_search", r#"{"query":"new_task"}"#)
        );
        let body = json!({"tools": offered, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "1", "type": "function", "function": {"name": "tool_search", "arguments": args}}]},
            {"role": "tool", "tool_call_id": "1", "content": "Found: mcp__boocode__new_task (Queue a task)"}]});
        let (name, args) = next_call(&body, "new_task", r#"{"input":"x"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(name, "tool_call");
        assert_eq!(
            serde_json::from_str::<Value>(&args).unwrap(),
            json!({"name": "mcp__boocode__new_task", "arguments": {"input": "x"}})
        );
    }

    #[test]
    fn no_way_to_the_tool_is_said_in_the_reply() {
        let body =
            json!({"tools": tools(&["read"]), "messages": [{"role": "user", "content": "go"}]});
        let why = next_call(&body, "new_task", "{}").unwrap_err();
        assert!(why.contains("among read"), "{why}");
    }
}
