//! opencode's permission requests through boocode's permission flow: `permission.asked` becomes a
//! permission request (options named as ACP names them, so the UI treats every agent alike), and the
//! user's answer goes back with `POST /permission/{id}/reply`. Questions from opencode's `question` tool
//! take the same path, one request per question with its choices as options, so a turn never waits on
//! a question nobody can see.

use std::path::PathBuf;
use std::sync::Arc;

use boocode_protocol::PermissionKind;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::server::OpencodeServer;
use crate::backend::{PermissionAnswer, PermissionAsk, PermissionChoice, TurnContext};

/// opencode's `permission.asked` as boocode's permission request (options as ACP names them).
fn permission_ask(p: &Value) -> PermissionAsk {
    let kind = p["permission"].as_str().unwrap_or("permission");
    let patterns: Vec<&str> = p["patterns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let title = if patterns.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind} {}", patterns.join(", "))
    };
    let choice = |id: &str, name: &str, kind: PermissionKind| PermissionChoice {
        option_id: id.into(),
        name: name.into(),
        kind,
    };
    PermissionAsk {
        tool_call: json!({
            "toolCallId": p.pointer("/tool/callID").cloned().unwrap_or(Value::Null),
            "title": title,
            "kind": match kind { "edit" => "edit", "bash" => "execute", "webfetch" => "fetch", _ => "other" },
            "rawInput": p.get("metadata").cloned().unwrap_or(Value::Null),
        }),
        options: vec![
            choice("once", "Allow once", PermissionKind::AllowOnce),
            choice("always", "Always allow", PermissionKind::AllowAlways),
            choice("reject", "Reject", PermissionKind::RejectOnce),
        ],
    }
}

/// Runs `answer` (which asks the user) off the turn's loop, then POSTs what it returns to opencode;
/// tells the turn when done so its watchdog resumes.
fn relay<F, Fut>(
    server: Arc<OpencodeServer>,
    dir: PathBuf,
    asked: Value,
    done: mpsc::UnboundedSender<()>,
    answer: F,
) where
    F: FnOnce(String, Value) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = (String, Option<Value>)> + Send,
{
    tokio::spawn(async move {
        if let Some(id) = asked["id"].as_str().map(str::to_owned) {
            let (path, body) = answer(id.clone(), asked).await;
            if let Err(e) = server
                .call(reqwest::Method::POST, &path, Some(&dir), body.as_ref())
                .await
            {
                tracing::warn!("answering opencode's request {id} failed: {e}");
            }
        }
        let _ = done.send(());
    });
}

/// A permission request: the chosen option is opencode's reply (`once`, `always`, `reject`).
pub(crate) fn relay_permission(
    server: Arc<OpencodeServer>,
    dir: PathBuf,
    ctx: TurnContext,
    asked: Value,
    done: mpsc::UnboundedSender<()>,
) {
    relay(server, dir, asked, done, |id, asked| async move {
        let reply = match ctx.ask_permission(permission_ask(&asked)).await {
            PermissionAnswer::Selected(option) => option,
            PermissionAnswer::Cancelled => "reject".to_owned(),
        };
        (
            format!("/permission/{id}/reply"),
            Some(json!({"reply": reply})),
        )
    });
}

/// One question of `question.asked` as a permission request: its choices, plus a way to dismiss it.
fn question_ask(asked: &Value, q: &Value) -> PermissionAsk {
    let mut options: Vec<PermissionChoice> = q["options"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, o)| {
            Some(PermissionChoice {
                option_id: format!("choice-{i}"),
                name: o["label"].as_str()?.to_owned(),
                kind: PermissionKind::AllowOnce,
            })
        })
        .collect();
    options.push(PermissionChoice {
        option_id: "dismiss".into(),
        name: "Dismiss".into(),
        kind: PermissionKind::RejectOnce,
    });
    PermissionAsk {
        tool_call: json!({
            "toolCallId": asked.pointer("/tool/callID").cloned().unwrap_or(Value::Null),
            "title": q["question"].as_str().unwrap_or("opencode asks"),
            "kind": "other",
            "rawInput": q,
        }),
        options,
    }
}

/// Asks each question in turn; all answered → `POST /question/{id}/reply`, any dismissed →
/// `POST /question/{id}/reject` (the tool then fails and the model carries on).
pub(crate) fn relay_question(
    server: Arc<OpencodeServer>,
    dir: PathBuf,
    ctx: TurnContext,
    asked: Value,
    done: mpsc::UnboundedSender<()>,
) {
    relay(server, dir, asked, done, |id, asked| async move {
        let mut answers = Vec::new();
        for q in asked["questions"].as_array().into_iter().flatten() {
            let ask = question_ask(&asked, q);
            let chosen = match ctx.ask_permission(ask.clone()).await {
                PermissionAnswer::Selected(option) => ask
                    .options
                    .iter()
                    .find(|o| o.option_id == option && o.kind == PermissionKind::AllowOnce)
                    .map(|o| o.name.clone()),
                PermissionAnswer::Cancelled => None,
            };
            match chosen {
                Some(label) => answers.push(vec![label]),
                None => {
                    answers.clear();
                    break;
                }
            }
        }
        if answers.is_empty() {
            (format!("/question/{id}/reject"), None)
        } else {
            (
                format!("/question/{id}/reply"),
                Some(json!({"answers": answers})),
            )
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_offer_their_choices_and_a_dismissal() {
        let q =
            json!({"question": "Which file?", "options": [{"label": "a.rs"}, {"label": "b.rs"}]});
        let ask = question_ask(&json!({"id": "que_1"}), &q);
        assert_eq!(ask.tool_call["title"], "Which file?");
        let names: Vec<&str> = ask.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["a.rs", "b.rs", "Dismiss"]);
        assert_eq!(ask.deny(), PermissionAnswer::Selected("dismiss".into()));
    }

    #[test]
    fn permission_requests_offer_once_always_and_reject() {
        let ask = permission_ask(
            &json!({"id": "per_1", "permission": "edit", "patterns": ["f.txt"],
            "metadata": {"filepath": "/w/f.txt"}, "tool": {"callID": "call_0"}}),
        );
        assert_eq!(ask.tool_call["title"], "edit f.txt");
        assert_eq!(ask.tool_call["toolCallId"], "call_0");
        let kinds: Vec<&str> = ask.options.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["allow_once", "allow_always", "reject_once"]);
        assert_eq!(ask.deny(), PermissionAnswer::Selected("reject".into()));
    }
}
