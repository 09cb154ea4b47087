-- Chats you can find and branch: list fields, per-chat settings, messages as a tree, reply metrics,
-- presets, and full-text search over finished message text (FTS5).
ALTER TABLE chats ADD COLUMN updated_at TEXT;
ALTER TABLE chats ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN active_leaf_id TEXT;
ALTER TABLE chats ADD COLUMN model TEXT;
ALTER TABLE chats ADD COLUMN system_prompt TEXT;
ALTER TABLE chats ADD COLUMN params TEXT;

ALTER TABLE messages ADD COLUMN parent_id TEXT;
ALTER TABLE messages ADD COLUMN ttft_ms INTEGER;
ALTER TABLE messages ADD COLUMN duration_ms INTEGER;

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
    params TEXT,
    created_at TEXT NOT NULL
);

-- The FTS rowid must not be the messages rowid (VACUUM may renumber it): a row of its own per message.
CREATE TABLE message_search_rows (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE message_fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');

-- Text is indexed once it stops streaming (checkpoints every 250 ms would rewrite it for nothing).
CREATE TRIGGER message_fts_insert AFTER INSERT ON messages
WHEN new.status <> 'streaming' AND new.content <> '' BEGIN
    INSERT INTO message_search_rows (message_id) VALUES (new.id);
    INSERT INTO message_fts (rowid, text) VALUES (last_insert_rowid(), new.content);
END;
CREATE TRIGGER message_fts_update AFTER UPDATE OF content, status ON messages
WHEN new.status <> 'streaming' BEGIN
    DELETE FROM message_fts WHERE rowid = (SELECT id FROM message_search_rows WHERE message_id = old.id);
    DELETE FROM message_search_rows WHERE message_id = old.id;
    INSERT INTO message_search_rows (message_id) SELECT new.id WHERE new.content <> '';
    INSERT INTO message_fts (rowid, text) SELECT last_insert_rowid(), new.content WHERE new.content <> '';
END;
CREATE TRIGGER message_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_fts WHERE rowid = (SELECT id FROM message_search_rows WHERE message_id = old.id);
    DELETE FROM message_search_rows WHERE message_id = old.id;
END;

INSERT INTO message_search_rows (message_id)
    SELECT id FROM messages WHERE status <> 'streaming' AND content <> '';
INSERT INTO message_fts (rowid, text)
    SELECT r.id, m.content FROM message_search_rows r JOIN messages m ON m.id = r.message_id;
