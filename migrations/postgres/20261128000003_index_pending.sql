-- A version is activated in the database, then in the vector index. Until the index confirms,
-- the version carries the time its activation began, so a process that stopped between the two
-- steps has the activation finished at the next start instead of leaving the document invisible.
ALTER TABLE versions ADD COLUMN index_pending_since TEXT;
