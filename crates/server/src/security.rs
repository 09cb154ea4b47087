//! Request guards (DESIGN.md §13, security.md): a `Host` allowlist against DNS rebinding, on every bind;
//! an `Origin` that must match the host (WebSocket hijack, CSRF); and a bearer token or cookie when one is
//! configured (required off loopback). Requests without `Origin` (curl, local tools) are allowed.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::ApiError;

/// Name of the cookie `/login?token=` sets.
pub const TOKEN_COOKIE: &str = "boocode_token";

/// What the guards check against.
#[derive(Debug, Clone)]
pub struct Guard {
    allowed_hosts: Arc<Vec<String>>,
    token: Option<Arc<str>>,
    mcp_tokens: Option<crate::mcp::McpTokens>,
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
        }
    }

    /// Admits `/mcp` requests carrying a live per-session token (what agents get instead of the master
    /// token); the MCP server then confines them to their session.
    pub fn with_mcp_tokens(mut self, tokens: crate::mcp::McpTokens) -> Self {
        self.mcp_tokens = Some(tokens);
        self
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

    fn host_allowed(&self, host: &str) -> bool {
        let name = strip_port(host).to_ascii_lowercase();
        self.allowed_hosts.contains(&name)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(TOKEN_COOKIE)?.strip_prefix('='))
            .next();
        [bearer, cookie]
            .into_iter()
            .flatten()
            .any(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
    }
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

/// Host, Origin and token checks, in that order, for every request.
pub async fn guard(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return ApiError::forbidden("missing Host header").into_response();
    };
    if !guard.host_allowed(host) {
        return ApiError::forbidden(format!("host {host:?} is not allowed")).into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .is_some_and(|(scheme, rest)| {
                matches!(scheme, "http" | "https") && rest.eq_ignore_ascii_case(host)
            });
        if !ok {
            return ApiError::forbidden("cross-origin request refused").into_response();
        }
    }
    if req.uri().path() == "/login" {
        return login(&guard, req.uri().query().unwrap_or_default());
    }
    if !guard.authorized(headers) && !guard.mcp_session_token(req.uri().path(), headers) {
        return ApiError::unauthorized("missing or wrong token (Authorization: Bearer …)")
            .into_response();
    }
    next.run(req).await
}

/// `/login?token=…`: swaps the URL token for an `HttpOnly; SameSite=Strict` cookie.
fn login(guard: &Guard, query: &str) -> Response {
    let given = query.split('&').find_map(|kv| kv.strip_prefix("token="));
    let Some(token) = &guard.token else {
        return Redirect::to("/").into_response();
    };
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => {
            let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
            let mut resp = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        _ => (StatusCode::UNAUTHORIZED, "wrong token").into_response(),
    }
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
        assert!(!g.host_allowed("evil.example:9500"));
        assert!(!g.host_allowed("localhost.evil.example"));
        assert!(!g.host_allowed("127.0.0.1.nip.io"));
    }

    #[test]
    fn token_from_bearer_or_cookie() {
        let g = Guard::new(&[], Some("s3cret".into()));
        let mut h = HeaderMap::new();
        assert!(!g.authorized(&h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(g.authorized(&h));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; boocode_token=s3cret"),
        );
        assert!(g.authorized(&h));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("boocode_token=nope"),
        );
        assert!(!g.authorized(&h));
    }
}
