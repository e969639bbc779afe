-- Each reference records its manifest's repository (manifests never move),
-- so that "does a manifest of repository R reference digest D" (GC's link
-- check, a child's or a blob's read-lock check) is one probe of
-- (digest, kind, repository_id), whatever the repository's size or the
-- digest's popularity elsewhere. References still go with their manifest
-- (ON DELETE CASCADE on manifest_id), so the copy needs no cascade of its
-- own. The default only serves the backfill: every insert names it.
ALTER TABLE manifest_refs ADD COLUMN repository_id BIGINT NOT NULL DEFAULT 0;
UPDATE manifest_refs r SET repository_id = m.repository_id FROM manifests m WHERE m.id = r.manifest_id;
ALTER TABLE manifest_refs ALTER COLUMN repository_id DROP DEFAULT;
DROP INDEX manifest_refs_digest;
CREATE INDEX manifest_refs_digest_repository ON manifest_refs (digest, kind, repository_id);
