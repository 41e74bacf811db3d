//! The journal: the single source of truth for runs, their steps and the state each write replaced.
//!
//! Every write goes through the same three records, in this order:
//! 1. the step is *recorded* when it is observed (its precondition checked, prior state captured);
//! 2. the *intent* is written and made durable **before** the request leaves the process;
//! 3. the *outcome* is written after the provider answered.
//!
//! A step with an intent and no outcome is a write whose result is unknown (the process died or
//! the network failed after sending). The next run re-observes the target instead of trusting
//! either possibility; [`Journal::last_write`] is how it finds such steps.
//!
//! Storage is behind the [`Journal`] trait: SQLite ([`SqliteJournal`], the zero-set-up default) or
//! PostgreSQL ([`PgJournal`], shared by workers on several machines); [`open`] picks one from the
//! configuration. Secrets never reach this module: callers pass only `params`, `prior`
//! and `result` values that are safe to keep.

mod console_sessions;
mod open;
mod outbox;
mod postgres;
mod request_keys;
mod sqlite;
#[cfg(test)]
pub(crate) mod suite;
mod workflow;

pub use console_sessions::{session_key, StoredSession};
pub use open::{open, redacted_url, JournalConfig, JOURNAL_URL_ENV};
pub use outbox::{NewOutboxItem, OutboxItem, OutboxKind};
pub use postgres::{session_ttl_secs, PgJournal};
pub use request_keys::{KeyAnswer, KeyClaim, RequestKey};
pub use sqlite::SqliteJournal;
pub use workflow::{PlannedStep, Transition, WorkItem, WorkKind, WorkflowJournal};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database {path}: {message}")]
    Storage { path: String, message: String },
    #[error("journal: no run with id {0}")]
    NoSuchRun(String),
    #[error("journal: step {step_id} of run {run_id} is not recorded")]
    NoSuchStep { run_id: String, step_id: String },
    /// A journal failure as a finished run's report tells it (the message is the original's).
    #[error("{0}")]
    Reported(String),
}

pub type Result<T> = std::result::Result<T, JournalError>;

/// Whether a run sends writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Plan,
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Plan => "plan",
            Mode::Apply => "apply",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not finished. A `running` run whose process is gone is reported as interrupted.
    Running,
    /// Plan mode finished: nothing was written.
    Planned,
    /// Apply finished and no step failed.
    Succeeded,
    /// Apply finished; at least one step failed.
    Failed,
    /// Stopped early by a script error, a required step failing or a provider error.
    Aborted,
    /// The process died or was stopped mid-run (found by a later run).
    Interrupted,
    /// Apply was not confirmed; nothing was written.
    NotConfirmed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Planned => "planned",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Aborted => "aborted",
            RunStatus::Interrupted => "interrupted",
            RunStatus::NotConfirmed => "not_confirmed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "planned" => RunStatus::Planned,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "aborted" => RunStatus::Aborted,
            "interrupted" => RunStatus::Interrupted,
            "not_confirmed" => RunStatus::NotConfirmed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Plan mode: the write would be sent.
    Planned,
    /// Apply: the intent is recorded and the write is under way (or its result was lost).
    Running,
    /// The write was sent and the target system confirmed it (its answer, or reading back).
    Done,
    /// The write was sent and accepted, but nothing could confirm it landed (no read-back is
    /// possible, or reading back did not find it yet); `detail` says why. Never counted as done.
    Unconfirmed,
    /// A person must still do something offboard-host cannot: `detail` is the instruction (where,
    /// and what). Not a write; the ticket is left for review while any remain.
    NeedsAction,
    /// The target was already in the desired state: no request sent.
    AlreadyDone,
    /// Deliberately not done (not applicable, belongs to another directory, ...); `detail` says why.
    Skipped,
    /// The write failed; `detail` holds the error.
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Planned => "planned",
            StepStatus::Running => "running",
            StepStatus::Done => "done",
            StepStatus::AlreadyDone => "already_done",
            StepStatus::Skipped => "skipped",
            StepStatus::Failed => "failed",
            StepStatus::Unconfirmed => "unconfirmed",
            StepStatus::NeedsAction => "needs_action",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "planned" => StepStatus::Planned,
            "running" => StepStatus::Running,
            "done" => StepStatus::Done,
            "already_done" => StepStatus::AlreadyDone,
            "skipped" => StepStatus::Skipped,
            "failed" => StepStatus::Failed,
            "unconfirmed" => StepStatus::Unconfirmed,
            "needs_action" => StepStatus::NeedsAction,
            _ => return None,
        })
    }
}

/// A run as it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewRun {
    pub run_id: String,
    pub tenant: String,
    /// The user as given on the command line (UPN).
    pub user: String,
    /// Script name or path as given, and the SHA-256 of its source (plus imports).
    pub script: String,
    pub script_hash: String,
    pub mode: Mode,
    /// `--set` values and other run options, safe to keep (no secrets).
    pub options: Value,
    pub started_at: DateTime<Utc>,
}

/// One step (action) of a run, as observed before any write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub run_id: String,
    /// Unique within the run, stable and ordered: "s001", "s002", ...
    pub step_id: String,
    pub phase: String,
    /// snake_case verb: `disable_account`, `remove_group_membership`, ...
    pub action: String,
    /// Where the action goes: "cloud" (Graph), later "exchange", "ad", "psa".
    pub directory: String,
    /// `user`, `group`, `license`, ...
    pub target_kind: String,
    /// The object id acted on (Graph object id for cloud objects), never only a display name.
    pub target_id: String,
    /// Human-readable target: UPN, group name, SKU part number.
    pub target_display: String,
    /// The user object id the step belongs to (same as `target_id` for user-level actions).
    pub subject_id: String,
    pub params: Value,
    pub required: bool,
    pub idempotent: bool,
    pub status: StepStatus,
    pub detail: String,
    /// The state the write replaces (for reversal): e.g. `{"accountEnabled": true}`.
    pub prior: Value,
    pub observed_at: DateTime<Utc>,
}

/// A step as read back, with its intent and outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepDetail {
    #[serde(flatten)]
    pub step: StepRecord,
    pub result: Value,
    pub intent_at: Option<DateTime<Utc>>,
    pub outcome_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub tenant: String,
    pub user: String,
    pub script: String,
    pub script_hash: String,
    pub mode: Mode,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Counts of steps by status, e.g. `{"done": 7, "already_done": 2}`.
    pub step_counts: std::collections::BTreeMap<String, u64>,
}

/// Which runs [`Journal::find_runs`] returns. Each field set narrows the selection.
#[derive(Debug, Clone)]
pub struct RunQuery {
    /// The run id starts with this (a whole id matches itself).
    pub id_prefix: Option<String>,
    pub tenant: Option<String>,
    /// The user, whatever the case of the UPN.
    pub user: Option<String>,
    /// As reported (a `running` run whose process is gone is `interrupted`).
    pub status: Option<RunStatus>,
    pub mode: Option<Mode>,
    pub since: Option<DateTime<Utc>>,
    /// Started before this instant (the console's date range).
    pub until: Option<DateTime<Utc>>,
    /// The user contains this text, whatever the case (the console's history filter).
    pub user_contains: Option<String>,
    /// Only the plans kept for an approval or a schedule.
    pub workflow: Option<WorkKind>,
    pub limit: usize,
}

impl Default for RunQuery {
    fn default() -> Self {
        RunQuery {
            id_prefix: None,
            tenant: None,
            user: None,
            status: None,
            mode: None,
            since: None,
            until: None,
            user_contains: None,
            workflow: None,
            limit: 50,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    pub options: Value,
    /// The final report as printed with `--json` (Null while running).
    pub report: Value,
    pub steps: Vec<StepDetail>,
}

/// The most recent apply-mode write of one action on one target, across all runs of a tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriteRecord {
    pub run_id: String,
    pub step_id: String,
    pub intent_at: DateTime<Utc>,
    /// `Running` when the outcome was never recorded.
    pub status: StepStatus,
    pub outcome_at: Option<DateTime<Utc>>,
}

/// The result of trying to take the per-(tenant, user) writer lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    Acquired,
    /// Another live process holds the lock for this run.
    HeldBy {
        run_id: String,
        pid: u32,
    },
}

/// The outcome of one step, as [`Journal::record_outcomes`] takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRecord {
    pub step_id: String,
    pub status: StepStatus,
    pub detail: String,
    pub result: Value,
}

/// Storage for runs and steps. Implementations must make `record_intent` (and
/// `record_intents`) durable before it returns: the caller sends the write right after.
///
/// Approvals and schedules are the [`WorkflowJournal`] part, reachable through `dyn Journal` too.
pub trait Journal: WorkflowJournal + Send + Sync {
    fn create_run(&self, run: &NewRun) -> Result<()>;
    /// Set the final status and store the report.
    fn finish_run(&self, run_id: &str, status: RunStatus, report: &Value) -> Result<()>;
    /// Insert the step, or replace it if `(run_id, step_id)` exists.
    fn record_step(&self, step: &StepRecord) -> Result<()>;
    /// Mark the step `running` with `intent_at = now`. Durable before returning.
    fn record_intent(&self, run_id: &str, step_id: &str) -> Result<()>;
    /// Set the step's final status, detail and result, with `outcome_at = now`.
    fn record_outcome(&self, run_id: &str, step_id: &str, status: StepStatus, detail: &str, result: &Value) -> Result<()>;
    /// [`Journal::record_step`] for each of one phase's steps; a store that can makes them one
    /// commit (the default records them one by one).
    fn record_steps(&self, steps: &[StepRecord]) -> Result<()> {
        steps.iter().try_for_each(|s| self.record_step(s))
    }
    /// [`Journal::record_intent`] for each step of one wave of writes, every one durable before
    /// returning (a store that can makes them one commit; the default records them one by one).
    fn record_intents(&self, run_id: &str, step_ids: &[String]) -> Result<()> {
        step_ids.iter().try_for_each(|id| self.record_intent(run_id, id))
    }
    /// [`Journal::record_outcome`] for each step of one wave (one commit where the store can).
    /// A crash before it leaves the wave's steps with an intent and no outcome, which the next
    /// run re-observes, exactly as for one step.
    fn record_outcomes(&self, run_id: &str, outcomes: &[OutcomeRecord]) -> Result<()> {
        outcomes.iter().try_for_each(|o| self.record_outcome(run_id, &o.step_id, o.status, &o.detail, &o.result))
    }
    /// Most recent runs first.
    fn list_runs(&self, limit: usize) -> Result<Vec<RunSummary>>;
    /// The runs a query selects, newest first, at most `limit` of them.
    fn find_runs(&self, q: &RunQuery) -> Result<Vec<RunSummary>>;
    fn get_run(&self, run_id: &str) -> Result<Option<RunDetail>>;
    /// The latest apply-mode step of `action` on `target_id` in `tenant` that has an intent
    /// (i.e. a write was, or may have been, sent). Steps that were `already_done` or `skipped`
    /// never count.
    fn last_write(&self, tenant: &str, target_id: &str, action: &str) -> Result<Option<WriteRecord>>;
    /// Take the writer lock for `(tenant, user)`. A lock whose holder process is gone is taken
    /// over, and that holder's run is marked `interrupted`.
    fn acquire_lock(&self, tenant: &str, user: &str, run_id: &str, pid: u32) -> Result<LockOutcome>;
    fn release_lock(&self, tenant: &str, user: &str, run_id: &str) -> Result<()>;
    /// This journal's session, where the store shares sessions between processes (PostgreSQL:
    /// its `journal_sessions` row, renewed by a heartbeat): what another worker looks up to learn
    /// when this process was last alive. None for a store of one machine.
    fn session_id(&self) -> Option<String> {
        None
    }

    // The PSA outbox (see `outbox.rs`) and the run's ticket.
    /// Queue an item; `false` when its `(run_id, marker)` is already queued (nothing added).
    fn outbox_add(&self, item: &NewOutboxItem) -> Result<bool>;
    /// Items in delivery order, of one tenant or all; only undelivered ones with `pending_only`.
    fn outbox_items(&self, tenant: Option<&str>, pending_only: bool) -> Result<Vec<OutboxItem>>;
    /// Count a send as started. Durable before returning: the caller sends right after.
    fn outbox_attempt(&self, id: i64) -> Result<()>;
    /// The send failed (the item stays pending).
    fn outbox_failed(&self, id: i64, error: &str) -> Result<()>;
    fn outbox_delivered(&self, id: i64) -> Result<()>;
    /// The PSA ticket a run writes to.
    fn set_run_ticket(&self, run_id: &str, ticket: &str) -> Result<()>;
    fn run_ticket(&self, run_id: &str) -> Result<Option<String>>;
    /// The latest apply run of `user` (case-insensitive) in `tenant`, other than `except`, that
    /// has a ticket or queued one (see [`TicketedRun`]).
    fn last_ticketed_run(&self, tenant: &str, user: &str, except: &str) -> Result<Option<TicketedRun>>;

    // What people did in the console (see [`AuditEvent`]).
    /// Record a console action with the signed-in identity. The default refuses: a journal
    /// without an audit log must make the console's sign-in fail, not go unrecorded.
    fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        Err(JournalError::Reported(format!("this journal does not record console actions (could not record {})", event.action)))
    }
    /// The most recent console actions first, at most `limit`.
    fn audit_events(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        let _ = limit;
        Err(JournalError::Reported("this journal does not record console actions".into()))
    }

    // The JSON API's request keys (see `request_keys.rs`). The defaults refuse: an API without
    // them could not keep a retry from acting twice.
    /// Claim `key` of `scope` for a request with digest `request_hash`, unless it is claimed
    /// already: then the key as kept. A claim still unanswered from before `stale_before` (its
    /// process died) is taken over by a request with the same digest.
    fn request_key_claim(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<KeyClaim> {
        let _ = (scope, request_hash, now, stale_before);
        Err(JournalError::Reported(format!("this journal does not keep request keys (could not claim {key})")))
    }
    /// Keep the answer to the request that claimed the key.
    fn request_key_answer(&self, scope: &str, key: &str, status: u16, body: &Value) -> Result<()> {
        let _ = (scope, status, body);
        Err(JournalError::Reported(format!("this journal does not keep request keys (could not answer {key})")))
    }
    /// Give up an unanswered claim (the request did nothing), so a retry starts afresh.
    fn request_key_release(&self, scope: &str, key: &str) -> Result<()> {
        let _ = scope;
        Err(JournalError::Reported(format!("this journal does not keep request keys (could not release {key})")))
    }
    // The console's sessions (see `console_sessions.rs`). The defaults refuse, and the console
    // keeps its sessions in memory.
    /// Whether this journal keeps the console's sessions (the methods below).
    fn keeps_console_sessions(&self) -> bool {
        false
    }
    /// Keep the session `key` (a [`session_key`]), replacing one under the same key, unless
    /// `max_live` sessions that have not ended by `now` are kept already (those that have are
    /// dropped first): `false` then, and nothing is kept.
    fn console_session_put(&self, key: &str, session: &StoredSession, max_live: usize, now: DateTime<Utc>) -> Result<bool> {
        let _ = (session, max_live, now);
        Err(JournalError::Reported(format!("this journal does not keep console sessions (could not keep {key})")))
    }
    /// The session `key`, if it has not ended by `now`.
    fn console_session_get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        let _ = now;
        Err(JournalError::Reported(format!("this journal does not keep console sessions (could not read {key})")))
    }
    /// Remove the session `key`; it is returned if it had not ended by `now` (a pending sign-in
    /// is used once: of two callers, one gets it).
    fn console_session_take(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        let _ = now;
        Err(JournalError::Reported(format!("this journal does not keep console sessions (could not remove {key})")))
    }
    /// Forget the answered keys claimed before `before` (no caller retries that late), so the
    /// table does not grow for ever; returns how many. Unanswered ones are left to their claim.
    fn request_key_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let _ = before;
        Ok(0)
    }
}

/// One action of a signed-in person in the console (`sign_in`, later request, approve, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    /// `sign_in`, ...
    pub action: String,
    /// The ID token's issuer and subject: who it was, whatever their e-mail becomes.
    pub issuer: String,
    pub subject: String,
    /// The e-mail the token carried, if any (what the roles are matched on).
    pub email: Option<String>,
    /// What the action was about (the session's roles, a run id, ...).
    pub detail: Value,
}

/// An earlier run that wrote (or queued) to a PSA ticket: what a new run of the same user needs
/// to decide whether it continues that ticket (`psa::ticketing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketedRun {
    pub run_id: String,
    pub status: RunStatus,
    /// None while its ticket creation still waits in the outbox.
    pub ticket: Option<String>,
    /// The payload of the last status it queued for its ticket (`{"status": …}`), if any.
    pub last_status: Option<Value>,
}

impl TicketedRun {
    /// The run did not finish its offboarding (killed, failed, stopped by an error): the next run
    /// of the same user is the same offboarding and continues its ticket.
    pub fn unfinished(&self) -> bool {
        matches!(self.status, RunStatus::Running | RunStatus::Interrupted | RunStatus::Failed | RunStatus::Aborted)
    }
}
