-- Web apps (App Service for containers): plans and apps. An app's
-- configuration and status are JSON documents owned by package webapps,
-- so that settings can grow without a migration.
CREATE TABLE appservice_plans (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    sku        TEXT    NOT NULL,
    workers    INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE webapps (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    plan_id      INTEGER NOT NULL REFERENCES appservice_plans(id),
    principal_id INTEGER NOT NULL DEFAULT 0,
    config       TEXT    NOT NULL,
    status       TEXT    NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX webapps_plan ON webapps (plan_id);
