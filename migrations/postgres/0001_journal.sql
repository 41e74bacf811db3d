-- The PostgreSQL journal, version 1: the same records as the SQLite schema at its version 5
-- (src/journal/sqlite/schema.rs), in PostgreSQL's own types, plus the sessions that make a lock
-- holder's liveness visible across machines. Applied by `sqlx::migrate!` at open; append new
-- files, never edit one that has shipped.

CREATE TABLE runs (
    run_id       TEXT PRIMARY KEY,
    -- Insertion order: the tie-break of runs started in the same microsecond (SQLite's rowid).
    ord          BIGINT GENERATED ALWAYS AS IDENTITY,
    tenant       TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    script       TEXT NOT NULL,
    script_hash  TEXT NOT NULL,
    mode         TEXT NOT NULL CHECK (mode IN ('plan', 'apply')),
    status       TEXT NOT NULL,
    options      JSONB NOT NULL,
    report       JSONB,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    ticket       TEXT
);
CREATE INDEX runs_by_started_at ON runs (started_at);
CREATE INDEX runs_by_tenant_mode ON runs (tenant, mode);

CREATE TABLE steps (
    run_id         TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    step_id        TEXT NOT NULL,
    -- Order of first insertion (an upsert keeps it). A sequence rather than MAX(seq) + 1: two
    -- connections recording steps of one run at once cannot draw the same number.
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    phase          TEXT NOT NULL,
    action         TEXT NOT NULL,
    directory      TEXT NOT NULL,
    target_kind    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    target_display TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    params         JSONB NOT NULL,
    required       BOOLEAN NOT NULL,
    idempotent     BOOLEAN NOT NULL,
    status         TEXT NOT NULL,
    detail         TEXT NOT NULL,
    prior          JSONB NOT NULL,
    result         JSONB,
    observed_at    TIMESTAMPTZ NOT NULL,
    intent_at      TIMESTAMPTZ,
    outcome_at     TIMESTAMPTZ,
    PRIMARY KEY (run_id, step_id)
);
CREATE INDEX steps_by_target_action_intent ON steps (target_id, action, intent_at) WHERE intent_at IS NOT NULL;

-- One row per open journal (a process on some machine), kept alive by its heartbeat. A lock
-- whose session stopped beating (the machine died, the network went) or is gone (the process
-- closed its journal) has no live holder: a pid means nothing on another machine.
CREATE TABLE journal_sessions (
    session_id   TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The writer lock per (tenant, user): a row, taken and checked under SELECT … FOR UPDATE.
-- No foreign key to runs (the lock may be taken before the run row exists) nor to the session
-- (a session that is gone must leave the lock behind to be taken over).
CREATE TABLE locks (
    tenant      TEXT NOT NULL,
    -- The lower-cased UPN: users compare case-insensitively.
    user_key    TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    session_id  TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant, user_key)
);
CREATE INDEX locks_by_run ON locks (run_id);

CREATE TABLE psa_outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant       TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('create_ticket', 'status', 'note')),
    marker       TEXT NOT NULL,
    payload      JSONB NOT NULL,
    delivered    BOOLEAN NOT NULL DEFAULT FALSE,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ,
    UNIQUE (run_id, marker)
);
CREATE INDEX psa_outbox_pending ON psa_outbox (tenant, delivered, id);

CREATE TABLE workflow (
    id             TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('approval', 'schedule')),
    tenant         TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    script         TEXT NOT NULL,
    script_hash    TEXT NOT NULL,
    options        JSONB NOT NULL,
    plan           JSONB NOT NULL,
    status         TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    at             TIMESTAMPTZ NOT NULL,
    decided_by     TEXT,
    decided_at     TIMESTAMPTZ,
    reason         TEXT,
    claimed_by     TEXT,
    applied_run_id TEXT,
    note           TEXT,
    policy         TEXT,
    requested_by   TEXT,
    decided_os     TEXT,
    lease_until    TIMESTAMPTZ
);
CREATE INDEX workflow_due ON workflow (kind, status, at);
