-- Every entity of docs/ARCHITECTURE.md §3. Timestamps are RFC 3339 text (UTC); JSON is text.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    default_model TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    model TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL
);
CREATE INDEX sessions_project ON sessions(project_id, created_at);

CREATE TABLE chats (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'chat',
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL
);
CREATE INDEX chats_session ON chats(session_id, created_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    error TEXT,
    model TEXT,
    agent TEXT,
    tokens_prompt INTEGER,
    tokens_completion INTEGER,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX messages_chat ON messages(chat_id, id);
CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming';

CREATE TABLE tool_calls (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    call_id TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    raw_input TEXT,
    raw_output TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (message_id, call_id)
);

CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    session_id TEXT REFERENCES sessions(id) ON DELETE CASCADE,
    chat_id TEXT,
    input TEXT NOT NULL,
    agent TEXT NOT NULL,
    model TEXT,
    mode_id TEXT,
    thinking_option_id TEXT,
    feature_values TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    execution_path TEXT,
    output_summary TEXT,
    cost_tokens INTEGER,
    worker_id TEXT,
    lease_until TEXT,
    lease_generation INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT
);
CREATE INDEX tasks_pending ON tasks(state, created_at);
CREATE INDEX tasks_session ON tasks(session_id, created_at);

CREATE TABLE pending_changes (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    task_id TEXT,
    agent TEXT,
    diff TEXT NOT NULL,
    files_changed INTEGER NOT NULL DEFAULT 0,
    insertions INTEGER NOT NULL DEFAULT 0,
    deletions INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX pending_changes_session ON pending_changes(session_id, created_at);

CREATE TABLE session_worktrees (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    worktree_path TEXT NOT NULL,
    branch TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE agent_sessions (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    agent TEXT NOT NULL,
    backend TEXT NOT NULL,
    agent_session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    last_active_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (session_id, agent)
);

CREATE TABLE permission_requests (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    task_id TEXT,
    tool_call TEXT NOT NULL,
    options TEXT NOT NULL,
    decision TEXT,
    created_at TEXT NOT NULL,
    decided_at TEXT
);

CREATE TABLE available_agents (
    name TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    install_path TEXT,
    version TEXT,
    supports_acp INTEGER NOT NULL DEFAULT 0,
    models TEXT,
    modes TEXT,
    commands TEXT,
    probe_error TEXT,
    last_probed_at TEXT
);

CREATE TABLE frames (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX frames_created ON frames(created_at);
