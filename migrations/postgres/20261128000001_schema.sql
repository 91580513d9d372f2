-- The PostgreSQL schema: the same tables and columns as the SQLite migrations taken together
-- (timestamps as fixed-width RFC 3339 text, booleans as 0/1, JSON lists as text), so one set of
-- queries serves both databases.
CREATE TABLE documents (
    id                TEXT PRIMARY KEY,
    source            TEXT NOT NULL UNIQUE,
    title             TEXT NOT NULL,
    active_version_id TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    origin            TEXT NOT NULL DEFAULT 'upload'
);

CREATE TABLE versions (
    id            TEXT PRIMARY KEY,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number        BIGINT NOT NULL,
    content_hash  TEXT NOT NULL,
    format        TEXT NOT NULL,
    groups        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('indexing', 'active', 'superseded', 'failed')),
    pages         BIGINT NOT NULL DEFAULT 0,
    chunk_count   BIGINT NOT NULL DEFAULT 0,
    original_path TEXT NOT NULL,
    error         TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (document_id, number)
);
CREATE INDEX versions_document ON versions(document_id);

CREATE TABLE chunks (
    id           TEXT PRIMARY KEY,
    version_id   TEXT NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
    document_id  TEXT NOT NULL,
    ordinal      BIGINT NOT NULL,
    section      TEXT NOT NULL,
    page         BIGINT,
    text         TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE INDEX chunks_version ON chunks(version_id, ordinal);

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    document_id TEXT,
    version_id  TEXT,
    pages       BIGINT NOT NULL DEFAULT 0,
    chunks      BIGINT NOT NULL DEFAULT 0,
    embedded    BIGINT NOT NULL DEFAULT 0,
    attempts    BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    groups      TEXT NOT NULL DEFAULT '["everyone"]',
    blob        TEXT,
    reindex     BIGINT NOT NULL DEFAULT 0,
    origin      TEXT NOT NULL DEFAULT 'upload',
    not_before  TEXT,
    error_kind  TEXT
);
CREATE INDEX jobs_queue ON jobs(status, created_at);

CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    owner      TEXT
);
CREATE INDEX conversations_owner ON conversations(owner, updated_at);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    answer          TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, created_at);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'employee')),
    groups        TEXT NOT NULL DEFAULT '[]',
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('ask', 'admin')),
    groups       TEXT,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

CREATE TABLE feedback (
    id              TEXT PRIMARY KEY,
    message_id      TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    actor           TEXT NOT NULL,
    rating          TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment         TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (message_id, actor)
);
CREATE INDEX feedback_created ON feedback(created_at);

CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    actor_name      TEXT NOT NULL,
    action          TEXT NOT NULL,
    question        TEXT NOT NULL,
    cited           TEXT NOT NULL DEFAULT '[]',
    abstained       BIGINT NOT NULL DEFAULT 0,
    conversation_id TEXT,
    message_id      TEXT
);
CREATE INDEX audit_at ON audit_log(at);
