-- A change of a document's groups is recorded here first, then made in the vector index, then
-- committed to the active version and cleared. While it is set, reads require both the old and the
-- new groups (the narrower wins), and a start re-applies it.
ALTER TABLE documents ADD COLUMN pending_groups TEXT;
