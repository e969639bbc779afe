-- Manifests locked against reading, per repository: a blob read checks
-- whether such a manifest hides the blob, and this keeps the check free
-- in the usual repository that has none.
CREATE INDEX manifests_read_locked ON manifests (repository_id) WHERE read_enabled = 0;
