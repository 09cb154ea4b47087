-- Frame numbers handed out ahead of the journal: a process reserves a block before numbering frames in
-- it, so after an unclean stop numbering resumes past any number a client could have seen.
CREATE TABLE frame_seq_reservations (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    reserved_upto BIGINT NOT NULL
);

-- One row rewritten by the health check: proves a write transaction commits (disk full, read-only).
CREATE TABLE store_health (
    id INTEGER PRIMARY KEY,
    checked_at TEXT NOT NULL
);
