-- Tasks (saved builds with triggers), their runs as a leased job queue,
-- the logs of runs in progress, the base images each task last used, and
-- named cursors (the base-image trigger's position in the event outbox).
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    registry_id   INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    spec          BLOB    NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    next_timer_at INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (registry_id, name)
);

CREATE TABLE task_bases (
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    ref     TEXT    NOT NULL,
    digest  TEXT    NOT NULL,
    PRIMARY KEY (task_id, ref)
);
CREATE INDEX task_bases_ref ON task_bases (ref);

CREATE TABLE task_cursors (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE task_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    registry_id INTEGER NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
    task_id     INTEGER NOT NULL DEFAULT 0,
    task_name   TEXT    NOT NULL DEFAULT '',
    run_trigger TEXT    NOT NULL,
    spec        BLOB    NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    output      BLOB,
    log_digest  TEXT    NOT NULL DEFAULT '',
    node        TEXT    NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    cancel      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX task_runs_state ON task_runs (state, id);
CREATE INDEX task_runs_registry ON task_runs (registry_id, id);
CREATE INDEX task_runs_finished ON task_runs (finished_at);

CREATE TABLE task_run_logs (
    run_id INTEGER NOT NULL REFERENCES task_runs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BLOB    NOT NULL,
    PRIMARY KEY (run_id, seq)
);
