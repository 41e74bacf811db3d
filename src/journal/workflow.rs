//! Workflow control in the journal: runs waiting for an approval, and scheduled runs.
//!
//! Both are a *plan run* (mode `plan`, already in `runs`) plus one `workflow` row keyed by that
//! run's id: what was planned (script, its hash, the `--set` values, each step's action, target and
//! status), and where the item stands. Every change of status is a conditional `UPDATE` (`WHERE
//! status = <expected>`), so two processes cannot both approve, apply or claim the same item.
//!
//! Statuses: an approval is `pending` → `approved` | `rejected` | `expired`, then `approved` →
//! `applying` → `applied`; a schedule is `pending` → `running` → `done` | `failed`, or `cancelled`.
//!
//! A `running` schedule is held under a lease (`lease_until`) its worker renews while it runs. A
//! worker that dies stops renewing: once the lease has run out the item is *abandoned*, and
//! another worker may claim it again (`running` → `running`, new holder) or it may be cancelled.
//! Claiming it again is safe because the apply run re-observes every target and the journal's
//! intents keep a non-idempotent write from being sent twice.

use chrono::{DateTime, Utc};

use super::Result;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    Approval,
    Schedule,
}

impl WorkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::Approval => "approval",
            WorkKind::Schedule => "schedule",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approval" => Some(WorkKind::Approval),
            "schedule" => Some(WorkKind::Schedule),
            _ => None,
        }
    }
}

/// One step of a plan as far as an approval is concerned: what is done to which object, with
/// what. `params` is the step's journalled parameters (trustee, forwarding address, licence user,
/// ...): an approval of "FullAccess to Morgan" must not carry out "FullAccess to someone else".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub action: String,
    pub target_id: String,
    /// Human-readable target (not compared: a renamed group is the same object).
    #[serde(default)]
    pub target: String,
    pub status: String,
    /// Null in items recorded before parameters were kept: such an item no longer matches a
    /// step that has parameters, so it needs a new approval (the safe side).
    #[serde(default)]
    pub params: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkItem {
    /// The id of the plan run this item was made from.
    pub id: String,
    pub kind: WorkKind,
    pub tenant: String,
    pub user: String,
    /// The script as given (path or name) and the hash of script + stdlib at planning time.
    pub script: String,
    pub script_hash: String,
    /// `--set` values and `--ticket`: `{"set": [...], "ticket": ...}`.
    pub options: serde_json::Value,
    pub plan: Vec<PlannedStep>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// Approval: when the request expires. Schedule: when the run is due.
    pub at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The worker (host:pid) that claimed a schedule.
    pub claimed_by: Option<String>,
    /// The apply run that carried the item out.
    pub applied_run_id: Option<String>,
    /// What the worker or apply noticed (a changed plan, an error).
    pub note: Option<String>,
    /// Approval: the digest of the policy it was requested under (`workflow::binding`).
    #[serde(default)]
    pub policy: Option<String>,
    /// The OS account and host that made the item (`user(uid)@host`).
    #[serde(default)]
    pub requested_by: Option<String>,
    /// Approval: the OS account and host that decided, next to the free-text `decided_by`.
    #[serde(default)]
    pub decided_os: Option<String>,
    /// A running schedule: until when its worker holds it (renewed while the worker lives).
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
}

impl WorkItem {
    /// A running item whose worker stopped renewing its lease (or that never had one).
    pub fn abandoned(&self, now: DateTime<Utc>) -> bool {
        self.status == "running" && self.lease_until.is_none_or(|l| l <= now)
    }
}

/// The fields a status change may set besides the status.
#[derive(Debug, Default, Clone)]
pub struct Transition<'a> {
    pub decided_by: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub claimed_by: Option<&'a str>,
    pub applied_run_id: Option<&'a str>,
    pub note: Option<&'a str>,
    /// The deciding process's OS account and host (with `decided_by`).
    pub decided_os: Option<&'a str>,
}

/// Workflow control in a journal: runs awaiting approval and scheduled runs. Every status change
/// is a conditional UPDATE, so of two callers (processes, machines) only one makes it.
pub trait WorkflowJournal {
    /// Record an approval or a schedule for a plan run already in the journal.
    fn work_add(&self, item: &WorkItem) -> Result<()>;
    fn work_get(&self, id: &str) -> Result<Option<WorkItem>>;
    /// Items of one kind, oldest first (by `at`, then id); with `status`, only those.
    fn work_list(&self, kind: WorkKind, status: Option<&str>) -> Result<Vec<WorkItem>>;
    /// Schedules a worker should claim at `now`, oldest first: pending ones that are due, and
    /// running ones whose worker's lease has run out (it died).
    fn work_due(&self, now: DateTime<Utc>) -> Result<Vec<WorkItem>> {
        Ok(self
            .work_list(WorkKind::Schedule, None)?
            .into_iter()
            .filter(|i| (i.status == "pending" && i.at <= now) || i.abandoned(now))
            .collect())
    }
    /// Claim a schedule for `worker` until `lease_until`: a pending one, or a running one whose
    /// lease ran out by `now`. Returns whether this caller got it (of two, exactly one does).
    fn work_claim(&self, id: &str, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<bool>;
    /// Renew `worker`'s lease on a running item; `false` when it no longer holds it.
    fn work_renew(&self, id: &str, worker: &str, lease_until: DateTime<Utc>) -> Result<bool>;
    /// Put `worker`'s running schedule back to `pending`, due at `at`, with `note`: the run is
    /// waiting for something that takes time (a mailbox conversion), and a later pass goes on
    /// from its journal instead of a worker sleeping on it. `false` when `worker` no longer holds it.
    fn work_requeue(&self, id: &str, worker: &str, at: DateTime<Utc>, note: &str) -> Result<bool>;
    /// Cancel a schedule that is pending, or running without a live worker (lease ran out by
    /// `now`): the abandoned item is never taken over afterwards.
    fn work_cancel(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Move `id` from status `from` to `to`: `true` only for the one caller that made the change.
    fn work_transition(&self, id: &str, from: &str, to: &str, t: &Transition<'_>) -> Result<bool>;
}
