//! The web UI, embedded in the binary from `web/dist` (built by `build.rs` with npm and Vite). Unknown
//! non-API paths get `index.html` so client-side routes work. Scripts only from boocode itself; inline
//! styles are allowed because xterm.js and React set them.
//!
//! The build leaves brotli and gzip copies beside each compressible file (`web/compress.mjs`); the one
//! the browser accepts is sent as it is. Vite's hashed files under `assets/` never change, so browsers
//! keep them for a year; `index.html` is revalidated every time, so a new build shows at once.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/dist"]
struct Assets;

/// A content coding the build precompressed, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    fn token(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Self::Brotli => ".br",
            Self::Gzip => ".gz",
        }
    }
}

/// Whether `Accept-Encoding` allows `token` (present and not `q=0`).
fn accepts(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case(token) || name == "*") && !refused
        })
}

/// Serves an embedded file, falling back to `index.html`.
pub async fn serve(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") {
        return crate::error::ApiError::not_found(format!("no route {}", uri.path()))
            .into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    let name = if Assets::get(path).is_some() {
        path
    } else {
        "index.html"
    };
    let coded = [Coding::Brotli, Coding::Gzip]
        .into_iter()
        .filter(|c| accepts(&headers, c.token()))
        .find_map(|c| Assets::get(&format!("{name}{}", c.suffix())).map(|f| (f, Some(c))));
    let Some((file, coding)) = coded.or_else(|| Assets::get(name).map(|f| (f, None))) else {
        return (StatusCode::NOT_FOUND, "web UI not built").into_response();
    };
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, mime.as_ref().to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                 font-src 'self' data:; object-src 'none'; frame-ancestors 'none'"
                    .to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, cache.to_owned()),
            (header::VARY, "accept-encoding".to_owned()),
        ],
        file.data,
    )
        .into_response();
    if let Some(c) = coding {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(c.token()),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn accept_encoding_is_read_with_q_values() {
        assert!(accepts(&with("gzip, deflate, br, zstd"), "br"));
        assert!(accepts(&with("gzip;q=0.5"), "gzip"));
        assert!(!accepts(&with("gzip, br;q=0"), "br"));
        assert!(accepts(&with("*"), "br"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
    }
}
