-- Documents, their versions and chunks, and ingest jobs.
CREATE TABLE documents (
    id                TEXT PRIMARY KEY,
    source            TEXT NOT NULL UNIQUE,
    title             TEXT NOT NULL,
    active_version_id TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE TABLE versions (
    id            TEXT PRIMARY KEY,
    document_id   TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number        INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    format        TEXT NOT NULL,
    groups        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('indexing', 'active', 'superseded', 'failed')),
    pages         INTEGER NOT NULL DEFAULT 0,
    chunk_count   INTEGER NOT NULL DEFAULT 0,
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
    ordinal      INTEGER NOT NULL,
    section      TEXT NOT NULL,
    page         INTEGER,
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
    pages       INTEGER NOT NULL DEFAULT 0,
    chunks      INTEGER NOT NULL DEFAULT 0,
    embedded    INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
