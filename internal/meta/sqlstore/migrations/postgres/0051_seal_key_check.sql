-- One value sealed under the key that seals secrets at rest (written by
-- the first node to start): a node whose key file differs cannot open it
-- and refuses to start, instead of sealing with a key the others lack.
CREATE TABLE seal_key_check (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    sealed TEXT    NOT NULL
);
