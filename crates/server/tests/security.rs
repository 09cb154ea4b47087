//! Security defaults (docs/ARCHITECTURE.md §13): Host allowlist, Origin check, token.
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
    // /login exchanges the token for a random login session: the cookie never holds the token.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = no_redirect
        .get(format!("{}/login", kit.base))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("method=\"post\""));
    let login = |body: &'static str| {
        no_redirect
            .post(format!("{}/login", kit.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let first = login("token=s3cret-token").await.unwrap();
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("s3cret-token"),
        "the token is in the cookie: {cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let second = login("token=s3cret-token").await.unwrap();
    let pair2 = second.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(pair, pair2, "every login is its own session");
    let with = |cookie: String| {
        kit.http
            .get(format!("{}/api/projects", kit.base))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(with(pair.clone()).await.unwrap().status(), 200);
    assert_eq!(
        ws_status(&kit, "any", &[("cookie", pair.clone())]).await,
        404
    );
    // The old cookie holding the token itself is worth nothing.
    assert_eq!(
        with("boocode_token=s3cret-token".into())
            .await
            .unwrap()
            .status(),
        401
    );
    // Signing out ends that login at once, and only that one.
    let out = no_redirect
        .post(format!("{}/logout", kit.base))
        .header("cookie", pair.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(with(pair.clone()).await.unwrap().status(), 401);
    assert_eq!(ws_status(&kit, "any", &[("cookie", pair)]).await, 401);
    assert_eq!(with(pair2).await.unwrap().status(), 200);
    // A browser asking for a page without a login is sent to the form, not handed JSON.
    let page = no_redirect
        .get(format!("{}/", kit.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login");
}

/// Guessing the token is rate-limited per address: after 10 wrong tokens even the right one is refused
/// until the window passes, on /login and as a bearer alike.
#[tokio::test]
async fn token_guesses_are_rate_limited() {
    let kit = Kit::start_with(None, |c| c.token = Some("s3cret-token".into())).await;
    let bearer = |token: &'static str| {
        kit.http
            .get(format!("{}/api/projects", kit.base))
            .bearer_auth(token)
            .send()
    };
    for _ in 0..5 {
        assert_eq!(bearer("guess").await.unwrap().status(), 401);
    }
    for _ in 0..5 {
        let resp = kit
            .http
            .post(format!("{}/login", kit.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("token=guess")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let limited = bearer("s3cret-token").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    let limited = kit
        .http
        .post(format!("{}/login", kit.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
}

/// The listener speaks plain HTTP: a page claiming an https Origin for this host did not come from it.
#[tokio::test]
async fn origin_scheme_must_match_the_listener() {
    let kit = Kit::start().await;
    let host = kit.base.trim_start_matches("http://").to_owned();
    let (_, sid, _) = kit.seed(None).await;
    assert_eq!(
        ws_status(&kit, &sid, &[("origin", format!("https://{host}"))]).await,
        403
    );
    let resp = kit
        .http
        .get(format!("{}/api/projects", kit.base))
        .header("origin", format!("https://{host}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // A reverse proxy on this machine that terminates TLS says so.
    let proxied = kit
        .http
        .get(format!("{}/api/projects", kit.base))
        .header("origin", format!("https://{host}"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
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
