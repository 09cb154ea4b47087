//! A JSON body extractor whose rejections use the API's error shape: malformed JSON and wrong types are
//! 400 `bad_request` with serde's message (not axum's 422), an oversized body is 413, and a string
//! holding U+0000 anywhere is 400 (PostgreSQL cannot store it, and no name, path or prompt needs it).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `Json<T>` with API-shaped rejections.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rejection) => return Err(reject(rejection)),
        };
        if let Some(field) = nul_in(&value, "") {
            return Err(ApiError::bad_request(format!(
                "invalid request: {} contains a NUL character (U+0000)",
                if field.is_empty() {
                    "the body"
                } else {
                    field.as_str()
                }
            )));
        }
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|e| {
                let at = e.path().to_string();
                if at == "." {
                    ApiError::bad_request(format!("invalid request: {}", e.inner()))
                } else {
                    ApiError::bad_request(format!("invalid request: {at}: {}", e.inner()))
                }
            })
    }
}

/// The path (`messages[2].content`) of the first string or key holding U+0000, if any.
fn nul_in(value: &serde_json::Value, at: &str) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, &format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_in(v, &here)
            }
        }),
        _ => None,
    }
}

/// Refuses a request whose path or query carries a NUL (`%00`): an id or name never holds one.
pub async fn refuse_nul_in_uri(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let uri = req.uri().to_string().to_ascii_lowercase();
    if uri.contains("%00") || uri.contains('\0') {
        return ApiError::bad_request("invalid request: the URL contains a NUL character (%00)")
            .into_response();
    }
    next.run(req).await
}

fn reject(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError {
            status,
            code: "bad_request",
            message: "request body is too large".into(),
        };
    }
    let message = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "expected a JSON body with Content-Type: application/json".to_owned()
        }
        JsonRejection::JsonDataError(e) => format!(
            "invalid request: {}",
            std::error::Error::source(e).map_or_else(|| e.body_text(), |s| s.to_string())
        ),
        JsonRejection::JsonSyntaxError(e) => format!(
            "malformed JSON: {}",
            std::error::Error::source(e).map_or_else(|| e.body_text(), |s| s.to_string())
        ),
        other => other.body_text(),
    };
    ApiError::bad_request(message)
}

/// A JSON body that may be absent (an empty POST creates with defaults); present, it must be valid JSON.
pub struct OptionalJsonBody<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_body = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v != "0")
            && (req.headers().contains_key(axum::http::header::CONTENT_TYPE)
                || req
                    .headers()
                    .contains_key(axum::http::header::CONTENT_LENGTH));
        if !has_body {
            return Ok(Self(T::default()));
        }
        JsonBody::<T>::from_request(req, state)
            .await
            .map(|JsonBody(v)| Self(v))
    }
}
