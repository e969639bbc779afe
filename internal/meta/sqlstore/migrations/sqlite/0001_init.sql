-- The core model. Times are Unix nanoseconds; booleans are 0/1 integers so the
-- same queries run on SQLite and PostgreSQL.
CREATE TABLE registries (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    login_server TEXT    NOT NULL UNIQUE,
    sku          TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE repositories (
    id             INTEGER PRIMARY KEY,
    registry_id    INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    delete_enabled INTEGER NOT NULL DEFAULT 1,
    write_enabled  INTEGER NOT NULL DEFAULT 1,
    read_enabled   INTEGER NOT NULL DEFAULT 1,
    list_enabled   INTEGER NOT NULL DEFAULT 1,
    UNIQUE (registry_id, name)
);

CREATE TABLE blobs (
    digest     TEXT    PRIMARY KEY,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE blob_links (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT    NOT NULL REFERENCES blobs(digest),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX blob_links_digest ON blob_links (digest);

CREATE TABLE manifests (
    id                INTEGER PRIMARY KEY,
    repository_id     INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest            TEXT    NOT NULL,
    media_type        TEXT    NOT NULL,
    artifact_type     TEXT    NOT NULL,
    config_media_type TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    size              INTEGER NOT NULL,
    image_size        INTEGER NOT NULL,
    annotations       TEXT    NOT NULL,
    architecture      TEXT    NOT NULL,
    os                TEXT    NOT NULL,
    content           BLOB    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    last_pulled_at    INTEGER NOT NULL DEFAULT 0,
    delete_enabled    INTEGER NOT NULL DEFAULT 1,
    write_enabled     INTEGER NOT NULL DEFAULT 1,
    read_enabled      INTEGER NOT NULL DEFAULT 1,
    list_enabled      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests (repository_id, subject);

-- What each manifest references: blobs (kind 0) and child manifests (kind 1).
CREATE TABLE manifest_refs (
    manifest_id INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    digest      TEXT    NOT NULL,
    kind        INTEGER NOT NULL,
    PRIMARY KEY (manifest_id, kind, digest)
);
CREATE INDEX manifest_refs_digest ON manifest_refs (digest);

CREATE TABLE tags (
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    manifest_id    INTEGER NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_pulled_at INTEGER NOT NULL DEFAULT 0,
    delete_enabled INTEGER NOT NULL DEFAULT 1,
    write_enabled  INTEGER NOT NULL DEFAULT 1,
    read_enabled   INTEGER NOT NULL DEFAULT 1,
    list_enabled   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (repository_id, name)
);
CREATE INDEX tags_manifest ON tags (manifest_id);
CREATE INDEX tags_updated ON tags (repository_id, updated_at);

CREATE TABLE uploads (
    id          TEXT    PRIMARY KEY,
    registry_id INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    repository  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The outbox: every change writes its events in its own transaction.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    registry_id INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    repository  TEXT    NOT NULL,
    tag         TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    media_type  TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    payload     BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
