//! Chat end to end: the real server on port 0, a temp data dir, fakellm, real WebSockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn streamed_reply_frames_in_order_and_persisted() {
    let kit = Kit::start().await;
    let (_, sid, cid) = kit.seed(Some("fake-model")).await;
    let mut ws = kit.ws(&sid, Some(0)).await;
    let (uid, aid) = kit
        .post(
            &cid,
            "hello [[reply:Hi there friend]] [[reasoning:let me think]]",
        )
        .await;
    let frames = frames_until(&mut ws, is_complete_of(&aid)).await;
    let s = seqs(&frames);
    assert_eq!(
        s,
        (1..=s.len() as u64).collect::<Vec<_>>(),
        "contiguous seq from 1"
    );
    assert!(frames.iter().all(|f| f["session_id"] == sid.as_str()));
    let types: Vec<&str> = frames
        .iter()
        .filter(|f| f["message_id"] == aid.as_str())
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"message_started"));
    assert_eq!(types.last(), Some(&"message_complete"));
    assert!(types.contains(&"reasoning_delta") && types.contains(&"delta"));
    // The user's message is framed too, before the reply.
    assert!(
        frames
            .iter()
            .any(|f| f["type"] == "message_started" && f["message_id"] == uid.as_str())
    );
    let text: String = frames
        .iter()
        .filter(|f| f["type"] == "delta" && f["message_id"] == aid.as_str())
        .map(|f| f["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "Hi there friend");
    let done = frames.last().unwrap();
    assert_eq!(done["status"], "complete");
    assert_eq!(done["usage"]["context_limit"], 32768);
    assert!(done["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let m = kit.wait_done(&cid, &aid).await;
    assert_eq!(
        (m["content"].as_str(), m["reasoning"].as_str()),
        (Some("Hi there friend"), Some("let me think"))
    );
    assert_eq!(m["model"], "fake-model");
    assert!(m["tokens_completion"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn restart_keeps_messages_and_replay_is_exact() {
    let mut kit = Kit::start().await;
    let (_, sid, cid) = kit.seed(Some("fake-model")).await;
    let mut ws = kit.ws(&sid, Some(0)).await;
    let (_, aid) = kit.post(&cid, "[[tokens:20]]").await;
    let mut all = frames_until(&mut ws, is_complete_of(&aid)).await;
    // Auto-naming follows the first reply with a chat_updated frame.
    all.extend(frames_until(&mut ws, |f| f["type"] == "chat_updated").await);
    drop(ws);
    kit.restart().await;
    let msgs = kit
        .ok("GET", &format!("/api/chats/{cid}/messages"), None)
        .await;
    assert_eq!(msgs.as_array().unwrap().len(), 2);
    assert_eq!(msgs[1]["status"], "complete");
    let session = kit.ok("GET", &format!("/api/sessions/{sid}"), None).await;
    let last = all.last().unwrap()["seq"].as_u64().unwrap();
    assert_eq!(session["last_seq"].as_u64(), Some(last));
    // Reconnect having seen only the first 5 frames: exactly the rest, byte-identical, none twice.
    let mut ws = kit.ws(&sid, Some(5)).await;
    let replay = frames_for(&mut ws, Duration::from_millis(400)).await;
    assert_eq!(replay, all[5..].to_vec());
    // New frames continue the numbering after a restart.
    let (_, aid2) = kit.post(&cid, "again").await;
    let more = frames_until(&mut ws, is_complete_of(&aid2)).await;
    assert_eq!(more[0]["seq"].as_u64(), Some(last + 1));
}

#[tokio::test]
async fn reconnect_mid_stream_gets_exactly_the_gap() {
    let kit = Kit::start().await;
    let (_, sid, cid) = kit.seed(Some("fake-model")).await;
    let mut first = kit.ws(&sid, Some(0)).await;
    let (_, aid) = kit.post(&cid, "[[tokens:60]] [[delay_ms:10]]").await;
    let seen = frames_until(&mut first, |f| f["seq"] == 10).await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut second = kit.ws(&sid, Some(10)).await;
    let rest = frames_until(&mut second, is_complete_of(&aid)).await;
    let mut all = seqs(&seen);
    all.extend(seqs(&rest));
    assert_eq!(all, (1..=all.len() as u64).collect::<Vec<_>>());
    let live_only = kit.ws(&sid, None).await;
    drop(live_only);
}

#[tokio::test]
async fn resync_when_since_is_not_retained_or_in_the_future() {
    let kit = Kit::start().await;
    let (_, sid, _) = kit.seed(None).await;
    let mut ws = kit.ws(&sid, Some(99)).await;
    let frames = frames_for(&mut ws, Duration::from_millis(300)).await;
    assert_eq!(frames, vec![json!({"type": "resync"})]);
}

#[tokio::test]
async fn stop_keeps_partial_text_and_aborts_upstream() {
    let kit = Kit::start().await;
    let (_, sid, cid) = kit.seed(Some("fake-model")).await;
    let mut ws = kit.ws(&sid, Some(0)).await;
    let (_, aid) = kit.post(&cid, "[[tokens:2000]] [[delay_ms:5]]").await;
    frames_until(&mut ws, |f| f["type"] == "delta" && f["content"] == "tok5 ").await;
    let stopped = kit
        .ok("POST", &format!("/api/chats/{cid}/stop"), None)
        .await;
    assert_eq!(stopped, json!({"stopped": true}));
    let frames = frames_until(&mut ws, is_complete_of(&aid)).await;
    assert_eq!(frames.last().unwrap()["status"], "cancelled");
    let m = kit.wait_done(&cid, &aid).await;
    assert_eq!(m["status"], "cancelled");
    let content = m["content"].as_str().unwrap();
    assert!(
        content.starts_with("tok0 tok1 tok2 tok3 tok4 tok5 "),
        "{content}"
    );
    assert!(!content.contains("tok1999"));
    for _ in 0..50 {
        if kit
            .fake
            .requests()
            .iter()
            .any(|r| r.stream && r.disconnected)
        {
            let idle = kit
                .ok("POST", &format!("/api/chats/{cid}/stop"), None)
                .await;
            assert_eq!(idle, json!({"stopped": false}));
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("upstream request was not aborted");
}

#[tokio::test]
async fn model_server_down_gives_message_error() {
    let kit = Kit::start_with(None, |c| c.llm_url = "http://127.0.0.1:9/v1".into()).await;
    let (_, sid, cid) = kit.seed(Some("fake-model")).await;
    let mut ws = kit.ws(&sid, Some(0)).await;
    let (_, aid) = kit.post(&cid, "hello").await;
    let frames = frames_until(&mut ws, is_complete_of(&aid)).await;
    let last = frames.last().unwrap();
    assert_eq!(last["type"], "message_error");
    assert!(
        last["error"].as_str().unwrap().contains("unreachable"),
        "{last}"
    );
    let m = kit.wait_done(&cid, &aid).await;
    assert_eq!(m["status"], "error");
    assert!(m["error"].as_str().unwrap().contains("unreachable"));
    // The user's message is kept.
    let msgs = kit
        .ok("GET", &format!("/api/chats/{cid}/messages"), None)
        .await;
    assert_eq!(msgs[0]["content"], "hello");
}

#[tokio::test]
async fn upstream_failures_are_readable_errors() {
    let kit = Kit::start().await;
    let cases = [
        (Some("no-such-model"), "hi", "no-such-model"),
        (Some("fake-model"), "[[fail:500]]", "500"),
        (Some("fake-model"), "[[garbage]]", "malformed"),
        (Some("fake-model"), "[[invalid_utf8]]", "UTF-8"),
        (
            Some("fake-model"),
            "[[stream_error]]",
            "scripted stream error",
        ),
        (Some("fake-model"), "[[drop_after:3]]", "cut off"),
    ];
    for (model, prompt, needle) in cases {
        let (_, _, cid) = kit.seed(model).await;
        let (_, aid) = kit.post(&cid, prompt).await;
        let m = kit.wait_done(&cid, &aid).await;
        assert_eq!(m["status"], "error", "{prompt}");
        let err = m["error"].as_str().unwrap();
        assert!(err.contains(needle), "{prompt}: {err}");
    }
}

#[tokio::test]
async fn auto_naming_fires_once_with_the_sessions_model() {
    let kit = Kit::start().await;
    let (_, sid, cid) = kit.seed(Some("fake-model-2")).await;
    let mut ws = kit.ws(&sid, Some(0)).await;
    let (_, aid) = kit
        .post(&cid, "[[title:\"Fake Title Here.\"]] first question")
        .await;
    frames_until(&mut ws, is_complete_of(&aid)).await;
    let updated = frames_until(&mut ws, |f| f["type"] == "chat_updated").await;
    assert_eq!(updated.last().unwrap()["chat"]["name"], "Fake Title Here");
    let chat = kit.ok("GET", &format!("/api/chats/{cid}"), None).await;
    assert_eq!(chat["name"], "Fake Title Here");
    let (_, aid2) = kit.post(&cid, "[[title:Other]] second").await;
    kit.wait_done(&cid, &aid2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let titles: Vec<_> = kit
        .fake
        .requests()
        .into_iter()
        .filter(|r| !r.stream)
        .collect();
    assert_eq!(titles.len(), 1, "auto-naming must fire once");
    let t = &titles[0];
    assert_eq!(t.model, "fake-model-2");
    assert_eq!(t.body["max_tokens"], 30);
    assert_eq!(t.body["temperature"], 0.3);
    assert_eq!(t.body["reasoning_effort"], "none");
    assert_eq!(
        kit.ok("GET", &format!("/api/chats/{cid}"), None).await["name"],
        "Fake Title Here"
    );
}

#[tokio::test]
async fn auto_naming_never_loads_another_model() {
    // fakellm says fake-model is loaded and fake-model-2 is not: the session prefers fake-model-2, but
    // this turn was answered by fake-model, so the title must not ask for fake-model-2.
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model-2")).await;
    let (status, sent) = kit
        .call(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(json!({"content": "[[title:Loaded]] hi", "model": "fake-model"})),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    for _ in 0..100 {
        if kit.ok("GET", &format!("/api/chats/{cid}"), None).await["name"] == "Loaded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let titles: Vec<_> = kit
        .fake
        .requests()
        .into_iter()
        .filter(|r| !r.stream)
        .collect();
    assert_eq!(titles.len(), 1);
    assert_eq!(titles[0].model, "fake-model");
}

#[tokio::test]
async fn failed_naming_leaves_the_name_alone() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    // The reply streams fine, but the title request (not streamed) is told to fail.
    let (_, aid) = kit.post(&cid, "[[reply:ok]] [[title_fail:500]]").await;
    kit.wait_done(&cid, &aid).await;
    for _ in 0..50 {
        if kit.fake.requests().iter().any(|r| !r.stream) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        kit.fake.requests().iter().any(|r| !r.stream),
        "a title was requested"
    );
    let chat = kit.ok("GET", &format!("/api/chats/{cid}"), None).await;
    assert_eq!(chat["name"], "New chat");
    // An answer that cleans to nothing also keeps the name.
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let (_, aid) = kit.post(&cid, "[[reply:ok]] [[title:\"...\"]]").await;
    kit.wait_done(&cid, &aid).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let chat = kit.ok("GET", &format!("/api/chats/{cid}"), None).await;
    assert_eq!(chat["name"], "New chat");
}

#[tokio::test]
async fn busy_chat_rejects_a_second_message() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let (_, aid) = kit.post(&cid, "[[tokens:200]] [[delay_ms:5]]").await;
    let (status, v) = kit
        .call(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(json!({"content": "more"})),
        )
        .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "conflict");
    kit.ok("POST", &format!("/api/chats/{cid}/stop"), None)
        .await;
    kit.wait_done(&cid, &aid).await;
}

#[tokio::test]
async fn frames_cross_processes_through_postgres() {
    let Ok(url) = std::env::var("BOOCODE_TEST_DATABASE_URL") else {
        missing("postgres", "the cross-process frame test");
        return;
    };
    let a = Kit::start_with(Some(url.clone()), |_| {}).await;
    let b = Kit::start_with(Some(url), |_| {}).await;
    let (_, sid, cid) = a.seed(Some("fake-model")).await;
    // The client follows the session on B; the turn runs on A.
    let mut ws = b.ws(&sid, Some(0)).await;
    let (_, aid) = a.post(&cid, "[[reply:across the journal]]").await;
    let frames = frames_until(&mut ws, is_complete_of(&aid)).await;
    let s = seqs(&frames);
    assert_eq!(s, (1..=s.len() as u64).collect::<Vec<_>>());
    let text: String = frames
        .iter()
        .filter(|f| f["type"] == "delta" && f["message_id"] == aid.as_str())
        .map(|f| f["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "across the journal");
    // B numbers its own frames after A's.
    let renamed = b
        .ok(
            "PATCH",
            &format!("/api/chats/{cid}"),
            Some(json!({"name": "From B"})),
        )
        .await;
    assert_eq!(renamed["name"], "From B");
    let more = frames_until(&mut ws, |f| {
        f["type"] == "chat_updated" && f["chat"]["name"] == "From B"
    })
    .await;
    // A's auto-naming frame may come in between; numbering stays contiguous across both processes.
    let next = seqs(&more);
    let want: Vec<u64> = (s.last().unwrap() + 1..).take(next.len()).collect();
    assert_eq!(next, want);
}
