-- Which registry uploaded each build context: a run may build only from a
-- source uploaded to its own registry, not from any blob whose digest its
-- caller knows.
CREATE TABLE task_sources (
    registry_id INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    digest      TEXT    NOT NULL REFERENCES blobs(digest) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (registry_id, digest)
);
