-- A reviewer's comments on lines of a change, with the line's text (to find it again in later diffs),
-- and the turn "request changes" sent them to.
CREATE TABLE review_comments (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    change_id TEXT NOT NULL,
    path TEXT NOT NULL,
    line INTEGER NOT NULL,
    side TEXT NOT NULL,
    quoted TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    task_id TEXT
);

CREATE INDEX review_comments_session ON review_comments (session_id, created_at);
