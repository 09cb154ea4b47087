//! Chats you can find, branch and tune, over HTTP against a real server, on SQLite and (when
//! `BOOCODE_TEST_DATABASE_URL` is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Kit, kits};
use serde_json::{Value, json};

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The `messages` of the last chat request fakellm received, as (role, content).
fn last_request(kit: &Kit) -> Vec<(String, String)> {
    let requests = kit.fake.requests();
    let req = requests
        .iter()
        .rev()
        .find(|r| r.stream)
        .expect("a streamed request");
    req.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn search_finds_text_and_titles_and_forgets_deleted_chats() {
    for kit in kits("the PostgreSQL half of the chat branch tests").await {
        let (_, sid, cid) = kit.seed(Some("fake-model")).await;
        let (_, a) = kit
            .post(&cid, "[[reply:The flibbertigibbet lives in config.toml]]")
            .await;
        kit.wait_done(&cid, &a).await;
        // A second chat, named by hand, whose tab is then closed: it is still found.
        let other = kit
            .ok(
                "POST",
                &format!("/api/sessions/{sid}/chats"),
                Some(json!({"name": "Gizmoplex notes"})),
            )
            .await;
        let oid = other["id"].as_str().unwrap();
        kit.ok(
            "PATCH",
            &format!("/api/chats/{oid}"),
            Some(json!({"status": "closed"})),
        )
        .await;

        let found = kit
            .ok(
                "GET",
                &format!("/api/chats?q=flibbertigib&session_id={sid}"),
                None,
            )
            .await;
        let found = found.as_array().unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["chat"]["id"], cid.as_str());
        let hit: String = found[0]["snippet"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["hit"] == true)
            .map(|p| p["text"].as_str().unwrap())
            .collect();
        assert_eq!(hit.to_lowercase(), "flibbertigibbet");

        let by_title = kit
            .ok(
                "GET",
                &format!("/api/chats?q=gizmoplex&session_id={sid}"),
                None,
            )
            .await;
        assert_eq!(
            ids(&by_title
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["chat"].clone())
                .collect()),
            [oid]
        );
        // The whole list: both, newest first.
        let listed = kit
            .ok("GET", &format!("/api/chats?session_id={sid}"), None)
            .await;
        assert_eq!(listed.as_array().unwrap().len(), 2);
        assert_eq!(listed[0]["chat"]["id"], oid);

        // Query syntax is text, never an error.
        for q in [
            "%22",
            "*",
            "a%3Ab%20OR%20(",
            "NEAR(x",
            "%27%3B--",
            "%25",
            "_",
        ] {
            let (status, v) = kit
                .call("GET", &format!("/api/chats?q={q}&session_id={sid}"), None)
                .await;
            assert_eq!(status, 200, "{q}: {v}");
        }
        let (status, v) = kit.call("GET", "/api/chats?archived=maybe", None).await;
        assert_eq!(status, 400, "{v}");

        kit.ok("DELETE", &format!("/api/chats/{cid}"), None).await;
        let gone = kit
            .ok(
                "GET",
                &format!("/api/chats?q=flibbertigibbet&session_id={sid}"),
                None,
            )
            .await;
        assert!(gone.as_array().unwrap().is_empty(), "{gone}");
    }
}

#[tokio::test]
async fn regenerate_and_edit_make_siblings_and_send_only_the_active_path() {
    for kit in kits("the PostgreSQL half of the chat branch tests").await {
        let (_, _, cid) = kit.seed(Some("fake-model")).await;
        let (u1, a1) = kit.post(&cid, "[[reply:first answer]] question one").await;
        kit.wait_done(&cid, &a1).await;
        let (u2, a2) = kit.post(&cid, "[[reply:second answer]] question two").await;
        kit.wait_done(&cid, &a2).await;

        // Regenerate the second reply with another model: a sibling under u2, now active.
        let r = kit
            .ok(
                "POST",
                &format!("/api/messages/{a2}/regenerate"),
                Some(json!({"model": "fake-model-2"})),
            )
            .await;
        let a2b = r["assistant_message_id"].as_str().unwrap().to_owned();
        let done = kit.wait_done(&cid, &a2b).await;
        assert_eq!(done["status"], "complete", "{done}");
        assert_eq!(done["parent_id"], u2.as_str());
        assert_eq!(done["model"], "fake-model-2");
        assert_eq!(kit.fake.requests().last().unwrap().model, "fake-model-2");
        let sent = last_request(&kit);
        assert_eq!(
            sent.iter().filter(|(r, _)| r == "assistant").count(),
            1,
            "{sent:?}"
        );
        assert!(!sent.iter().any(|(_, c)| c == "second answer"), "{sent:?}");
        let path = kit
            .ok("GET", &format!("/api/chats/{cid}/messages"), None)
            .await;
        assert_eq!(
            ids(&path),
            [u1.clone(), a1.clone(), u2.clone(), a2b.clone()]
        );

        // Edit the first question: a new user message under its parent (none), so a new branch.
        let edited = kit
            .ok(
                "POST",
                &format!("/api/chats/{cid}/messages"),
                Some(json!({"content": "[[reply:edited answer]] question one, better", "parent_id": null})),
            )
            .await;
        let (eu, ea) = (
            edited["user_message_id"].as_str().unwrap().to_owned(),
            edited["assistant_message_id"].as_str().unwrap().to_owned(),
        );
        kit.wait_done(&cid, &ea).await;
        let sent = last_request(&kit);
        assert_eq!(
            sent.len(),
            1,
            "an edit of the first message sends only itself: {sent:?}"
        );
        let path = kit
            .ok("GET", &format!("/api/chats/{cid}/messages"), None)
            .await;
        assert_eq!(ids(&path), [eu.clone(), ea.clone()]);
        let tree = kit
            .ok("GET", &format!("/api/chats/{cid}/messages?tree=1"), None)
            .await;
        assert_eq!(tree.as_array().unwrap().len(), 7);

        // Back to the first branch through its root: it lands on the newest leaf there (a2b).
        let chat = kit
            .ok(
                "PATCH",
                &format!("/api/chats/{cid}"),
                Some(json!({"active_leaf_id": u1})),
            )
            .await;
        assert_eq!(chat["active_leaf_id"], a2b.as_str());
        // A follow-up continues that branch.
        let (u3, a3) = kit.post(&cid, "[[reply:third]] question three").await;
        kit.wait_done(&cid, &a3).await;
        let sent: Vec<String> = last_request(&kit).into_iter().map(|(_, c)| c).collect();
        assert_eq!(sent.len(), 5, "{sent:?}");
        assert_eq!(
            sent[3], "second answer",
            "the regenerated reply, not the first: {sent:?}"
        );
        let path = kit
            .ok("GET", &format!("/api/chats/{cid}/messages"), None)
            .await;
        assert_eq!(
            ids(&path),
            [u1.clone(), a1.clone(), u2.clone(), a2b.clone(), u3, a3]
        );

        // Fork at a1: a new chat with just the first exchange.
        let fork = kit
            .ok("POST", &format!("/api/messages/{a1}/fork"), None)
            .await;
        let fid = fork["chat"]["id"].as_str().unwrap();
        let forked = kit
            .ok("GET", &format!("/api/chats/{fid}/messages"), None)
            .await;
        let contents: Vec<&str> = forked
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        assert_eq!(contents.len(), 2);
        assert_eq!(contents[1], "first answer");
    }
}

#[tokio::test]
async fn bad_parents_and_settings_are_clear_errors_and_change_nothing() {
    for kit in kits("the PostgreSQL half of the chat branch tests").await {
        let (_, sid, cid) = kit.seed(Some("fake-model")).await;
        let (u1, a1) = kit.post(&cid, "[[reply:ok]] hi").await;
        kit.wait_done(&cid, &a1).await;
        let other = kit
            .ok(
                "POST",
                &format!("/api/sessions/{sid}/chats"),
                Some(json!({})),
            )
            .await;
        let oid = other["id"].as_str().unwrap();
        let (_, oa) = kit.post(oid, "[[reply:elsewhere]] x").await;
        kit.wait_done(oid, &oa).await;
        let before = kit
            .ok("GET", &format!("/api/chats/{cid}/messages?tree=1"), None)
            .await;

        let post = |parent: Value| {
            let kit = &kit;
            let cid = cid.clone();
            async move {
                kit.call(
                    "POST",
                    &format!("/api/chats/{cid}/messages"),
                    Some(json!({"content": "x", "parent_id": parent})),
                )
                .await
            }
        };
        let (status, v) = post(json!("0190-not-a-message")).await;
        assert_eq!(status, 404, "{v}");
        let (status, v) = post(json!(oa)).await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("another chat"),
            "{v}"
        );
        let (status, v) = post(json!(u1)).await;
        assert_eq!(status, 400, "{v}");
        let (status, v) = kit
            .call(
                "PATCH",
                &format!("/api/chats/{cid}"),
                Some(json!({"params": {"temperature": 9}})),
            )
            .await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("temperature"),
            "{v}"
        );
        let (status, _) = kit
            .call(
                "PATCH",
                &format!("/api/chats/{cid}"),
                Some(json!({"params": {"temprature": 1}})),
            )
            .await;
        assert_eq!(status, 400);
        let (status, _) = kit
            .call(
                "PATCH",
                &format!("/api/chats/{cid}"),
                Some(json!({"active_leaf_id": oa})),
            )
            .await;
        assert_eq!(status, 400);
        let (status, _) = kit
            .call("GET", &format!("/api/chats/{cid}/messages?tree=2"), None)
            .await;
        assert_eq!(status, 400);
        let (status, _) = kit
            .call("POST", "/api/messages/nope/regenerate", None)
            .await;
        assert_eq!(status, 404);

        let after = kit
            .ok("GET", &format!("/api/chats/{cid}/messages?tree=1"), None)
            .await;
        assert_eq!(before, after);
        let chat = kit.ok("GET", &format!("/api/chats/{cid}"), None).await;
        assert_eq!(chat["active_leaf_id"], a1.as_str());
        assert_eq!(chat["params"], json!({}));
    }
}

#[tokio::test]
async fn chat_settings_reach_the_model_server() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let chat = kit
        .ok(
            "PATCH",
            &format!("/api/chats/{cid}"),
            Some(json!({
                "model": "fake-model-2",
                "system_prompt": "You are terse.",
                "params": {"temperature": 0.25, "max_tokens": 64, "seed": 1234, "top_k": 20,
                           "min_p": 0.05, "stop": ["END"], "reasoning_effort": "none"}
            })),
        )
        .await;
    assert_eq!(chat["system_prompt"], "You are terse.");
    let (_, a) = kit.post(&cid, "[[reply:ok]] hello").await;
    let done = kit.wait_done(&cid, &a).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["model"], "fake-model-2");
    assert!(done["duration_ms"].as_u64().is_some(), "{done}");
    assert!(done["ttft_ms"].as_u64().is_some(), "{done}");
    let requests = kit.fake.requests();
    let body = &requests.iter().rev().find(|r| r.stream).unwrap().body;
    assert_eq!(body["model"], "fake-model-2");
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(body["temperature"], 0.25);
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["seed"], 1234);
    assert_eq!(body["top_k"], 20);
    assert_eq!(body["min_p"], 0.05);
    assert_eq!(body["stop"], json!(["END"]));
    assert_eq!(body["reasoning_effort"], "none");
    assert_eq!(
        body["chat_template_kwargs"],
        json!({"enable_thinking": false})
    );
    assert_eq!(body["stream"], true);
    // Cleared again: nothing of it is sent.
    kit.ok(
        "PATCH",
        &format!("/api/chats/{cid}"),
        Some(json!({"system_prompt": "", "params": {}, "model": ""})),
    )
    .await;
    let (_, a) = kit.post(&cid, "[[reply:ok]] again").await;
    kit.wait_done(&cid, &a).await;
    let requests = kit.fake.requests();
    let body = &requests.iter().rev().find(|r| r.stream).unwrap().body;
    assert_eq!(body["model"], "fake-model");
    assert_ne!(body["messages"][0]["role"], "system");
    assert!(
        body.get("seed").is_none() && body.get("temperature").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn export_and_import_round_trip_a_branched_chat_and_bring_open_webui_history() {
    for kit in kits("the PostgreSQL half of the chat branch tests").await {
        let (_, sid, cid) = kit.seed(Some("fake-model")).await;
        let (_, a1) = kit.post(&cid, "[[reply:one]] first").await;
        kit.wait_done(&cid, &a1).await;
        let r = kit
            .ok("POST", &format!("/api/messages/{a1}/regenerate"), None)
            .await;
        kit.wait_done(&cid, r["assistant_message_id"].as_str().unwrap())
            .await;
        kit.ok(
            "PATCH",
            &format!("/api/chats/{cid}"),
            Some(json!({"name": "Branchy", "system_prompt": "Be kind.", "params": {"seed": 5}})),
        )
        .await;

        let resp = kit
            .http
            .get(format!("{}/api/chats/{cid}/export?format=md", kit.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("Branchy.md")
        );
        let md = resp.text().await.unwrap();
        assert!(
            md.starts_with("# Branchy") && md.contains("Be kind.") && md.contains("one"),
            "{md}"
        );

        let export = kit
            .ok("GET", &format!("/api/chats/{cid}/export?format=json"), None)
            .await;
        assert_eq!(export["messages"].as_array().unwrap().len(), 3);
        let imported = kit
            .ok(
                "POST",
                &format!("/api/chats/import?session_id={sid}"),
                Some(export.clone()),
            )
            .await;
        let nid = imported["chats"][0]["id"].as_str().unwrap().to_owned();
        assert_ne!(nid, cid);
        let again = kit
            .ok("GET", &format!("/api/chats/{nid}/export?format=json"), None)
            .await;
        for key in ["name", "system_prompt", "params", "kind"] {
            assert_eq!(again[key], export[key], "{key}");
        }
        let shape = |e: &Value| {
            let msgs = e["messages"].as_array().unwrap();
            let index: std::collections::HashMap<&str, usize> = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| (m["id"].as_str().unwrap(), i))
                .collect();
            msgs.iter()
                .map(|m| {
                    (
                        m["role"].as_str().unwrap().to_owned(),
                        m["content"].as_str().unwrap().to_owned(),
                        m["parent_id"].as_str().map(|p| index[p]),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(&again), shape(&export));
        let path = kit
            .ok("GET", &format!("/api/chats/{nid}/messages"), None)
            .await;
        assert_eq!(path.as_array().unwrap().len(), 2);

        // Open WebUI's export: messages in order, the current branch shown.
        let owui: Value =
            serde_json::from_str(include_str!("fixtures/open-webui-export.json")).unwrap();
        let imported = kit
            .ok(
                "POST",
                &format!("/api/chats/import?session_id={sid}"),
                Some(owui),
            )
            .await;
        let chat = &imported["chats"][0];
        assert_eq!(chat["name"], "Borrow checker and closures");
        assert_eq!(chat["model"], "qwen2.5-coder:7b");
        let oid = chat["id"].as_str().unwrap();
        let path = kit
            .ok("GET", &format!("/api/chats/{oid}/messages"), None)
            .await;
        let roles: Vec<&str> = path
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
        assert_eq!(path[1]["tokens_completion"], 22);
        assert!(path[3]["content"].as_str().unwrap().contains("let count"));
        let found = kit
            .ok(
                "GET",
                &format!("/api/chats?q=borrow&session_id={sid}"),
                None,
            )
            .await;
        assert!(
            found
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["chat"]["id"] == oid)
        );

        // Not what it claims: 400, and nothing new stored.
        let before = kit
            .ok("GET", &format!("/api/chats?session_id={sid}"), None)
            .await;
        for bad in [
            json!({"hello": "world"}),
            json!([{"title": "x", "chat": {"history": {"messages": {"a": {"id": "a", "parentId": "gone", "role": "user", "content": "hi"}}}}}]),
            json!({"format": "boocode.chat.v1", "name": "broken"}),
        ] {
            let (status, v) = kit
                .call(
                    "POST",
                    &format!("/api/chats/import?session_id={sid}"),
                    Some(bad),
                )
                .await;
            assert_eq!(status, 400, "{v}");
        }
        let (status, _) = kit
            .call("POST", "/api/chats/import?session_id=nope", Some(json!([])))
            .await;
        assert_eq!(status, 404);
        let (status, _) = kit
            .call("GET", &format!("/api/chats/{cid}/export?format=pdf"), None)
            .await;
        assert_eq!(status, 400);
        let after = kit
            .ok("GET", &format!("/api/chats?session_id={sid}"), None)
            .await;
        assert_eq!(before, after);
    }
}

#[tokio::test]
async fn compare_gives_sibling_replies_loaded_model_first_under_llama_swap() {
    let options = boocode_fakellm::FakeOptions {
        swap_delay: Some(std::time::Duration::from_millis(150)),
        ..Default::default()
    };
    let kit = Kit::start_with_llm(options, |_| {}).await;
    let (_, _, cid) = kit.seed(Some("fake-model-2")).await;
    // Load fake-model-2 first.
    let (_, warm) = kit.post(&cid, "[[reply:warm]] hi").await;
    kit.wait_done(&cid, &warm).await;
    let swaps_before = kit.fake.swaps();

    let r = kit
        .ok(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(json!({"content": "[[reply:compared]] which is better?", "models": ["fake-model", "fake-model-2"]})),
        )
        .await;
    let user = r["user_message_id"].as_str().unwrap();
    let ids: Vec<String> = r["assistant_message_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    let mut models = Vec::new();
    for id in &ids {
        let m = kit.wait_done(&cid, id).await;
        assert_eq!(m["status"], "complete", "{m}");
        assert_eq!(m["parent_id"], user);
        assert_eq!(m["compared"], true);
        models.push(m["model"].as_str().unwrap().to_owned());
    }
    // The loaded model answers first; one swap for the other, none back.
    assert_eq!(models, ["fake-model-2", "fake-model"]);
    let streamed: Vec<String> = kit
        .fake
        .requests()
        .iter()
        .filter(|r| r.stream)
        .map(|r| r.model.clone())
        .collect();
    assert_eq!(
        &streamed[streamed.len() - 2..],
        ["fake-model-2", "fake-model"]
    );
    assert_eq!(kit.fake.swaps() - swaps_before, 1);
    let tree = kit
        .ok("GET", &format!("/api/chats/{cid}/messages?tree=1"), None)
        .await;
    let siblings = tree
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["parent_id"] == user)
        .count();
    assert_eq!(siblings, 2);

    // Bad requests: too few, too many, twice the same.
    for models in [
        json!(["fake-model"]),
        json!(["a", "b", "c", "d", "e"]),
        json!(["a", "a"]),
    ] {
        let (status, v) = kit
            .call(
                "POST",
                &format!("/api/chats/{cid}/messages"),
                Some(json!({"content": "x", "models": models})),
            )
            .await;
        assert_eq!(status, 400, "{v}");
    }
}

#[tokio::test]
async fn compare_streams_at_once_without_llama_swap() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let r = kit
        .ok(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(json!({"content": "[[tokens:60]] [[delay_ms:10]] go", "models": ["fake-model", "fake-model-2"]})),
        )
        .await;
    let ids: Vec<String> = r["assistant_message_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    // Both are streaming at the same moment.
    let mut both = false;
    for _ in 0..200 {
        let tree = kit
            .ok("GET", &format!("/api/chats/{cid}/messages?tree=1"), None)
            .await;
        let partial = tree
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| ids.contains(&m["id"].as_str().unwrap().to_owned()))
            .filter(|m| m["status"] == "streaming" && !m["content"].as_str().unwrap().is_empty())
            .count();
        if partial == 2 {
            both = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(both, "the two replies never streamed at the same time");
    for id in &ids {
        assert_eq!(kit.wait_done(&cid, id).await["status"], "complete");
    }
}

#[tokio::test]
async fn a_stopped_reply_continues_from_its_text_as_a_new_branch() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let (u, a) = kit
        .post(&cid, "[[tokens:400]] [[delay_ms:5]] tell a long story")
        .await;
    for _ in 0..200 {
        let m = kit
            .ok("GET", &format!("/api/chats/{cid}/messages"), None)
            .await;
        if m[1]["content"]
            .as_str()
            .is_some_and(|c| c.contains("tok20 "))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    kit.ok("POST", &format!("/api/chats/{cid}/stop"), None)
        .await;
    let cut = kit.wait_done(&cid, &a).await;
    assert_eq!(cut["status"], "cancelled");
    let partial = cut["content"].as_str().unwrap().to_owned();

    let r = kit
        .ok("POST", &format!("/api/messages/{a}/continue"), None)
        .await;
    let b = r["assistant_message_id"].as_str().unwrap();
    let done = kit.wait_done(&cid, b).await;
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["parent_id"], u.as_str());
    let text = done["content"].as_str().unwrap();
    assert!(
        text.starts_with(&partial) && text.len() > partial.len(),
        "continued from the cut"
    );
    let requests = kit.fake.requests();
    let sent = requests.iter().rev().find(|r| r.stream).unwrap();
    let last = sent.body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "assistant");
    assert_eq!(last["content"], partial.as_str());
    // The cut reply stays as the other branch.
    let tree = kit
        .ok("GET", &format!("/api/chats/{cid}/messages?tree=1"), None)
        .await;
    assert_eq!(tree.as_array().unwrap().len(), 3);
    let (status, _) = kit
        .call("POST", &format!("/api/messages/{u}/continue"), None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_global_default_model_set_from_the_ui_is_used_and_can_be_cleared() {
    // Started with --default-model fake-model; a session and chat that name no model.
    let kit = Kit::start_with(None, |c| c.default_model = Some("fake-model".into())).await;
    let (_, _, cid) = kit.seed(None).await;
    let s = kit.ok("GET", "/api/settings", None).await;
    assert_eq!(
        s,
        json!({"default_model": null, "configured_default_model": "fake-model"})
    );
    let s = kit
        .ok(
            "PATCH",
            "/api/settings",
            Some(json!({"default_model": "fake-model-2"})),
        )
        .await;
    assert_eq!(s["default_model"], "fake-model-2");
    let (_, a) = kit.post(&cid, "[[reply:ok]] hi").await;
    assert_eq!(kit.wait_done(&cid, &a).await["model"], "fake-model-2");
    // Cleared: back to --default-model.
    kit.ok("PATCH", "/api/settings", Some(json!({"default_model": ""})))
        .await;
    let (_, a) = kit.post(&cid, "[[reply:ok]] again").await;
    assert_eq!(kit.wait_done(&cid, &a).await["model"], "fake-model");
    let (status, _) = kit
        .call(
            "PATCH",
            "/api/settings",
            Some(json!({"default_modle": "x"})),
        )
        .await;
    assert_eq!(status, 400);
}
