//! Uploads: `POST /api/uploads` (multipart, field `file`) stores a file to attach to a message;
//! `GET /api/uploads/{id}` gives it back (thumbnails in the transcript).

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use boocode_protocol::{Attachment, AttachmentKind, UploadId};

use crate::app::AppState;
use crate::error::ApiError;
use crate::uploads::UploadError;

fn refused(e: UploadError) -> ApiError {
    match e {
        UploadError::TooBig { .. } | UploadError::TextTooBig { .. } => {
            ApiError::payload_too_large(e.to_string())
        }
        UploadError::Pdf { .. } | UploadError::UnknownType { .. } => {
            ApiError::unsupported_media_type(e.to_string())
        }
        UploadError::Unknown(_) => ApiError::not_found(e.to_string()),
        UploadError::Empty => ApiError::bad_request(e.to_string()),
        UploadError::Store(s) => s.into(),
        UploadError::Io(io) => ApiError::internal(io.to_string()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(format!(
            "expected multipart/form-data with a `file` field: {e}"
        ))
    })?;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("unreadable upload: {e}")))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            ApiError::payload_too_large(format!(
                "the upload could not be read whole (at most {} bytes): {e}",
                crate::uploads::MAX_UPLOAD_BYTES
            ))
        })?;
        let saved = state.uploads.save(&name, &bytes).await.map_err(refused)?;
        return Ok((StatusCode::CREATED, Json(saved)));
    }
    Err(ApiError::bad_request("no `file` field in the upload"))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = UploadId(id);
    let upload = state
        .uploads
        .resolve(std::slice::from_ref(&id))
        .await
        .map_err(refused)?
        .remove(0);
    let bytes = state.uploads.read(&id).await.map_err(refused)?;
    // Images show inline; text is served as plain text whatever its name says, never as HTML.
    let (mime, disposition) = match upload.kind {
        AttachmentKind::Image => (upload.mime.clone(), "inline"),
        AttachmentKind::Text => ("text/plain; charset=utf-8".to_owned(), "inline"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_DISPOSITION, disposition.to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}
