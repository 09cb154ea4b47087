//! Builds the scripted reply, streamed (SSE, with delays and faults) or whole.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::directives::Directives;
use crate::{AppState, RecordedRequest};

const DEFAULT_REPLY: &str = "Hello! I am fakellm, a scripted model for boocode's tests.";

enum Step {
    Raw(Bytes),
    /// A content token whose text is the emit time in microseconds (benchmarks measure latency with it).
    Stamp,
    Sleep(Duration),
    Abort,
}

fn error_response(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": "fakellm"}})),
    )
        .into_response()
}

fn last_user_text(body: &Value) -> String {
    let messages = body.get("messages").and_then(Value::as_array);
    let last = messages.and_then(|m| {
        m.iter()
            .rev()
            .find(|m| m.get("role") == Some(&json!("user")))
    });
    match last.and_then(|m| m.get("content")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The part of a prompt meant for `model`: text after `[[model:NAME]]` markers belongs to that model
/// (up to the next marker), so one prompt scripts different answers per model (an arena's lanes);
/// text before the first marker is for every model.
pub(crate) fn for_model(text: &str, model: &str) -> String {
    let mut parts = text.split("[[model:");
    let mut out = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        if let Some((name, rest)) = part.split_once("]]")
            && name.trim() == model
        {
            out.push_str(rest);
        }
    }
    out
}

/// Whether any message carries an `image_url` part.
fn has_image(body: &Value) -> bool {
    body.get("messages")
        .and_then(Value::as_array)
        .is_some_and(|ms| {
            ms.iter().any(|m| {
                m.get("content")
                    .and_then(Value::as_array)
                    .is_some_and(|parts| {
                        parts
                            .iter()
                            .any(|p| p.get("type") == Some(&json!("image_url")))
                    })
            })
        })
}

pub(crate) fn tool_results_follow_user(body: &Value) -> bool {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return false;
    };
    let last_user = messages
        .iter()
        .rposition(|m| m.get("role") == Some(&json!("user")));
    last_user.is_some_and(|at| {
        messages[at..]
            .iter()
            .any(|m| m.get("role") == Some(&json!("tool")))
    })
}

fn reply_tokens(d: &Directives) -> Vec<String> {
    if let Some(n) = d.tokens.filter(|_| !d.stamp) {
        return (0..n)
            .map(|i| match d.paragraph {
                Some(p) if (i + 1) % p == 0 => format!("tok{i}.\n\n"),
                _ => format!("tok{i} "),
            })
            .collect();
    }
    let text = d.reply.clone().unwrap_or_else(|| DEFAULT_REPLY.to_owned());
    split_keep_spaces(&text)
}

fn split_keep_spaces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        cur.push(ch);
        if ch == ' ' {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Bytes {
    let c = json!({
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    Bytes::from(format!("data: {c}\n\n"))
}

fn prompt_tokens(body: &Value) -> u64 {
    (body
        .get("messages")
        .map(|m| m.to_string().len())
        .unwrap_or(0)
        / 4) as u64
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(State(state): State<AppState>, raw: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&raw) else {
        return error_response(StatusCode::BAD_REQUEST, "request body is not JSON");
    };
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let index = {
        let Ok(mut log) = state.requests.lock() else {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "poisoned log");
        };
        log.push(RecordedRequest {
            model: model.clone(),
            stream,
            body: body.clone(),
            disconnected: false,
            finished: false,
        });
        log.len() - 1
    };
    if !state.options.models.contains(&model) {
        return error_response(StatusCode::NOT_FOUND, &format!("model '{model}' not found"));
    }
    if has_image(&body) && !state.options.vision_models.contains(&model) {
        // What llama.cpp says when the model has no multimodal projector.
        return error_response(
            StatusCode::BAD_REQUEST,
            "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj",
        );
    }
    let loaded_now = match state.options.swap_delay {
        Some(delay) => state.swapper.ensure(&model, delay).await,
        None => false,
    };
    let mut directives = Directives::parse(&for_model(&last_user_text(&body), &model));
    // Tools are called once: when their results follow the user's message, answer in text.
    let answered = tool_results_follow_user(&body);
    if answered {
        directives.tools.clear();
    } else if let Some((path, content)) = directives.agent_write.clone()
        && let Some(call) = crate::agent_tools::write_call(&body, &path, &content)
    {
        directives.tools.push(call);
    }
    for (suffix, args) in std::mem::take(&mut directives.agent_tools) {
        match crate::agent_tools::next_call(&body, &suffix, &args) {
            Ok(Some(call)) => directives.tools.push(call),
            Ok(None) => {}
            Err(why) => directives.reply = Some(why),
        }
    }
    if !directives.any && !state.options.script.is_empty() {
        let n = state.counter.fetch_add(1, Ordering::Relaxed) % state.options.script.len();
        directives = Directives::parse(&state.options.script[n]);
    }
    if let Some(code) = directives
        .fail
        .or(directives.title_fail.filter(|_| !stream))
    {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error_response(status, &format!("fakellm scripted failure {code}"));
    }
    if !stream {
        mark(&state, index, |r| r.finished = true);
        return whole_reply(&model, &body, &directives).into_response();
    }
    let mut steps = stream_steps(&model, &body, &directives);
    if loaded_now {
        // llama-swap's `sendLoadingState`: status chunks without id or object before the real stream.
        let loading = [
            format!("llama-swap loading model: {model}"),
            "Done! (0.1s)".to_owned(),
        ]
        .map(|text| {
            let c = json!({"choices": [{"index": 0, "delta": {"reasoning_content": text}}]});
            Step::Raw(Bytes::from(format!("data: {c}\n\n")))
        });
        steps.splice(0..0, loading);
    }
    let guard = DisconnectGuard {
        state: state.clone(),
        index,
        finished: false,
    };
    let stream = futures::stream::unfold(
        (steps.into_iter(), guard),
        |(mut steps, mut guard)| async move {
            loop {
                match steps.next() {
                    None => {
                        guard.finished = true;
                        mark(&guard.state, guard.index, |r| r.finished = true);
                        return None;
                    }
                    Some(Step::Sleep(d)) => tokio::time::sleep(d).await,
                    Some(Step::Raw(b)) => return Some((Ok(b), (steps, guard))),
                    Some(Step::Stamp) => {
                        let micros = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map(|d| d.as_micros())
                            .unwrap_or(0);
                        let b = chunk("stamp", json!({"content": format!("{micros} ")}), None);
                        return Some((Ok(b), (steps, guard)));
                    }
                    Some(Step::Abort) => {
                        // Let what was sent reach the client first, as with a server dying mid-reply.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        guard.finished = true;
                        mark(&guard.state, guard.index, |r| r.finished = true);
                        let err = std::io::Error::other("fakellm scripted drop");
                        return Some((Err(err), (steps, guard)));
                    }
                }
            }
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| error_response(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

fn mark(state: &AppState, index: usize, f: impl FnOnce(&mut RecordedRequest)) {
    if let Ok(mut log) = state.requests.lock()
        && let Some(r) = log.get_mut(index)
    {
        f(r);
    }
}

/// Records a client hang-up: the body stream is dropped before it ran to the end.
struct DisconnectGuard {
    state: AppState,
    index: usize,
    finished: bool,
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if !self.finished {
            mark(&self.state, self.index, |r| r.disconnected = true);
        }
    }
}

fn whole_reply(model: &str, body: &Value, d: &Directives) -> axum::Json<Value> {
    let content = d.title.clone().unwrap_or_else(|| reply_tokens(d).concat());
    let mut message = json!({"role": "assistant", "content": content});
    if let Some(r) = &d.reasoning {
        message["reasoning_content"] = json!(r);
    }
    axum::Json(json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens(body), "completion_tokens": content.split(' ').count()},
    }))
}

fn stream_steps(model: &str, body: &Value, d: &Directives) -> Vec<Step> {
    let mut steps = vec![Step::Raw(chunk(
        model,
        json!({"role": "assistant", "content": null}),
        None,
    ))];
    let delay = Duration::from_millis(d.delay_ms);
    if d.first_delay_ms > 0 {
        steps.push(Step::Sleep(Duration::from_millis(d.first_delay_ms)));
    }
    if let Some(reasoning) = &d.reasoning {
        for (i, piece) in split_keep_spaces(reasoning).into_iter().enumerate() {
            let delta = if d.think_tags {
                let open = if i == 0 { "<think>" } else { "" };
                json!({"content": format!("{open}{piece}")})
            } else {
                json!({"reasoning_content": piece})
            };
            steps.push(Step::Raw(chunk(model, delta, None)));
        }
        if d.think_tags {
            steps.push(Step::Raw(chunk(
                model,
                json!({"content": "</think>"}),
                None,
            )));
        }
    }
    // A round that calls tools is short, as with real models: the reply comes after the results.
    let tokens = if !d.tools.is_empty() {
        Vec::new()
    } else if d.stamp {
        vec![String::new(); d.tokens.unwrap_or(64)]
    } else {
        reply_tokens(d)
    };
    let count = tokens.len();
    for (i, token) in tokens.into_iter().enumerate() {
        if d.drop_after == Some(i) {
            steps.push(Step::Abort);
            return steps;
        }
        if i > 0 && !delay.is_zero() {
            steps.push(Step::Sleep(delay));
        }
        let token = if i == 0 && d.nul {
            format!("nul\u{0}byte {token}")
        } else {
            token
        };
        steps.push(if d.stamp {
            Step::Stamp
        } else {
            Step::Raw(chunk(model, json!({"content": token}), None))
        });
        if i == 0 && d.stream_error {
            let err = json!({"error": {"message": "fakellm scripted stream error", "code": 500}});
            steps.push(Step::Raw(Bytes::from(format!("data: {err}\n\n"))));
            return steps;
        }
        if i == 0 && d.garbage {
            steps.push(Step::Raw(Bytes::from_static(
                b"data: {this is not json\n\n",
            )));
            return steps;
        }
        if i == 0 && d.invalid_utf8 {
            let mut bad = b"data: {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"".to_vec();
            bad.extend_from_slice(&[0xff, 0xfe, 0xfd]);
            bad.extend_from_slice(b"\"}}]}\n\n");
            steps.push(Step::Raw(Bytes::from(bad)));
            return steps;
        }
    }
    for (i, (name, args)) in d.tools.iter().enumerate() {
        let first = json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function",
            "function": {"name": name, "arguments": ""}}]});
        steps.push(Step::Raw(chunk(model, first, None)));
        let mid = args.len() / 2;
        let split = (0..=mid)
            .rev()
            .find(|&n| args.is_char_boundary(n))
            .unwrap_or(0);
        for part in [&args[..split], &args[split..]] {
            let delta = json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]});
            steps.push(Step::Raw(chunk(model, delta, None)));
        }
    }
    let finish = if d.tools.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    steps.push(Step::Raw(chunk(model, json!({}), Some(finish))));
    if !d.no_usage {
        let usage = json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [], "usage": {"prompt_tokens": prompt_tokens(body), "completion_tokens": count},
        });
        steps.push(Step::Raw(Bytes::from(format!("data: {usage}\n\n"))));
    }
    steps.push(Step::Raw(Bytes::from_static(b"data: [DONE]\n\n")));
    steps
}

#[cfg(test)]
mod model_tests {
    #[test]
    fn each_model_reads_its_own_part() {
        let text = "common [[model:a]] for a [[model:b]] for b";
        assert_eq!(super::for_model(text, "a"), "common  for a ");
        assert_eq!(super::for_model(text, "b"), "common  for b");
        assert_eq!(super::for_model(text, "c"), "common ");
        assert_eq!(super::for_model("plain", "a"), "plain");
    }
}
