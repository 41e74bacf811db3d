//! The SQLite implementation of [`Journal`]: one local file per installation.
//!
//! SQLite because the CLI runs on a technician's machine or a small jump host: no server to run,
//! one file to back up, and transactions strong enough for the intent-before-write rule.
//!
//! Connection settings, and why:
//! - **WAL** journal mode: readers (`runs list` in another terminal) never block the writer, and
//!   a commit is one append to the log instead of a rewrite of the rollback journal.
//! - **`synchronous=FULL`**: in WAL mode `NORMAL` may lose the last commits on power loss. An
//!   intent is the record that a write may have been sent; losing it would make the next run
//!   trust a stale state, so every commit is fsynced before `record_intent` returns.
//! - **`busy_timeout` 5 s**: two processes (two technicians, or a scheduled run) may share the
//!   file; a short wait for the write lock beats failing the run.
//! - **foreign keys on**: a step can only belong to a recorded run.
//!
//! Before each write of a run the file's identity is checked (`file.rs`): a journal removed or
//! replaced mid-run stops the run (exit 8) instead of letting it succeed into a lost file.
//!
//! The connection sits behind a `Mutex` so the journal is `Sync` and can be shared by the
//! executor's threads; every call is short, so contention is not a concern.

mod audit;
mod console_sessions;
mod file;
mod outbox;
mod request_keys;
mod rows;
mod runs;
mod schema;
mod steps;
mod workflow;

use super::*;
use rows::{raw_run, raw_step, RUN_COLUMNS, STEP_COLUMNS};

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::SecondsFormat;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// How long a call waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Shown as the path of an in-memory journal in error messages.
const IN_MEMORY: &str = ":memory:";

pub struct SqliteJournal {
    /// For error messages only.
    path: String,
    conn: Mutex<Connection>,
    /// The file opened (None: in memory).
    file: Option<file::FileIdentity>,
}

impl std::fmt::Debug for SqliteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJournal").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteJournal {
    /// Open or create the database file (creating parent directories), apply migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let display = path.display().to_string();
        let storage = |message: String| JournalError::Storage { path: display.clone(), message };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| storage(format!("creating directory {}: {e}", parent.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| storage(format!("opening: {e}")))?;
        let mut journal = Self::init(display, conn)?;
        journal.file = file::FileIdentity::capture(path);
        Ok(journal)
    }

    /// In-memory journal for unit tests of other modules.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()
            .map_err(|e| JournalError::Storage { path: IN_MEMORY.to_string(), message: format!("opening: {e}") })?;
        Self::init(IN_MEMORY.to_string(), conn)
    }

    fn init(path: String, mut conn: Connection) -> Result<Self> {
        let storage = |message: String| JournalError::Storage { path: path.clone(), message };
        // The timeout first: switching to WAL and migrating both need the write lock, which
        // another process opening the same file may hold for a moment.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| storage(format!("setting busy_timeout: {e}")))?;
        // The answer is "wal", or "memory" for an in-memory database. A filesystem without
        // shared-memory support keeps the rollback journal; with synchronous=FULL that is still
        // durable, only slower, so it is not an error.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(|e| storage(format!("setting journal_mode=WAL: {e}")))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| storage(format!("setting synchronous=FULL: {e}")))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| storage(format!("enabling foreign keys: {e}")))?;
        schema::migrate(&mut conn).map_err(|m| storage(format!("migrating schema: {m}")))?;
        Ok(SqliteJournal { path, conn: Mutex::new(conn), file: None })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the guard cannot leave a transaction open (a dropped
        // `Transaction` rolls back), so the connection is still sound: recover it rather than
        // making every later call fail.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The connection for a run's write, once the path still names the file opened.
    fn write_conn(&self) -> Result<MutexGuard<'_, Connection>> {
        if let Some(f) = &self.file {
            f.check().map_err(|m| self.err("before writing", m))?;
        }
        Ok(self.conn())
    }

    fn err(&self, context: &str, e: impl std::fmt::Display) -> JournalError {
        JournalError::Storage { path: self.path.clone(), message: format!("{context}: {e}") }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions between the record types and their stored form.

/// RFC 3339, UTC, fixed microsecond precision: the strings sort in time order.
fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_mode(s: &str) -> Option<Mode> {
    match s {
        "plan" => Some(Mode::Plan),
        "apply" => Some(Mode::Apply),
        _ => None,
    }
}

fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// Whether the process holding a lock still exists.
///
/// The lock row outlives a crashed or killed process, so a pid check is how a later run tells a
/// live holder (wait, or refuse) from a dead one (take over). A reused pid makes a dead holder
/// look alive: the error is on the safe side (a refused run, never two writers).
#[cfg(target_os = "linux")]
fn pid_alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// Without a portable, dependency-free liveness check, assume the holder is alive: a stale lock
/// then has to be cleared by hand, which is better than two processes writing to one user.
#[cfg(not(target_os = "linux"))]
fn pid_alive(_pid: u32) -> bool {
    true
}

/// Lock key for a user: UPNs are case-insensitive.
fn user_key(user: &str) -> String {
    user.to_lowercase()
}

impl Journal for SqliteJournal {
    fn create_run(&self, run: &NewRun) -> Result<()> {
        let options = self.to_json("run options", &run.options)?;
        let conn = self.write_conn()?;
        conn.execute(
            "INSERT INTO runs (run_id, tenant, user, script, script_hash, mode, status, options_json, \
             report_json, started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, NULL)",
            params![
                run.run_id,
                run.tenant,
                run.user,
                run.script,
                run.script_hash,
                run.mode.as_str(),
                RunStatus::Running.as_str(),
                options,
                ts(&run.started_at),
            ],
        )
        .map_err(|e| self.err(&format!("creating run {}", run.run_id), e))?;
        Ok(())
    }

    fn finish_run(&self, run_id: &str, status: RunStatus, report: &Value) -> Result<()> {
        let report = self.to_json("run report", report)?;
        let conn = self.write_conn()?;
        let changed = conn
            .execute(
                "UPDATE runs SET status = ?2, report_json = ?3, finished_at = ?4 WHERE run_id = ?1",
                params![run_id, status.as_str(), report, ts(&Utc::now())],
            )
            .map_err(|e| self.err(&format!("finishing run {run_id}"), e))?;
        if changed == 0 {
            return Err(JournalError::NoSuchRun(run_id.to_string()));
        }
        Ok(())
    }

    /// Upsert (see `steps.rs`: a step with an intent keeps its write-related columns).
    fn record_step(&self, step: &StepRecord) -> Result<()> {
        let conn = self.write_conn()?;
        self.upsert_step(&conn, step)
    }

    /// A new intent replaces any earlier outcome of the same step (a retry): the outcome no
    /// longer describes the write about to be sent. The UPDATE commits in autocommit mode and,
    /// with `synchronous=FULL`, is fsynced before `execute` returns.
    fn record_intent(&self, run_id: &str, step_id: &str) -> Result<()> {
        let conn = self.write_conn()?;
        self.mark_intent(&conn, run_id, step_id)
    }

    fn record_outcome(&self, run_id: &str, step_id: &str, status: StepStatus, detail: &str, result: &Value) -> Result<()> {
        let conn = self.write_conn()?;
        self.set_outcome(
            &conn,
            run_id,
            &OutcomeRecord { step_id: step_id.to_string(), status, detail: detail.to_string(), result: result.clone() },
        )
    }

    /// One transaction, so one fsync for the phase's steps.
    fn record_steps(&self, steps: &[StepRecord]) -> Result<()> {
        self.in_transaction("recording a phase's steps", |tx| steps.iter().try_for_each(|s| self.upsert_step(tx, s)))
    }

    /// One transaction: every intent of the wave is durable when its COMMIT returns
    /// (`synchronous=FULL`), before any of the writes is sent; none is if it fails.
    fn record_intents(&self, run_id: &str, step_ids: &[String]) -> Result<()> {
        self.in_transaction("recording a wave's intents", |tx| step_ids.iter().try_for_each(|id| self.mark_intent(tx, run_id, id)))
    }

    fn record_outcomes(&self, run_id: &str, outcomes: &[OutcomeRecord]) -> Result<()> {
        self.in_transaction("recording a wave's outcomes", |tx| outcomes.iter().try_for_each(|o| self.set_outcome(tx, run_id, o)))
    }

    fn list_runs(&self, limit: usize) -> Result<Vec<RunSummary>> {
        self.query_runs(&RunQuery { limit, ..RunQuery::default() })
    }

    fn find_runs(&self, q: &RunQuery) -> Result<Vec<RunSummary>> {
        self.query_runs(q)
    }

    fn get_run(&self, run_id: &str) -> Result<Option<RunDetail>> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.err(&format!("reading run {run_id}"), e))?;
        let raw = tx
            .prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?1"))
            .and_then(|mut st| st.query_row([run_id], raw_run).optional())
            .map_err(|e| self.err(&format!("reading run {run_id}"), e))?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let summary = self.summary(&tx, &raw)?;
        let raw_steps = {
            let mut st = tx
                .prepare_cached(&format!("SELECT {STEP_COLUMNS} FROM steps WHERE run_id = ?1 ORDER BY seq"))
                .map_err(|e| self.err(&format!("reading steps of run {run_id}"), e))?;
            let rows = st.query_map([run_id], raw_step).map_err(|e| self.err(&format!("reading steps of run {run_id}"), e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.err(&format!("reading steps of run {run_id}"), e))?
        };
        tx.commit().map_err(|e| self.err(&format!("reading run {run_id}"), e))?;
        let steps = raw_steps.into_iter().map(|s| self.step_detail(s)).collect::<Result<Vec<_>>>()?;
        Ok(Some(RunDetail {
            summary,
            options: self.json("run options", Some(&raw.options_json))?,
            report: self.json("run report", raw.report_json.as_deref())?,
            steps,
        }))
    }

    fn last_write(&self, tenant: &str, target_id: &str, action: &str) -> Result<Option<WriteRecord>> {
        let conn = self.conn();
        // `intent_at IS NOT NULL` lets SQLite use the partial index on (target_id, action,
        // intent_at). The status filter is belt and braces: such steps normally have no intent.
        let row = conn
            .prepare_cached(
                "SELECT s.run_id, s.step_id, s.intent_at, s.status, s.outcome_at
                 FROM steps s JOIN runs r ON r.run_id = s.run_id
                 WHERE s.target_id = ?2 AND s.action = ?3 AND s.intent_at IS NOT NULL
                   AND r.tenant = ?1 AND r.mode = 'apply'
                   AND s.status NOT IN ('already_done', 'skipped')
                 ORDER BY s.intent_at DESC, r.started_at DESC, s.seq DESC
                 LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![tenant, target_id, action], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .optional()
            })
            .map_err(|e| self.err(&format!("finding last {action} on {target_id}"), e))?;
        let Some((run_id, step_id, intent_at, status, outcome_at)) = row else {
            return Ok(None);
        };
        let outcome_at = self.opt_time("outcome_at", outcome_at.as_deref())?;
        Ok(Some(WriteRecord {
            run_id,
            step_id,
            intent_at: self.time("intent_at", &intent_at)?,
            // No outcome: the write's result is unknown whatever the status column says.
            status: if outcome_at.is_none() { StepStatus::Running } else { self.step_status(&status)? },
            outcome_at,
        }))
    }

    fn acquire_lock(&self, tenant: &str, user: &str, run_id: &str, pid: u32) -> Result<LockOutcome> {
        let user = user_key(user);
        let context = format!("taking lock for {user} in {tenant}");
        let mut conn = self.write_conn()?;
        // IMMEDIATE: take the write lock before reading, so two processes cannot both see the
        // row as free (or as dead) and both take it.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err(&context, e))?;
        let holder: Option<(String, u32)> = tx
            .query_row("SELECT run_id, pid FROM locks WHERE tenant = ?1 AND user = ?2", params![tenant, user], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(|e| self.err(&context, e))?;
        let now = ts(&Utc::now());
        match holder {
            None => {
                tx.execute(
                    "INSERT INTO locks (tenant, user, run_id, pid, acquired_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![tenant, user, run_id, pid, now],
                )
                .map_err(|e| self.err(&context, e))?;
            }
            Some((held_run, held_pid)) if held_run == run_id => {
                // Re-acquiring for the same run (possibly resumed by a new process): keep the
                // lock, record the current holder.
                if held_pid != pid {
                    tx.execute(
                        "UPDATE locks SET pid = ?3, acquired_at = ?4 WHERE tenant = ?1 AND user = ?2",
                        params![tenant, user, pid, now],
                    )
                    .map_err(|e| self.err(&context, e))?;
                }
            }
            // A live holder with another run keeps the lock, even when it is this very process:
            // two runs on one user in one process (a future daemon) must not both write.
            Some((held_run, held_pid)) if pid_alive(held_pid) => {
                return Ok(LockOutcome::HeldBy { run_id: held_run, pid: held_pid });
            }
            Some((held_run, _dead_pid)) => {
                tx.execute(
                    "UPDATE locks SET run_id = ?3, pid = ?4, acquired_at = ?5 WHERE tenant = ?1 AND user = ?2",
                    params![tenant, user, run_id, pid, now],
                )
                .map_err(|e| self.err(&context, e))?;
                // Only a run still marked running: one that finished (and forgot to release)
                // keeps its real status.
                tx.execute(
                    "UPDATE runs SET status = ?2 WHERE run_id = ?1 AND status = ?3",
                    params![held_run, RunStatus::Interrupted.as_str(), RunStatus::Running.as_str()],
                )
                .map_err(|e| self.err(&context, e))?;
            }
        }
        tx.commit().map_err(|e| self.err(&context, e))?;
        Ok(LockOutcome::Acquired)
    }

    fn release_lock(&self, tenant: &str, user: &str, run_id: &str) -> Result<()> {
        let user = user_key(user);
        let conn = self.conn();
        conn.execute("DELETE FROM locks WHERE tenant = ?1 AND user = ?2 AND run_id = ?3", params![tenant, user, run_id])
            .map_err(|e| self.err(&format!("releasing lock for {user} in {tenant}"), e))?;
        Ok(())
    }

    fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        self.audit_add(event)
    }
    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        self.audit_rows(limit)
    }
    fn outbox_add(&self, item: &NewOutboxItem) -> Result<bool> {
        self.outbox_add_row(item)
    }
    fn outbox_items(&self, tenant: Option<&str>, pending_only: bool) -> Result<Vec<OutboxItem>> {
        self.outbox_rows(tenant, pending_only)
    }
    fn outbox_attempt(&self, id: i64) -> Result<()> {
        self.outbox_update(id, "attempts = attempts + 1", None)
    }
    fn outbox_failed(&self, id: i64, error: &str) -> Result<()> {
        self.outbox_update(id, "last_error = ?2", Some(error))
    }
    fn outbox_delivered(&self, id: i64) -> Result<()> {
        self.outbox_update(id, "delivered = 1, last_error = NULL, delivered_at = ?2", Some(&ts(&Utc::now())))
    }
    fn set_run_ticket(&self, run_id: &str, ticket: &str) -> Result<()> {
        self.set_ticket(run_id, ticket)
    }
    fn run_ticket(&self, run_id: &str) -> Result<Option<String>> {
        self.ticket_of(run_id)
    }
    fn last_ticketed_run(&self, tenant: &str, user: &str, except: &str) -> Result<Option<TicketedRun>> {
        self.ticketed_run(tenant, user, except)
    }
    fn request_key_claim(&self, scope: &str, key: &str, hash: &str, now: DateTime<Utc>, stale: DateTime<Utc>) -> Result<KeyClaim> {
        self.key_claim(scope, key, hash, now, stale)
    }
    fn request_key_answer(&self, scope: &str, key: &str, status: u16, body: &Value) -> Result<()> {
        self.key_answer(scope, key, status, body)
    }
    fn request_key_release(&self, scope: &str, key: &str) -> Result<()> {
        self.key_release(scope, key)
    }
    fn request_key_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        self.key_prune(before)
    }
    fn keeps_console_sessions(&self) -> bool {
        true
    }
    fn console_session_put(&self, key: &str, session: &StoredSession, max_live: usize, now: DateTime<Utc>) -> Result<bool> {
        self.session_put(key, session, max_live, now)
    }
    fn console_session_get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        self.session_get(key, now)
    }
    fn console_session_take(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        self.session_take(key, now)
    }
}

#[cfg(test)]
mod tests;
