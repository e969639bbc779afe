-- Which registry uploaded each build context: a run may build only from a
-- source uploaded to its own registry, not from any blob whose digest its
-- caller knows.
CREATE TABLE task_sources (
    registry_id BIGINT  NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    digest      TEXT COLLATE "C" NOT NULL REFERENCES blobs(digest) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (registry_id, digest)
);
