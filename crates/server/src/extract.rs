//! A JSON body extractor whose rejections use the API's error shape: malformed JSON and wrong types are
//! 400 `bad_request` with serde's message (not axum's 422), an oversized body is 413.

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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
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
