-- Accounts and access: local users with their groups, login sessions, API keys for integrations,
-- conversation ownership, feedback on answers and the audit log of questions.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    -- argon2 PHC string; NULL for accounts that only sign in through the trusted SSO header.
    password_hash TEXT,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'employee')),
    groups        TEXT NOT NULL DEFAULT '[]',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- A session is known by the sha256 of its cookie token; the token itself is never stored.
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
    -- The key's first characters, shown in lists so admins can tell keys apart.
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('ask', 'admin')),
    -- JSON array of groups the key acts with (ask scope); NULL means only `everyone`.
    groups       TEXT,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Who a conversation belongs to (`user:<id>`, `key:<id>`, `sso:<name>`); NULL for conversations
-- started before accounts existed, readable by no one.
ALTER TABLE conversations ADD COLUMN owner TEXT;
CREATE INDEX conversations_owner ON conversations(owner, updated_at);

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
    -- `ask`, `chat` (OpenAI-compatible endpoint) or `search`.
    action          TEXT NOT NULL,
    question        TEXT NOT NULL,
    -- JSON array of the cited document ids.
    cited           TEXT NOT NULL DEFAULT '[]',
    abstained       INTEGER NOT NULL DEFAULT 0,
    conversation_id TEXT,
    message_id      TEXT
);
CREATE INDEX audit_at ON audit_log(at);
