-- A session's standing "always allow" answers: a permission request of this tool kind is allowed
-- without asking. Revocable from the UI.
CREATE TABLE permission_rules (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (session_id, kind)
);

CREATE INDEX permission_requests_session ON permission_requests (session_id, created_at);
