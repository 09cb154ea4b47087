-- Chats you can find and branch: list fields, per-chat settings, messages as a tree, reply metrics,
-- presets, and full-text search over finished message text (a GIN index on its tsvector).
ALTER TABLE chats ADD COLUMN updated_at TIMESTAMPTZ;
ALTER TABLE chats ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE chats ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE chats ADD COLUMN active_leaf_id TEXT;
ALTER TABLE chats ADD COLUMN model TEXT;
ALTER TABLE chats ADD COLUMN system_prompt TEXT;
ALTER TABLE chats ADD COLUMN params JSONB;

ALTER TABLE messages ADD COLUMN parent_id TEXT;
ALTER TABLE messages ADD COLUMN ttft_ms BIGINT;
ALTER TABLE messages ADD COLUMN duration_ms BIGINT;

-- Until now a chat was a line: each message follows the one before it.
UPDATE messages SET parent_id = (
    SELECT p.id FROM messages p WHERE p.chat_id = messages.chat_id AND p.id < messages.id
    ORDER BY p.id DESC LIMIT 1
);
UPDATE chats SET
    active_leaf_id = (SELECT MAX(m.id) FROM messages m WHERE m.chat_id = chats.id),
    updated_at = COALESCE((SELECT MAX(m.created_at) FROM messages m WHERE m.chat_id = chats.id), created_at);
CREATE INDEX messages_parent ON messages(parent_id);
CREATE INDEX chats_recent ON chats(archived, pinned, updated_at);

CREATE TABLE presets (
    id TEXT PRIMARY KEY,
    project_id TEXT REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    params JSONB,
    created_at TIMESTAMPTZ NOT NULL
);

-- Only finished text is indexed: checkpoints of a streaming reply do not touch the index.
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', content))
    WHERE status <> 'streaming';
