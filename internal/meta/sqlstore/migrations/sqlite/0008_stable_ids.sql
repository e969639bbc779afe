-- foreign_keys: off
-- Registries, principals and role assignments never reuse an id (without
-- AUTOINCREMENT SQLite hands out the largest deleted id again, and a new
-- identity could inherit what pointed at a deleted one). Principals gain a
-- random uid, which tokens name instead of the id, and two generations a
-- revocation moves on: token_gen ends every token (a reset or renewed
-- secret, a disabled token), grant_gen ends access tokens whose grants
-- were taken away (a removed role, a changed scope map).
-- Tables are rebuilt with foreign keys off (the migration runner honours
-- the first line), so that dropping the old ones cascades nowhere.
CREATE TABLE registries_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    login_server   TEXT    NOT NULL UNIQUE,
    sku            TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    admin_enabled  INTEGER NOT NULL DEFAULT 0,
    anonymous_pull INTEGER NOT NULL DEFAULT 0,
    throttling     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO registries_new (id, name, login_server, sku, created_at, updated_at, admin_enabled, anonymous_pull, throttling)
    SELECT id, name, login_server, sku, created_at, updated_at, admin_enabled, anonymous_pull, throttling FROM registries;
DROP TABLE registries;
ALTER TABLE registries_new RENAME TO registries;

CREATE TABLE principals_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    uid         TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    registry_id INTEGER NOT NULL DEFAULT 0,
    scope_map   TEXT    NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT 1,
    token_gen   INTEGER NOT NULL DEFAULT 0,
    grant_gen   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (registry_id, name)
);
INSERT INTO principals_new (id, uid, kind, name, registry_id, scope_map, enabled, created_at)
    SELECT id, lower(hex(randomblob(16))), kind, name, registry_id, scope_map, enabled, created_at FROM principals;
DROP TABLE principals;
ALTER TABLE principals_new RENAME TO principals;
CREATE INDEX principals_name ON principals (name);

CREATE TABLE role_assignments_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    role         TEXT    NOT NULL,
    registry_id  INTEGER NOT NULL,
    repository   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (principal_id, role, registry_id, repository)
);
INSERT INTO role_assignments_new SELECT id, principal_id, role, registry_id, repository, created_at FROM role_assignments;
DROP TABLE role_assignments;
ALTER TABLE role_assignments_new RENAME TO role_assignments;
CREATE INDEX role_assignments_principal ON role_assignments (principal_id);
