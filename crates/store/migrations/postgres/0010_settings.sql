-- Server-wide settings changed from the UI (the global default model), key → value.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
