-- Live workers say so every few seconds; a chat reply records the worker streaming it, so a reply whose
-- worker stopped saying so (killed) can be closed by any other worker.
CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    last_seen TIMESTAMPTZ NOT NULL
);
ALTER TABLE messages ADD COLUMN worker_id TEXT;
