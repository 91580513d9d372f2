-- A persistent ingest queue: what a job needs to run (or run again after a restart) lives in its
-- row; the uploaded bytes wait in the content-addressed originals folder under `blob`.
ALTER TABLE jobs ADD COLUMN groups TEXT NOT NULL DEFAULT '["everyone"]';
ALTER TABLE jobs ADD COLUMN blob TEXT;
ALTER TABLE jobs ADD COLUMN reindex INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN origin TEXT NOT NULL DEFAULT 'upload';
ALTER TABLE jobs ADD COLUMN not_before TEXT;
ALTER TABLE jobs ADD COLUMN error_kind TEXT;
CREATE INDEX jobs_queue ON jobs(status, created_at);

-- Where a document came from: the watched folder deletes only what it added.
ALTER TABLE documents ADD COLUMN origin TEXT NOT NULL DEFAULT 'upload';
