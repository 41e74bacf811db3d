//! The PostgreSQL implementation of [`Journal`]: one database shared by workers on several machines.
//!
//! Same records and rules as the SQLite journal (`sqlite.rs`); what differs, and why:
//! - **Schema**: versioned files in `migrations/postgres/`, embedded with `sqlx::migrate!` and
//!   applied at open. sqlx takes an advisory lock while migrating, so workers starting together
//!   apply each migration once.
//! - **Durability**: every write is its own statement in autocommit (or one explicit
//!   transaction); the call returns after PostgreSQL acknowledged the COMMIT, which with the
//!   server's default `synchronous_commit = on` means the WAL is flushed: an intent is durable
//!   before `record_intent` returns and the write is sent.
//! - **Liveness of a lock holder**: a pid means nothing on another machine. Each open journal is
//!   a *session* row with a heartbeat renewed every [`heartbeat_every`] by a task of its own; a lock
//!   whose session has not beaten for [`session_ttl_secs`] (the machine died, its network went)
//!   or is gone (the process closed its journal) is taken over, and its run marked interrupted.
//!   Ages are compared with the database's clock (`now()`), never the workers' clocks.
//! - **Fencing**: a run whose lock was taken over (marked interrupted) gets no new intent, so a
//!   worker that was only cut off for a while stops before its next write instead of writing
//!   next to the one that took over.
//!
//! **Sync trait, async driver.** The trait is synchronous and is called from inside tokio tasks,
//! including on the current-thread runtimes of `#[tokio::test]`. `block_in_place` panics on a
//! current-thread runtime, and `Handle::block_on` from inside a runtime panics too. So the journal
//! owns a small runtime of its own: each call spawns its query there and waits for the result
//! with `futures::executor::block_on`, which blocks only the calling thread. The query never needs
//! the caller's runtime to make progress, so this cannot deadlock whatever runtime (or none) the
//! caller is on; it blocks the caller exactly as the SQLite journal's file I/O does.

mod audit;
mod console_sessions;
mod locks;
mod outbox;
mod request_keys;
mod runs;
mod waves;
mod workflow;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::AssertSqlSafe;

use super::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A session whose heartbeat is older than this (seconds, by the database's clock) is gone.
const SESSION_TTL_SECS: f64 = 30.0;

/// The session TTL in seconds: [`SESSION_TTL_SECS`], or `OFFBOARD_JOURNAL_SESSION_TTL_SECS`
/// (at least 1). Shorter only where workers are killed on purpose and waiting half a minute for
/// each takeover is the cost (the scale test); a worker's schedule lease must stay longer than
/// it, or a taken-over run finds the writer lock still held.
pub fn session_ttl_secs() -> f64 {
    static TTL: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TTL.get_or_init(|| {
        std::env::var("OFFBOARD_JOURNAL_SESSION_TTL_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite())
            .map_or(SESSION_TTL_SECS, |s| s.max(1.0))
    })
}

/// How often a journal renews its session's heartbeat: six beats a TTL, so a slow moment is not
/// a takeover.
fn heartbeat_every() -> Duration {
    Duration::from_secs_f64(session_ttl_secs() / 6.0)
}
/// How long a call waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PgJournal {
    /// The URL without its password, for error messages.
    target: String,
    pool: PgPool,
    /// This journal's session (see the module documentation).
    session: String,
    /// None only while dropping.
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for PgJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgJournal").field("target", &self.target).field("session", &self.session).finish_non_exhaustive()
    }
}

/// The URL as it may be shown: without a password.
pub(super) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable journal URL)".into(),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Run `fut` on `rt` and wait for it from any thread, in or outside a runtime (see the module
/// documentation). `None` when the task panicked or the runtime is shutting down.
fn block_on<T: Send + 'static>(rt: &tokio::runtime::Runtime, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
    futures::executor::block_on(rt.spawn(fut)).ok()
}

impl PgJournal {
    /// Connect to the database at `url`, apply pending migrations and start this journal's session.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_in_schema(url, None)
    }

    /// As [`PgJournal::open`], with the journal's tables in `schema` (created if missing) instead
    /// of the user's default: several journals in one database (tests, staging next to production).
    pub fn open_in_schema(url: &str, schema: Option<&str>) -> Result<Self> {
        let target = redact(url);
        let storage = |message: String| JournalError::Storage { path: target.clone(), message };
        let mut opts =
            PgConnectOptions::from_str(url).map_err(|e| storage(format!("reading the URL: {e}")))?.application_name("offboard-host");
        if let Some(s) = schema {
            // Spliced into DDL below: a plain identifier only.
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(storage(format!("schema name {s:?}: letters, digits and _ only")));
            }
            opts = opts.options([("search_path", s)]);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("journal-pg")
            .enable_all()
            .build()
            .map_err(|e| storage(format!("starting the journal's runtime: {e}")))?;
        let session = uuid::Uuid::new_v4().to_string();
        let (schema, sess) = (schema.map(String::from), session.clone());
        let pool = block_on(&rt, async move {
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(opts)
                .await
                .map_err(|e| format!("connecting: {e}"))?;
            if let Some(s) = schema {
                sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {s}")))
                    .execute(&pool)
                    .await
                    .map_err(|e| format!("creating schema {s}: {e}"))?;
            }
            MIGRATOR.run(&pool).await.map_err(|e| format!("migrating schema: {e}"))?;
            sqlx::query("INSERT INTO journal_sessions (session_id, host, pid) VALUES ($1, $2, $3)")
                .bind(&sess)
                .bind(host_name())
                .bind(std::process::id() as i32)
                .execute(&pool)
                .await
                .map_err(|e| format!("starting the journal session: {e}"))?;
            Ok::<_, String>(pool)
        })
        .ok_or_else(|| storage("opening: the journal task stopped".into()))?
        .map_err(storage)?;
        rt.spawn(heartbeat(pool.clone(), session.clone()));
        Ok(PgJournal { target, pool, session, rt: Some(rt) })
    }

    /// Run one query future on the journal's runtime; `context` names it in errors. The future
    /// owns what it uses (`'static`): it runs on another thread. Its pool comes from [`Self::pool`].
    fn call<T: Send + 'static>(&self, context: &str, fut: impl Future<Output = sqlx::Result<T>> + Send + 'static) -> Result<T> {
        self.call_raw(context, fut)?.map_err(|e| self.err(context, e))
    }

    /// As [`PgJournal::call`], leaving the database error to the caller (to map a constraint).
    fn call_raw<T: Send + 'static>(
        &self,
        context: &str,
        fut: impl Future<Output = sqlx::Result<T>> + Send + 'static,
    ) -> Result<sqlx::Result<T>> {
        let rt = self.rt.as_ref().ok_or_else(|| self.err(context, "the journal is closing"))?;
        block_on(rt, fut).ok_or_else(|| self.err(context, "the journal task stopped"))
    }

    /// A handle on the pool for one call's future (a cheap clone).
    fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    fn err(&self, context: &str, e: impl std::fmt::Display) -> JournalError {
        JournalError::Storage { path: self.target.clone(), message: format!("{context}: {e}") }
    }
}

/// Renew the session's heartbeat until the runtime stops. An upsert: a session row removed by
/// hand (or by a restore) comes back at the next beat.
async fn heartbeat(pool: PgPool, session: String) {
    let mut tick = tokio::time::interval(heartbeat_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let beat = sqlx::query(
            "INSERT INTO journal_sessions (session_id, host, pid) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO UPDATE SET heartbeat_at = now()",
        )
        .bind(&session)
        .bind(host_name())
        .bind(std::process::id() as i32)
        .execute(&pool)
        .await;
        if let Err(e) = beat {
            // The next beat retries; the TTL is six beats long.
            tracing::warn!("journal heartbeat failed: {e}");
        }
    }
}

impl Drop for PgJournal {
    /// End the session, so its locks can be taken over at once rather than after the TTL, then
    /// stop the runtime without waiting on it (dropping a runtime the blocking way panics inside
    /// an async context, where a journal may well be dropped).
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            let (pool, session) = (self.pool.clone(), self.session.clone());
            let _ = block_on(&rt, async move {
                let end = sqlx::query("DELETE FROM journal_sessions WHERE session_id = $1").bind(session).execute(&pool);
                let _ = tokio::time::timeout(Duration::from_secs(2), end).await;
                pool.close().await;
            });
            rt.shutdown_background();
        }
    }
}

/// Whether a database error is a foreign-key violation (a step or item of an unknown run).
fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "23503")
}

fn user_key(user: &str) -> String {
    user.to_lowercase()
}

impl Journal for PgJournal {
    fn create_run(&self, run: &NewRun) -> Result<()> {
        self.insert_run(run)
    }
    fn finish_run(&self, run_id: &str, status: RunStatus, report: &Value) -> Result<()> {
        self.end_run(run_id, status, report)
    }
    fn record_step(&self, step: &StepRecord) -> Result<()> {
        self.upsert_step(step)
    }
    fn record_intent(&self, run_id: &str, step_id: &str) -> Result<()> {
        // One step is a wave of one: the same fencing, the same statement (`postgres/waves.rs`).
        self.intents(run_id, &[step_id.to_string()])
    }
    fn record_outcome(&self, run_id: &str, step_id: &str, status: StepStatus, detail: &str, result: &Value) -> Result<()> {
        self.outcomes(run_id, &[OutcomeRecord { step_id: step_id.into(), status, detail: detail.into(), result: result.clone() }])
    }
    fn record_intents(&self, run_id: &str, step_ids: &[String]) -> Result<()> {
        self.intents(run_id, step_ids)
    }
    fn record_outcomes(&self, run_id: &str, outcomes: &[OutcomeRecord]) -> Result<()> {
        self.outcomes(run_id, outcomes)
    }
    fn list_runs(&self, limit: usize) -> Result<Vec<RunSummary>> {
        self.query_runs(&RunQuery { limit, ..RunQuery::default() })
    }
    fn find_runs(&self, q: &RunQuery) -> Result<Vec<RunSummary>> {
        self.query_runs(q)
    }
    fn get_run(&self, run_id: &str) -> Result<Option<RunDetail>> {
        self.run_detail(run_id)
    }
    fn last_write(&self, tenant: &str, target_id: &str, action: &str) -> Result<Option<WriteRecord>> {
        self.latest_write(tenant, target_id, action)
    }
    fn acquire_lock(&self, tenant: &str, user: &str, run_id: &str, pid: u32) -> Result<LockOutcome> {
        self.take_lock(tenant, &user_key(user), run_id, pid)
    }
    fn release_lock(&self, tenant: &str, user: &str, run_id: &str) -> Result<()> {
        self.drop_lock(tenant, &user_key(user), run_id)
    }
    fn session_id(&self) -> Option<String> {
        Some(self.session.clone())
    }
    fn outbox_add(&self, item: &NewOutboxItem) -> Result<bool> {
        self.outbox_insert(item)
    }
    fn outbox_items(&self, tenant: Option<&str>, pending_only: bool) -> Result<Vec<OutboxItem>> {
        self.outbox_rows(tenant, pending_only)
    }
    fn outbox_attempt(&self, id: i64) -> Result<()> {
        self.outbox_update(id, "attempts = attempts + 1", None)
    }
    fn outbox_failed(&self, id: i64, error: &str) -> Result<()> {
        self.outbox_update(id, "last_error = $2", Some(error.to_string()))
    }
    fn outbox_delivered(&self, id: i64) -> Result<()> {
        self.outbox_update(id, "delivered = TRUE, last_error = NULL, delivered_at = now()", None)
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
    fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        self.audit_add(event)
    }
    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        self.audit_rows(limit)
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
