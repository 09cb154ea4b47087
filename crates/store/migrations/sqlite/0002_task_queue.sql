-- The queue's working columns: which message a task writes, why it failed, a cancel request another
-- process can see; the commit a pending change ends at. At most one running task per session.
ALTER TABLE tasks ADD COLUMN message_id TEXT;
ALTER TABLE tasks ADD COLUMN error TEXT;
ALTER TABLE tasks ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pending_changes ADD COLUMN head_commit TEXT;
CREATE UNIQUE INDEX tasks_one_running_per_session ON tasks(session_id) WHERE state = 'running';
