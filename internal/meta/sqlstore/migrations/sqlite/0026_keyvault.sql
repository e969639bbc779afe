-- A small Key Vault: vaults, versioned secrets, and who may read them
-- (role Key Vault Secrets User; vault_id 0 is every vault).
CREATE TABLE key_vaults (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE key_vault_secrets (
    vault_id   INTEGER NOT NULL REFERENCES key_vaults(id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    version    TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (vault_id, name, version)
);
CREATE INDEX key_vault_secrets_latest ON key_vault_secrets (vault_id, name, created_at);

CREATE TABLE key_vault_roles (
    id           INTEGER PRIMARY KEY,
    vault_id     INTEGER NOT NULL,
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    role         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (vault_id, principal_id, role)
);
