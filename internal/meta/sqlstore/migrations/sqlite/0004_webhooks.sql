-- Webhooks and their deliveries. A webhook's cursor is the last outbox
-- event it has considered; deliveries are its queue, delivered in id order.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    registry_id INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    uri         TEXT    NOT NULL,
    actions     TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    headers     TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    secret      TEXT    NOT NULL DEFAULT '',
    cursor      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (registry_id, name)
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL,
    action          TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    response        TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, state, id);
