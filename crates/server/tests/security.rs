//! Security defaults (DESIGN.md §13, security.md rows 1–5): Host allowlist, Origin check, token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn ws_status(kit: &Kit, session: &str, headers: &[(&'static str, String)]) -> u16 {
    let url = format!(
        "{}/api/sessions/{session}/ws",
        kit.base.replace("http://", "ws://")
    );
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn websocket_origin_must_match_host() {
    let kit = Kit::start().await;
    let (_, sid, _) = kit.seed(None).await;
    let host = kit.base.trim_start_matches("http://").to_owned();
    let port = host.rsplit(':').next().unwrap().to_owned();
    assert_eq!(
        ws_status(&kit, &sid, &[]).await,
        101,
        "no Origin (non-browser client) is allowed"
    );
    assert_eq!(
        ws_status(&kit, &sid, &[("origin", format!("http://{host}"))]).await,
        101
    );
    for origin in [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        format!("http://localhost.evil.example:{port}"),
        format!("http://127.0.0.1:{}", port.parse::<u32>().unwrap() + 1),
        format!("ftp://{host}"),
    ] {
        assert_eq!(
            ws_status(&kit, &sid, &[("origin", origin.clone())]).await,
            403,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn foreign_host_is_403_even_with_matching_origin() {
    let kit = Kit::start().await;
    let port = kit.base.rsplit(':').next().unwrap().to_owned();
    let evil = format!("evil.example:{port}");
    let resp = kit
        .http
        .get(format!("{}/api/projects", kit.base))
        .header("host", &evil)
        .header("origin", format!("http://{evil}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let (_, sid, _) = kit.seed(None).await;
    let status = ws_status(
        &kit,
        &sid,
        &[("host", evil.clone()), ("origin", format!("http://{evil}"))],
    )
    .await;
    assert_eq!(status, 403);
    let allowed = kit
        .http
        .get(format!("{}/api/projects", kit.base))
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}

#[tokio::test]
async fn cross_origin_writes_are_refused() {
    let kit = Kit::start().await;
    let repo = git_repo(kit.dir.path(), "csrf");
    let resp = kit
        .http
        .post(format!("{}/api/projects", kit.base))
        .header("origin", "http://evil.example")
        .header("content-type", "text/plain")
        .body(serde_json::json!({"path": repo}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert_eq!(
        kit.ok("GET", "/api/projects", None).await,
        serde_json::json!([])
    );
}

#[tokio::test]
async fn token_is_enforced_on_rest_and_websocket() {
    let kit = Kit::start_with(None, |c| c.token = Some("s3cret-token".into())).await;
    let (status, v) = kit.call("GET", "/api/projects", None).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let ok = kit
        .http
        .get(format!("{}/api/projects", kit.base))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let wrong = kit
        .http
        .get(format!("{}/api/projects", kit.base))
        .bearer_auth("s3cret-tokex")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(ws_status(&kit, "any", &[]).await, 401);
    // /login swaps the URL token for an HttpOnly, SameSite=Strict cookie.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = no_redirect
        .get(format!("{}/login?token=s3cret-token", kit.base))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let with_cookie = kit
        .http
        .get(format!("{}/api/projects", kit.base))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);
    let bad = no_redirect
        .get(format!("{}/login?token=nope", kit.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
}

#[tokio::test]
async fn open_bind_without_token_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = boocode_server::Config::for_data_dir(dir.path(), "http://127.0.0.1:9/v1");
    config.host = "0.0.0.0".parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = boocode_server::start(config, listener)
        .await
        .err()
        .expect("must refuse");
    assert!(err.to_string().contains("token"), "{err}");
}
