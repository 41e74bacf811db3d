//! Schema migrations for the SQLite journal, tracked with `PRAGMA user_version`.
//!
//! Each entry of [`MIGRATIONS`] moves the schema from version `i` to `i + 1`. They run in order,
//! all pending ones inside one `IMMEDIATE` transaction, so two processes opening a fresh file at
//! the same moment cannot both apply the same migration (the second waits on the write lock,
//! then re-reads `user_version` and finds nothing to do). Adding a migration is appending one
//! string; never edit one that has shipped.

use rusqlite::{Connection, TransactionBehavior};

/// Version 1: runs, steps and the per-(tenant, user) writer lock.
const V1_RUNS_STEPS_LOCKS: &str = r#"
CREATE TABLE runs (
    run_id       TEXT PRIMARY KEY NOT NULL,
    tenant       TEXT NOT NULL,
    user         TEXT NOT NULL,
    script       TEXT NOT NULL,
    script_hash  TEXT NOT NULL,
    mode         TEXT NOT NULL CHECK (mode IN ('plan', 'apply')),
    status       TEXT NOT NULL,
    options_json TEXT NOT NULL,
    report_json  TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT
);
-- list_runs: newest first.
CREATE INDEX runs_by_started_at ON runs (started_at);
-- last_write: restrict the joined runs to one tenant's apply runs.
CREATE INDEX runs_by_tenant_mode ON runs (tenant, mode);

CREATE TABLE steps (
    run_id         TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    step_id        TEXT NOT NULL,
    -- Order of first insertion within the run; an upsert keeps it.
    seq            INTEGER NOT NULL,
    phase          TEXT NOT NULL,
    action         TEXT NOT NULL,
    directory      TEXT NOT NULL,
    target_kind    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    target_display TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    params_json    TEXT NOT NULL,
    required       INTEGER NOT NULL,
    idempotent     INTEGER NOT NULL,
    status         TEXT NOT NULL,
    detail         TEXT NOT NULL,
    prior_json     TEXT NOT NULL,
    result_json    TEXT,
    observed_at    TEXT NOT NULL,
    intent_at      TEXT,
    outcome_at     TEXT,
    PRIMARY KEY (run_id, step_id)
);
-- last_write: only steps with an intent are candidates, latest intent first.
CREATE INDEX steps_by_target_action_intent
    ON steps (target_id, action, intent_at) WHERE intent_at IS NOT NULL;

-- No foreign key to runs: the lock may be taken before the run row exists.
-- `user` holds the lower-cased UPN so the primary key compares users case-insensitively.
CREATE TABLE locks (
    tenant      TEXT NOT NULL,
    user        TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    PRIMARY KEY (tenant, user)
);
CREATE INDEX locks_by_run ON locks (run_id);
"#;

/// Version 2: the PSA outbox (notes and ticket changes waiting for delivery) and each run's ticket.
const V2_PSA_OUTBOX: &str = r#"
CREATE TABLE psa_outbox (
    id           INTEGER PRIMARY KEY,
    tenant       TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('create_ticket', 'status', 'note')),
    marker       TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    delivered    INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    delivered_at TEXT,
    UNIQUE (run_id, marker)
);
-- Delivery: one tenant's pending items in order.
CREATE INDEX psa_outbox_pending ON psa_outbox (tenant, delivered, id);
ALTER TABLE runs ADD COLUMN ticket TEXT;
"#;

/// Version 3: workflow control: runs awaiting approval and scheduled runs (see `journal::workflow`).
const V3_WORKFLOW: &str = r#"
CREATE TABLE workflow (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('approval', 'schedule')),
    tenant         TEXT NOT NULL,
    user           TEXT NOT NULL,
    script         TEXT NOT NULL,
    script_hash    TEXT NOT NULL,
    options_json   TEXT NOT NULL,
    plan_json      TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    -- approval: when the request expires; schedule: when the run is due.
    at             TEXT NOT NULL,
    decided_by     TEXT,
    decided_at     TEXT,
    reason         TEXT,
    claimed_by     TEXT,
    applied_run_id TEXT,
    note           TEXT
);
-- The worker: pending schedules by due time.
CREATE INDEX workflow_due ON workflow (kind, status, at);
"#;

/// Version 4: what binds an approval: the policy digest it was requested under, and the OS
/// account + host of the requester and of the approver (four eyes). Null for older items.
const V4_APPROVAL_BINDING: &str = r#"
ALTER TABLE workflow ADD COLUMN policy TEXT;
ALTER TABLE workflow ADD COLUMN requested_by TEXT;
ALTER TABLE workflow ADD COLUMN decided_os TEXT;
"#;

/// Version 5: a worker holds a running schedule under a lease it renews while it runs; once the
/// lease has run out (the worker died) another worker takes the item over. Null: no lease (an
/// item claimed before leases, taken over like an expired one).
const V5_WORKER_LEASE: &str = r#"
ALTER TABLE workflow ADD COLUMN lease_until TEXT;
"#;

/// Version 6: the console's audit log: every sign-in (and later every action) with the identity.
const V6_CONSOLE_AUDIT: &str = r#"
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    email       TEXT,
    detail_json TEXT NOT NULL
);
"#;

/// Version 7: the JSON API's request keys (`Idempotency-Key`): the first request's digest and,
/// once given, its answer (see `journal::request_keys`).
const V7_REQUEST_KEYS: &str = r#"
CREATE TABLE request_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    status       INTEGER,
    answer_json  TEXT,
    answered_at  TEXT,
    PRIMARY KEY (scope, key)
);
"#;

/// Version 8: the console's sign-in sessions, keyed by the SHA-256 of the session id (see
/// `journal::console_sessions`).
const V8_CONSOLE_SESSIONS: &str = r#"
CREATE TABLE console_sessions (
    key        TEXT PRIMARY KEY NOT NULL,
    state_json TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
"#;

/// All migrations, in order. Append only.
pub(super) const MIGRATIONS: &[&str] = &[
    V1_RUNS_STEPS_LOCKS,
    V2_PSA_OUTBOX,
    V3_WORKFLOW,
    V4_APPROVAL_BINDING,
    V5_WORKER_LEASE,
    V6_CONSOLE_AUDIT,
    V7_REQUEST_KEYS,
    V8_CONSOLE_SESSIONS,
];

/// Bring the schema up to date. Idempotent: a current database is left untouched.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), String> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| format!("starting migration: {e}"))?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| format!("reading schema version: {e}"))?;
    let target = MIGRATIONS.len();
    let current = usize::try_from(current).map_err(|_| format!("invalid schema version {current}"))?;
    if current > target {
        // A newer binary wrote this file; running old code over a newer schema could lose data.
        return Err(format!("schema version {current} is newer than this program supports ({target}); upgrade offboard-host"));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        tx.execute_batch(sql).map_err(|e| format!("applying migration {version}: {e}"))?;
        // PRAGMA does not take bound parameters; `version` is an integer we computed.
        tx.execute_batch(&format!("PRAGMA user_version = {version}")).map_err(|e| format!("recording schema version {version}: {e}"))?;
    }
    tx.commit().map_err(|e| format!("committing migrations: {e}"))
}
