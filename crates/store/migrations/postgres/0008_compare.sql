-- Replies sent to several models at once for one message (a side-by-side comparison).
ALTER TABLE messages ADD COLUMN compared BOOLEAN NOT NULL DEFAULT FALSE;
