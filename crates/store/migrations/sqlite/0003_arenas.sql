-- Arenas: one input raced by several contenders, each in its own session and worktree from one base.
CREATE TABLE arenas (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    input TEXT NOT NULL,
    check_command TEXT,
    check_timeout_secs INTEGER NOT NULL,
    base_commit TEXT NOT NULL,
    status TEXT NOT NULL,
    picked INTEGER,
    picked_change TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX arenas_project ON arenas(project_id, created_at);
CREATE TABLE arena_contenders (
    arena_id TEXT NOT NULL REFERENCES arenas(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    agent TEXT NOT NULL,
    model TEXT,
    mode_id TEXT,
    session_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    check_result TEXT,
    PRIMARY KEY (arena_id, idx)
);
CREATE INDEX arena_contenders_session ON arena_contenders(session_id);
