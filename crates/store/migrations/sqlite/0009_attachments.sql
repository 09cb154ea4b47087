-- Uploaded files (the bytes live in the data directory under the upload's id) and the ones each
-- message was sent with.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
ALTER TABLE messages ADD COLUMN attachments TEXT;
