-- Identity and access.
ALTER TABLE registries ADD COLUMN admin_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE registries ADD COLUMN anonymous_pull INTEGER NOT NULL DEFAULT 0;

-- Every identity that can authenticate. Users, service principals and
-- managed identities are server-wide (registry_id 0); repository-scoped
-- tokens and admin users belong to one registry.
CREATE TABLE principals (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    registry_id INTEGER NOT NULL DEFAULT 0,
    scope_map   TEXT    NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    UNIQUE (registry_id, name)
);

-- Secrets, only as slow hashes (argon2id PHC strings).
CREATE TABLE credentials (
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (principal_id, name)
);

-- registry_id 0 = every registry; repository '' = the whole registry.
CREATE TABLE role_assignments (
    id           INTEGER PRIMARY KEY,
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    role         TEXT    NOT NULL,
    registry_id  INTEGER NOT NULL,
    repository   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (principal_id, role, registry_id, repository)
);
CREATE INDEX role_assignments_principal ON role_assignments (principal_id);

CREATE TABLE scope_maps (
    registry_id INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    actions     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (registry_id, name)
);

-- Token signing keys: the newest unretired key signs; every key verifies
-- until the tokens it signed have expired.
CREATE TABLE signing_keys (
    id          TEXT    PRIMARY KEY,
    private_key BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER NOT NULL DEFAULT 0
);

-- The audit log: logins and repository operations, never secrets.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    registry_id INTEGER NOT NULL,
    category    TEXT    NOT NULL,
    operation   TEXT    NOT NULL,
    identity    TEXT    NOT NULL,
    repository  TEXT    NOT NULL,
    tag         TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    caller_ip   TEXT    NOT NULL,
    user_agent  TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (registry_id, at);
