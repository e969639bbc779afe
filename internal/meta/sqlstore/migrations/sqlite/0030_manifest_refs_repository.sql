-- Each reference records its manifest's repository (manifests never move),
-- so that "does a manifest of repository R reference digest D" (GC's link
-- check, a child's or a blob's read-lock check) is one probe of
-- (digest, kind, repository_id): without it the planner starts from the
-- repository's manifests, and the check costs the repository's size.
-- References still go with their manifest (ON DELETE CASCADE on
-- manifest_id), so the copy needs no cascade of its own.
ALTER TABLE manifest_refs ADD COLUMN repository_id INTEGER NOT NULL DEFAULT 0;
UPDATE manifest_refs SET repository_id = (SELECT m.repository_id FROM manifests m WHERE m.id = manifest_refs.manifest_id);
DROP INDEX manifest_refs_digest;
CREATE INDEX manifest_refs_digest_repository ON manifest_refs (digest, kind, repository_id);
