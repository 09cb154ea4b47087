//! The REST contract and its bad-input answers, on SQLite always and on PostgreSQL when
//! `BOOCODE_TEST_DATABASE_URL` is set (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn crud_round_trip() {
    for kit in kits("the PostgreSQL run of the REST suite").await {
        let repo = git_repo(kit.dir.path(), "crud");
        let (status, p) = kit
            .call(
                "POST",
                "/api/projects",
                Some(json!({"path": repo, "name": "Crud"})),
            )
            .await;
        assert_eq!(status, 201, "{p}");
        let pid = p["id"].as_str().unwrap();
        assert_eq!(p["name"], "Crud");
        let listed = kit.ok("GET", "/api/projects", None).await;
        assert!(listed.as_array().unwrap().iter().any(|x| x["id"] == pid));
        let patched = kit
            .ok(
                "PATCH",
                &format!("/api/projects/{pid}"),
                Some(json!({"default_model": "fake-model"})),
            )
            .await;
        assert_eq!(patched["default_model"], "fake-model");
        let (status, _) = kit
            .call("POST", "/api/projects", Some(json!({"path": repo})))
            .await;
        assert_eq!(status, 409, "same repo twice");

        let (status, s) = kit
            .call("POST", &format!("/api/projects/{pid}/sessions"), None)
            .await;
        assert_eq!(status, 201, "{s}");
        let sid = s["id"].as_str().unwrap();
        assert_eq!(
            (s["status"].as_str(), s["last_seq"].as_u64()),
            (Some("open"), Some(0))
        );
        let s = kit
            .ok(
                "PATCH",
                &format!("/api/sessions/{sid}"),
                Some(json!({"name": "Renamed", "status": "closed"})),
            )
            .await;
        assert_eq!(
            (s["name"].as_str(), s["status"].as_str()),
            (Some("Renamed"), Some("closed"))
        );
        assert_eq!(
            kit.ok("GET", &format!("/api/projects/{pid}/sessions"), None)
                .await
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let (status, c) = kit
            .call(
                "POST",
                &format!("/api/sessions/{sid}/chats"),
                Some(json!({"kind": "coder", "name": "Work"})),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        let cid = c["id"].as_str().unwrap();
        assert_eq!(c["kind"], "coder");
        let c = kit
            .ok(
                "PATCH",
                &format!("/api/chats/{cid}"),
                Some(json!({"status": "closed"})),
            )
            .await;
        assert_eq!(c["status"], "closed");
        let (status, v) = kit
            .call(
                "POST",
                &format!("/api/chats/{cid}/messages"),
                Some(json!({"content": "hi"})),
            )
            .await;
        assert_eq!(
            (status, code(&v)),
            (409, "conflict"),
            "closed chat takes no messages"
        );
        assert_eq!(
            kit.ok("GET", &format!("/api/chats/{cid}/messages"), None)
                .await,
            json!([])
        );
        let (status, _) = kit.call("DELETE", &format!("/api/chats/{cid}"), None).await;
        assert_eq!(status, 204);
        let (status, _) = kit
            .call("DELETE", &format!("/api/projects/{pid}"), None)
            .await;
        assert_eq!(status, 204);
        let (status, _) = kit.call("GET", &format!("/api/sessions/{sid}"), None).await;
        assert_eq!(status, 404, "project delete cascades to sessions");
    }
}

#[tokio::test]
async fn deleting_a_session_cascades_and_keeps_others() {
    for kit in kits("the PostgreSQL run of the REST suite").await {
        let (pid, sid, cid) = kit.seed(Some("fake-model")).await;
        let (_, aid) = kit.post(&cid, "[[reply:kept?]]").await;
        kit.wait_done(&cid, &aid).await;
        let other = kit
            .ok("POST", &format!("/api/projects/{pid}/sessions"), None)
            .await;
        let other_chat = kit
            .ok(
                "POST",
                &format!("/api/sessions/{}/chats", other["id"].as_str().unwrap()),
                None,
            )
            .await;
        let (status, _) = kit
            .call("DELETE", &format!("/api/sessions/{sid}"), None)
            .await;
        assert_eq!(status, 204);
        for path in [
            format!("/api/sessions/{sid}"),
            format!("/api/chats/{cid}"),
            format!("/api/chats/{cid}/messages"),
        ] {
            let (status, v) = kit.call("GET", &path, None).await;
            assert_eq!((status, code(&v)), (404, "not_found"), "{path}");
        }
        kit.ok(
            "GET",
            &format!("/api/chats/{}", other_chat["id"].as_str().unwrap()),
            None,
        )
        .await;
        let (status, _) = kit
            .call("DELETE", &format!("/api/sessions/{sid}"), None)
            .await;
        assert_eq!(status, 404, "second delete");
    }
}

#[tokio::test]
async fn unknown_ids_are_404_with_a_message() {
    for kit in kits("the PostgreSQL run of the REST suite").await {
        let id = "01a2f000-0000-7000-8000-000000000000";
        let cases = [
            ("GET", format!("/api/projects/{id}"), None),
            (
                "PATCH",
                format!("/api/projects/{id}"),
                Some(json!({"name": "x"})),
            ),
            ("DELETE", format!("/api/projects/{id}"), None),
            ("GET", format!("/api/projects/{id}/sessions"), None),
            (
                "POST",
                format!("/api/projects/{id}/sessions"),
                Some(json!({})),
            ),
            ("GET", format!("/api/sessions/{id}"), None),
            ("GET", format!("/api/sessions/{id}/chats"), None),
            ("POST", format!("/api/sessions/{id}/chats"), Some(json!({}))),
            ("GET", format!("/api/chats/{id}/messages"), None),
            (
                "POST",
                format!("/api/chats/{id}/messages"),
                Some(json!({"content": "hi"})),
            ),
            ("POST", format!("/api/chats/{id}/stop"), None),
            ("GET", format!("/api/sessions/{id}/ws"), None),
            ("GET", "/api/no-such-route".to_owned(), None),
        ];
        for (method, path, body) in cases {
            let (status, v) = kit.call(method, &path, body).await;
            assert_eq!(status, 404, "{method} {path}: {v}");
            assert_eq!(code(&v), "not_found");
            assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        }
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_and_change_nothing() {
    for kit in kits("the PostgreSQL run of the REST suite").await {
        let (pid, _, cid) = kit.seed(Some("fake-model")).await;
        let before = kit.ok("GET", "/api/projects", None).await;
        let raw = |body: &'static str, ctype: &'static str| {
            let url = format!("{}/api/projects", kit.base);
            let http = kit.http.clone();
            async move {
                let resp = http
                    .post(url)
                    .header("content-type", ctype)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            }
        };
        for (body, ctype) in [
            ("{bad", "application/json"),
            ("{\"path\": 3}", "application/json"),
            ("[]", "application/json"),
            ("{\"path\":\"/tmp\",\"extra\":1}", "application/json"),
            ("{\"path\":\"/tmp\"}", "text/plain"),
            ("\u{0}\u{1}", "application/json"),
        ] {
            let (status, v) = raw(body, ctype).await;
            assert_eq!(
                (status, code(&v)),
                (400, "bad_request"),
                "{body:?} as {ctype}: {v}"
            );
        }
        for path in ["", "relative/path", "/definitely/not/here", "/tmp"] {
            let (status, v) = kit
                .call("POST", "/api/projects", Some(json!({"path": path})))
                .await;
            assert_eq!((status, code(&v)), (400, "bad_request"), "{path}: {v}");
        }
        let file = kit.dir.path().join("file.txt");
        std::fs::write(&file, "x").unwrap();
        let (status, _) = kit
            .call("POST", "/api/projects", Some(json!({"path": file})))
            .await;
        assert_eq!(status, 400);
        for body in [
            json!({"content": ""}),
            json!({"content": "   "}),
            json!({"content": 5}),
            json!({}),
        ] {
            let (status, v) = kit
                .call(
                    "POST",
                    &format!("/api/chats/{cid}/messages"),
                    Some(body.clone()),
                )
                .await;
            assert_eq!((status, code(&v)), (400, "bad_request"), "{body}: {v}");
        }
        let (status, _) = kit
            .call(
                "PATCH",
                &format!("/api/projects/{pid}"),
                Some(json!({"name": ""})),
            )
            .await;
        assert_eq!(status, 400);
        let (status, _) = kit
            .call(
                "PATCH",
                &format!("/api/chats/{cid}"),
                Some(json!({"status": "weird"})),
            )
            .await;
        assert_eq!(status, 400);
        let after = kit.ok("GET", "/api/projects", None).await;
        assert_eq!(before, after, "bad input changed stored data");
        assert_eq!(
            kit.ok("GET", &format!("/api/chats/{cid}/messages"), None)
                .await,
            json!([])
        );
    }
}

#[tokio::test]
async fn huge_bodies_are_refused() {
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(Some("fake-model")).await;
    let content = "x".repeat(5 * 1024 * 1024);
    let (status, v) = kit
        .call(
            "POST",
            &format!("/api/chats/{cid}/messages"),
            Some(json!({"content": content})),
        )
        .await;
    assert_eq!(status, 413, "{v}");
    assert_eq!(
        kit.ok("GET", &format!("/api/chats/{cid}/messages"), None)
            .await,
        json!([])
    );
}

#[tokio::test]
async fn health_models_and_page() {
    let kit = Kit::start().await;
    let h = kit.ok("GET", "/api/health", None).await;
    assert_eq!(
        (h["status"].as_str(), h["database"].as_str()),
        (Some("ok"), Some("sqlite"))
    );
    assert_eq!(h["llm"]["reachable"], true);
    let models = kit.ok("GET", "/api/models", None).await;
    assert_eq!(
        models[0],
        json!({"id": "fake-model", "loaded": true, "context_length": 32768})
    );
    let page = kit.http.get(format!("{}/", kit.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    // The embedded UI (or, without Node at build time, the page saying how to build it).
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>boocode</title>")
    );
    let down = Kit::start_with(None, |c| c.llm_url = "http://127.0.0.1:9/v1".into()).await;
    let h = down.ok("GET", "/api/health", None).await;
    assert_eq!(h["llm"]["reachable"], false);
    let (status, v) = down.call("GET", "/api/models", None).await;
    assert_eq!((status, code(&v)), (502, "upstream_unavailable"));
}

#[tokio::test]
async fn model_falls_back_to_default_then_to_the_loaded_one() {
    let kit = Kit::start_with(None, |c| c.default_model = Some("fake-model-2".into())).await;
    let (_, _, cid) = kit.seed(None).await;
    let (_, aid) = kit.post(&cid, "hi").await;
    assert_eq!(kit.wait_done(&cid, &aid).await["model"], "fake-model-2");
    let kit = Kit::start().await;
    let (_, _, cid) = kit.seed(None).await;
    let (_, aid) = kit.post(&cid, "hi").await;
    assert_eq!(
        kit.wait_done(&cid, &aid).await["model"],
        "fake-model",
        "the loaded model"
    );
}

#[tokio::test]
async fn bad_since_is_400() {
    let kit = Kit::start().await;
    let (_, sid, _) = kit.seed(None).await;
    for q in ["since=abc", "since=-1"] {
        let (status, v) = kit
            .call("GET", &format!("/api/sessions/{sid}/ws?{q}"), None)
            .await;
        assert_eq!((status, code(&v)), (400, "bad_request"), "{q}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("since"),
            "{v}"
        );
    }
}

/// U+0000 in any string of a body, in an id or a query is a 400 naming where, on both engines, and changes
/// nothing; a model that emits U+0000 gets its reply stored (with U+FFFD in its place) and ended
/// normally, live and after a reload.
#[tokio::test]
async fn nul_bytes_are_refused_in_input_and_made_safe_in_model_output() {
    for kit in kits("the PostgreSQL run of the REST suite").await {
        let (pid, sid, cid) = kit.seed(Some("fake-model")).await;
        let before = kit
            .ok("GET", &format!("/api/chats/{cid}/messages"), None)
            .await;
        for (method, path, body, field) in [
            (
                "POST",
                format!("/api/chats/{cid}/messages"),
                json!({"content": "a\u{0}b"}),
                "content",
            ),
            (
                "PATCH",
                format!("/api/projects/{pid}"),
                json!({"name": "x\u{0}"}),
                "name",
            ),
            (
                "POST",
                format!("/api/projects/{pid}/sessions"),
                json!({"name": "s", "model": "m\u{0}"}),
                "model",
            ),
            (
                "POST",
                "/api/tasks".to_owned(),
                json!({"project_id": pid, "input": "go", "agent": "native\u{0}"}),
                "agent",
            ),
            (
                "PATCH",
                "/api/providers/config".to_owned(),
                json!({"providers": {"x\u{0}": null}}),
                "providers.x",
            ),
        ] {
            let (status, v) = kit.call(method, &path, Some(body)).await;
            assert_eq!((status, code(&v)), (400, "bad_request"), "{path}: {v}");
            assert!(
                v["error"]["message"].as_str().unwrap().contains(field),
                "{path}: {v}"
            );
        }
        for path in [
            format!("/api/sessions/{sid}%00"),
            "/api/tasks/%00".to_owned(),
            format!("/api/tasks?session_id={sid}%00"),
        ] {
            let (status, v) = kit.call("GET", &path, None).await;
            assert_eq!((status, code(&v)), (400, "bad_request"), "{path}: {v}");
        }
        assert_eq!(
            kit.ok("GET", &format!("/api/chats/{cid}/messages"), None)
                .await,
            before
        );

        let (_, aid) = kit.post(&cid, "[[nul]] [[reply:tail]]").await;
        let done = kit.wait_done(&cid, &aid).await;
        assert_eq!(done["status"], "complete", "{done}");
        let content = done["content"].as_str().unwrap();
        assert!(
            content.starts_with("nul\u{FFFD}byte") && !content.contains('\u{0}'),
            "{content:?}"
        );
    }
}

#[tokio::test]
async fn ui_assets_go_out_precompressed_and_hashed_ones_are_immutable() {
    let kit = Kit::start().await;
    let http = reqwest::Client::new();
    let index = http.get(format!("{}/", kit.base)).send().await.unwrap();
    assert_eq!(index.headers()["cache-control"], "no-cache");
    let html = index.text().await.unwrap();
    let Some(script) = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .map(str::to_owned)
    else {
        // Built without Node (BOOCODE_SKIP_WEB_BUILD): nothing hashed to check.
        assert!(html.contains("boocode is running"), "{html}");
        return;
    };
    let plain = http
        .get(format!("{}{script}", kit.base))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    for (accept, coding) in [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
    ] {
        let resp = http
            .get(format!("{}{script}", kit.base))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-encoding"], coding, "{accept}");
        assert_eq!(
            resp.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(resp.headers()["vary"], "accept-encoding");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
        let len = resp.bytes().await.unwrap().len();
        assert!(len * 3 < plain_len, "{coding}: {len} of {plain_len} bytes");
    }
}
