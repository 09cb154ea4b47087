//! Uploads (docs/ARCHITECTURE.md §10): files attached to chat messages. The bytes go to
//! `<data dir>/uploads/<id>` under a name the server makes, never the client's; what a file is comes
//! from its bytes: UTF-8 text without NUL is text (sent to the model with its name), PNG, JPEG, GIF
//! and WebP are images (sent as `image_url` data URLs). Anything else is refused with a reason.

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use boocode_protocol::{Attachment, AttachmentKind, Message, UploadId};
use boocode_store::Store;

/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 20 << 20;
/// Largest text file sent to a model as text (beyond that it would crowd out the conversation).
pub const MAX_TEXT_BYTES: usize = 512 << 10;
/// Longest file name kept.
const MAX_NAME_CHARS: usize = 200;

/// Why an upload or an attachment was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; uploads are at most {MAX_UPLOAD_BYTES} bytes")]
    TooBig { size: usize },
    #[error(
        "{name} is a text file of {size} bytes; text is sent to the model whole, so at most {MAX_TEXT_BYTES} bytes"
    )]
    TextTooBig { name: String, size: usize },
    #[error(
        "{name} is a PDF: boocode cannot extract its text yet; paste the text or attach it as a .txt file"
    )]
    Pdf { name: String },
    #[error(
        "{name} is neither text nor a PNG, JPEG, GIF or WebP image; only those can be attached"
    )]
    UnknownType { name: String },
    #[error("no upload {0}")]
    Unknown(UploadId),
    #[error(transparent)]
    Store(#[from] boocode_store::StoreError),
    #[error("storing the upload failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Where uploads live and how they are read back.
#[derive(Clone)]
pub struct Uploads {
    dir: PathBuf,
    store: Arc<dyn Store>,
}

/// What a file's first bytes say it is.
fn sniff(bytes: &[u8]) -> Option<(AttachmentKind, &'static str)> {
    let image = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    };
    if let Some(mime) = image {
        return Some((AttachmentKind::Image, mime));
    }
    if !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        return Some((AttachmentKind::Text, "text/plain"));
    }
    None
}

/// The name shown for a file: its last path component, control characters dropped, shortened.
fn display_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if clean.trim().is_empty() {
        "file".to_owned()
    } else {
        clean
    }
}

impl Uploads {
    /// Uploads under `data_dir/uploads`.
    pub fn new(data_dir: &std::path::Path, store: Arc<dyn Store>) -> Self {
        Self {
            dir: data_dir.join("uploads"),
            store,
        }
    }

    fn path(&self, id: &UploadId) -> PathBuf {
        // Ids are server-made UUIDs; nothing of the client's reaches the path.
        self.dir.join(id.as_str())
    }

    /// Checks and stores a file.
    pub async fn save(&self, name: &str, bytes: &[u8]) -> Result<Attachment, UploadError> {
        let name = display_name(name);
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(UploadError::TooBig { size: bytes.len() });
        }
        if bytes.starts_with(b"%PDF-") {
            return Err(UploadError::Pdf { name });
        }
        let (kind, mime) =
            sniff(bytes).ok_or_else(|| UploadError::UnknownType { name: name.clone() })?;
        if kind == AttachmentKind::Text && bytes.len() > MAX_TEXT_BYTES {
            return Err(UploadError::TextTooBig {
                name,
                size: bytes.len(),
            });
        }
        let mime = if kind == AttachmentKind::Text {
            mime_guess::from_path(&name)
                .first()
                .filter(|m| m.type_() == "text")
                .map_or_else(|| mime.to_owned(), |m| m.essence_str().to_owned())
        } else {
            mime.to_owned()
        };
        let upload = Attachment {
            id: UploadId(uuid::Uuid::now_v7().to_string()),
            name,
            kind,
            mime,
            size: bytes.len() as u64,
        };
        tokio::fs::create_dir_all(&self.dir).await?;
        tokio::fs::write(self.path(&upload.id), bytes).await?;
        if let Err(e) = self.store.insert_upload(&upload).await {
            let _ = tokio::fs::remove_file(self.path(&upload.id)).await;
            return Err(e.into());
        }
        Ok(upload)
    }

    /// The uploads named by a message, in the order given; an unknown id is an error.
    pub async fn resolve(&self, ids: &[UploadId]) -> Result<Vec<Attachment>, UploadError> {
        let found = self.store.get_uploads(ids).await?;
        ids.iter()
            .map(|id| {
                found
                    .iter()
                    .find(|a| &a.id == id)
                    .cloned()
                    .ok_or_else(|| UploadError::Unknown(id.clone()))
            })
            .collect()
    }

    /// The bytes of an upload.
    pub async fn read(&self, id: &UploadId) -> Result<Vec<u8>, UploadError> {
        Ok(tokio::fs::read(self.path(id)).await?)
    }

    /// A user message as the model sees it: its text, each text file after it under its name, and
    /// each image as a data URL. A file gone from disk is said in the text rather than failing.
    pub async fn model_content(&self, m: &Message, text: String) -> (String, Vec<String>) {
        let mut content = text;
        let mut images = Vec::new();
        for a in &m.attachments {
            match (a.kind, self.read(&a.id).await) {
                (AttachmentKind::Text, Ok(bytes)) => {
                    let body = String::from_utf8_lossy(&bytes);
                    content.push_str(&format!(
                        "\n\nFile: {}\n```\n{}\n```",
                        a.name,
                        body.trim_end()
                    ));
                }
                (AttachmentKind::Image, Ok(bytes)) => {
                    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                    images.push(format!("data:{};base64,{data}", a.mime));
                }
                (_, Err(e)) => {
                    tracing::warn!(upload = %a.id, error = %e, "attachment unreadable");
                    content.push_str(&format!(
                        "\n\n(The attached file {} is no longer available.)",
                        a.name
                    ));
                }
            }
        }
        (content, images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_their_bytes() {
        assert_eq!(
            sniff(b"fn main() {}\n").map(|s| s.0),
            Some(AttachmentKind::Text)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\nrest").map(|s| s.1),
            Some("image/png")
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|s| s.1),
            Some("image/webp")
        );
        assert!(sniff(b"\x7fELF\x02\x01\x01\0\0").is_none());
        assert!(sniff(&[0xff, 0xfe, 0x00]).is_none());
    }

    #[test]
    fn names_never_carry_paths() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\tmp\\a.rs"), "a.rs");
        assert_eq!(display_name("\u{1b}[31mx"), "[31mx");
        assert_eq!(display_name(""), "file");
    }
}
