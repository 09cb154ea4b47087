//! Request guards (docs/ARCHITECTURE.md §13): a `Host` allowlist against DNS rebinding, on every
//! bind; an `Origin` whose scheme and host must match this server (WebSocket hijack, CSRF); and, when a
//! token is configured (required off loopback), a credential: the token as a bearer, a login cookie, or
//! (for `/mcp` only) an agent's per-session MCP token. Requests without `Origin` (curl, local tools) are
//! allowed. The master token never lands in a cookie: `/login` exchanges it for a random login session
//! the server can revoke. Wrong tokens are rate-limited per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::ApiError;

/// Name of the cookie `/login` sets: a login session's random value, never the token.
pub const LOGIN_COOKIE: &str = "boocode_session";
/// How long a login lasts.
const LOGIN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Wrong tokens one client address may send per window before it is refused outright.
const MAX_FAILURES: u32 = 10;
/// The window wrong tokens are counted in.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// 244 random bits in 64 hex digits (two v4 UUIDs, from the OS's random source): a credential no one
/// can guess — login cookies, agents' MCP tokens.
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Login sessions made by `/login`, by cookie value.
#[derive(Clone, Default)]
pub struct Logins(Arc<Mutex<HashMap<String, Instant>>>);

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Logins(..)")
    }
}

impl Logins {
    fn create(&self) -> String {
        let value = random_token();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, made| now.duration_since(*made) < LOGIN_TTL);
        map.insert(value.clone(), now);
        value
    }

    fn is_live(&self, value: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(value)
            .is_some_and(|made| made.elapsed() < LOGIN_TTL)
    }

    /// Ends one login (`/logout`).
    pub fn revoke(&self, value: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(value);
    }
}

/// Wrong tokens per client address in the current window.
#[derive(Clone, Default)]
struct GuessLimiter(Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>);

impl GuessLimiter {
    /// `Some(wait)` while `ip` is refused.
    fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (start, failures) = map.get(&ip)?;
        let left = FAILURE_WINDOW.checked_sub(start.elapsed())?;
        (*failures >= MAX_FAILURES).then_some(left)
    }

    fn failed(&self, ip: IpAddr) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, (start, _)| now.duration_since(*start) < FAILURE_WINDOW);
        let entry = map.entry(ip).or_insert((now, 0));
        entry.1 += 1;
    }
}

/// What the guards check against.
#[derive(Debug, Clone)]
pub struct Guard {
    allowed_hosts: Arc<Vec<String>>,
    token: Option<Arc<str>>,
    mcp_tokens: Option<crate::mcp::McpTokens>,
    logins: Logins,
    limiter: GuessLimiter,
    /// The scheme browsers reach this listener with.
    scheme: &'static str,
}

impl std::fmt::Debug for GuessLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuessLimiter(..)")
    }
}

/// How a request presented itself.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    /// Nothing needed (no token configured) or a valid one presented.
    Valid,
    /// No credential at all.
    Missing,
    /// A bearer token that is not the token: a guess, counted.
    WrongToken,
}

impl Guard {
    /// Hosts always allowed are localhost, 127.0.0.1 and [::1]; `extra` adds configured names.
    pub fn new(extra: &[String], token: Option<String>) -> Self {
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        hosts.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
        Self {
            allowed_hosts: Arc::new(hosts),
            token: token.map(Into::into),
            mcp_tokens: None,
            logins: Logins::default(),
            limiter: GuessLimiter::default(),
            scheme: "http",
        }
    }

    /// Admits `/mcp` requests carrying a live per-session token (what agents get instead of the master
    /// token); the MCP server then confines them to their session.
    pub fn with_mcp_tokens(mut self, tokens: crate::mcp::McpTokens) -> Self {
        self.mcp_tokens = Some(tokens);
        self
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host).to_ascii_lowercase();
        self.allowed_hosts.contains(&name)
    }

    fn credential(&self, path: &str, headers: &HeaderMap) -> Credential {
        let Some(token) = &self.token else {
            return Credential::Valid;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(given) = bearer {
            return if constant_time_eq(given.as_bytes(), token.as_bytes()) {
                Credential::Valid
            } else {
                Credential::WrongToken
            };
        }
        if login_cookie(headers).is_some_and(|v| self.logins.is_live(v))
            || self.mcp_session_token(path, headers)
        {
            return Credential::Valid;
        }
        Credential::Missing
    }

    fn mcp_session_token(&self, path: &str, headers: &HeaderMap) -> bool {
        let Some(tokens) = &self.mcp_tokens else {
            return false;
        };
        (path == "/mcp" || path.starts_with("/mcp/"))
            && headers
                .get(crate::mcp::SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| tokens.is_live(t))
    }

    /// The scheme a browser used: this listener's, or `https` when a reverse proxy on this machine says
    /// so (`X-Forwarded-Proto` is trusted from loopback peers only).
    fn browser_scheme(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> &'static str {
        let proxied_https = peer.is_some_and(|p| p.is_loopback())
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"));
        if proxied_https { "https" } else { self.scheme }
    }
}

fn login_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(LOGIN_COOKIE)?.strip_prefix('='))
        .next()
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..h.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn too_many(wait: Duration) -> Response {
    let mut resp = ApiError::too_many_requests(format!(
        "too many wrong tokens from this address; try again in {} s",
        wait.as_secs().max(1)
    ))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// Host, Origin and credential checks, in that order, for every request.
pub async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let headers = req.headers();
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return ApiError::forbidden("missing Host header").into_response();
    };
    if !guard.host_allowed(host) {
        return ApiError::forbidden(format!("host {host:?} is not allowed")).into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let scheme = guard.browser_scheme(headers, peer);
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(s, rest)| s == scheme && rest.eq_ignore_ascii_case(host));
        if !ok {
            return ApiError::forbidden("cross-origin request refused").into_response();
        }
    }
    let path = req.uri().path().to_owned();
    if path == "/login" || path == "/logout" {
        return login(&guard, peer, req).await;
    }
    let ip = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    // A blocked address gets no answer about any token, right or wrong: guessing stays blind.
    if guard.token.is_some()
        && headers.contains_key(header::AUTHORIZATION)
        && let Some(wait) = guard.limiter.blocked(ip)
    {
        return too_many(wait);
    }
    match guard.credential(&path, headers) {
        Credential::Valid => next.run(req).await,
        Credential::WrongToken => {
            guard.limiter.failed(ip);
            ApiError::unauthorized("wrong token").into_response()
        }
        Credential::Missing => {
            let wants_page = req.method() == Method::GET
                && !path.starts_with("/api/")
                && headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|a| a.contains("text/html"));
            if wants_page {
                return Redirect::to("/login").into_response();
            }
            ApiError::unauthorized(
                "sign in at /login, or send the token as Authorization: Bearer …",
            )
            .into_response()
        }
    }
}

/// The login page: the app's palette, light or dark as the device prefers, usable at 390 px.
const LOGIN_PAGE: &str = r#"<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · boocode</title>
<style>
:root{color-scheme:light dark;--bg:#fbfbfa;--panel:#fff;--line:#e3e3df;--text:#1d1d1b;--muted:#6b6b66;--accent:#3b5bdb;--error:#c92a2a}
@media (prefers-color-scheme:dark){:root{--bg:#1a1b1e;--panel:#25262b;--line:#373a40;--text:#e9ecef;--muted:#a0a3a8;--accent:#5c7cfa;--error:#ff8787}}
body{margin:0;min-height:100vh;display:grid;place-items:center;background:var(--bg);color:var(--text);font:15px system-ui,-apple-system,"Segoe UI",sans-serif}
main{width:min(22rem,calc(100vw - 2rem));background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:1.5rem;box-sizing:border-box}
h1{margin:0 0 .25rem;font-size:1.4rem}
.note{margin:0 0 1.25rem;color:var(--muted)}
label{display:block;margin-bottom:.35rem;color:var(--muted)}
input{width:100%;box-sizing:border-box;font:inherit;padding:.6rem .7rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--text)}
input:focus{outline:2px solid var(--accent);outline-offset:1px}
button{width:100%;margin-top:.9rem;font:inherit;font-weight:600;padding:.6rem;border:0;border-radius:6px;background:var(--accent);color:#fff;cursor:pointer}
.error{color:var(--error);margin:0 0 .9rem}
</style>
<main>
<h1>boocode</h1>
<p class="note">This workspace is protected by its token.</p>
{{MESSAGE}}
<form method="post" action="/login">
<label for="token">Token (BOOCODE_TOKEN)</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Sign in</button>
</form>
</main>
"#;

/// The login form: the token is posted, never put in a URL.
fn login_page(message: Option<&str>) -> Response {
    let note = message
        .map(|m| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                m.replace('<', "&lt;")
            )
        })
        .unwrap_or_default();
    Html(LOGIN_PAGE.replace("{{MESSAGE}}", &note)).into_response()
}

#[derive(serde::Deserialize)]
struct LoginForm {
    token: Option<String>,
}

/// `/login`: a form (GET), or the token (POST form, or the older `GET ?token=`) exchanged for a login
/// session cookie (`HttpOnly; SameSite=Strict`). `/logout` (POST) ends the caller's login.
async fn login(guard: &Guard, peer: Option<IpAddr>, req: Request) -> Response {
    let Some(token) = guard.token.clone() else {
        return Redirect::to("/").into_response();
    };
    if req.uri().path() == "/logout" {
        if req.method() != Method::POST {
            return ApiError::bad_request("POST /logout to sign out").into_response();
        }
        if let Some(v) = login_cookie(req.headers()) {
            guard.logins.revoke(v);
        }
        let mut resp = Redirect::to("/login").into_response();
        let gone = format!("{LOGIN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
        if let Ok(v) = HeaderValue::from_str(&gone) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        return resp;
    }
    let given = if req.method() == Method::POST {
        let bytes = match axum::body::to_bytes(req.into_body(), 16 * 1024).await {
            Ok(b) => b,
            Err(_) => return ApiError::bad_request("login form too large").into_response(),
        };
        serde_urlencoded::from_bytes::<LoginForm>(&bytes)
            .ok()
            .and_then(|f| f.token)
    } else {
        let query = req.uri().query().unwrap_or_default();
        serde_urlencoded::from_str::<LoginForm>(query)
            .ok()
            .and_then(|f| f.token)
    };
    let Some(given) = given else {
        return login_page(None);
    };
    let ip = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if let Some(wait) = guard.limiter.blocked(ip) {
        return too_many(wait);
    }
    if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
        guard.limiter.failed(ip);
        let mut resp = login_page(Some("Wrong token."));
        *resp.status_mut() = StatusCode::UNAUTHORIZED;
        return resp;
    }
    let value = guard.logins.create();
    let cookie = format!(
        "{LOGIN_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        LOGIN_TTL.as_secs()
    );
    let mut resp = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_allowlist_ignores_port_and_rejects_lookalikes() {
        let g = Guard::new(&["myhost.lan".into()], None);
        assert!(g.host_allowed("localhost:9500"));
        assert!(g.host_allowed("127.0.0.1"));
        assert!(g.host_allowed("[::1]:80"));
        assert!(g.host_allowed("MyHost.lan:1"));
        assert!(!g.host_allowed("localhost.evil.example"));
        assert!(!g.host_allowed("evil.example"));
    }

    #[test]
    fn credentials_are_the_token_or_a_live_login_never_the_token_as_cookie() {
        let g = Guard::new(&[], Some("s3cret".into()));
        let h = HeaderMap::new();
        assert_eq!(g.credential("/api/x", &h), Credential::Missing);
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert_eq!(g.credential("/api/x", &h), Credential::Valid);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer no"));
        assert_eq!(g.credential("/api/x", &h), Credential::WrongToken);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("boocode_session=s3cret; boocode_token=s3cret"),
        );
        assert_eq!(g.credential("/api/x", &h), Credential::Missing);
        let login = g.logins.create();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; boocode_session={login}")).unwrap(),
        );
        assert_eq!(g.credential("/api/x", &h), Credential::Valid);
        g.logins.revoke(&login);
        assert_eq!(g.credential("/api/x", &h), Credential::Missing);
    }

    #[test]
    fn guesses_are_limited_per_address() {
        let limiter = GuessLimiter::default();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        for _ in 0..MAX_FAILURES {
            assert!(limiter.blocked(a).is_none());
            limiter.failed(a);
        }
        assert!(limiter.blocked(a).is_some());
        assert!(limiter.blocked(b).is_none());
    }
}
