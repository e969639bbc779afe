-- Indexes in the order of the time-ordered listings (ACR's orderby=timedesc
-- and timeasc), key column last, so that a page is read in index order
-- without sorting and its key-range condition is checked on the index alone.
-- tags_updated_name starts with tags_updated's columns and replaces it.
CREATE INDEX tags_updated_name ON tags (repository_id, updated_at, name);
DROP INDEX tags_updated;
CREATE INDEX manifests_updated ON manifests (repository_id, updated_at, digest);
