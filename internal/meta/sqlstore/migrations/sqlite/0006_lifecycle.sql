-- Lifecycle: when a manifest lost its last tag (0: tagged), work queued for
-- garbage collection, exact per-registry usage, retention and purge jobs.
ALTER TABLE manifests ADD COLUMN untagged_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX manifests_untagged ON manifests (untagged_at) WHERE untagged_at > 0;

-- kind 0: a repository's link to a blob, to drop when no manifest there
-- references it; kind 1: a blob, to delete when nothing links it.
CREATE TABLE gc_queue (
    kind          INTEGER NOT NULL,
    repository_id INTEGER NOT NULL,
    digest        TEXT    NOT NULL,
    not_before    INTEGER NOT NULL,
    PRIMARY KEY (kind, repository_id, digest)
);
CREATE INDEX gc_queue_due ON gc_queue (not_before);

CREATE TABLE registry_usage (
    registry_id INTEGER PRIMARY KEY,
    bytes       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE retention_policies (
    registry_id     INTEGER PRIMARY KEY REFERENCES registries(id) ON DELETE CASCADE,
    enabled         INTEGER NOT NULL,
    days            INTEGER NOT NULL,
    enabled_at      INTEGER NOT NULL,
    keep_tags       INTEGER NOT NULL DEFAULT 0,
    keep_filter     TEXT    NOT NULL DEFAULT '',
    not_pulled_days INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE purge_schedules (
    id          INTEGER PRIMARY KEY,
    registry_id INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    schedule    TEXT    NOT NULL,
    args        TEXT    NOT NULL,
    next_run_at INTEGER NOT NULL,
    last_run_at INTEGER NOT NULL DEFAULT 0,
    last_result TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (registry_id, name)
);

ALTER TABLE registries ADD COLUMN throttling INTEGER NOT NULL DEFAULT 0;
