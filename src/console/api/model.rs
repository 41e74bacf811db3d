//! What the API's runs look like to a caller: its own shapes (with their OpenAPI schemas), made
//! from the journal's records, so the journal can change without changing the API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::journal::{RunDetail, RunSummary, StepDetail, WorkItem};

/// A run as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    pub run_id: String,
    /// The client (tenant name).
    pub client: String,
    pub user: String,
    pub script: String,
    /// `plan` or `apply`.
    pub mode: String,
    /// `running`, `planned`, `succeeded`, `failed`, `aborted`, `interrupted`, `not_confirmed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Steps by status, e.g. `{"done": 7, "already_done": 2}`.
    pub step_counts: BTreeMap<String, u64>,
    /// The run's own address in this API.
    pub href: String,
}

impl From<&RunSummary> for RunOut {
    fn from(r: &RunSummary) -> RunOut {
        RunOut {
            run_id: r.run_id.clone(),
            client: r.tenant.clone(),
            user: r.user.clone(),
            script: r.script.clone(),
            mode: r.mode.as_str().into(),
            status: r.status.as_str().into(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            step_counts: r.step_counts.clone(),
            href: format!("/api/v1/runs/{}", r.run_id),
        }
    }
}

/// One step of a run: what it acts on, its status, and what came back.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub step_id: String,
    pub phase: String,
    pub action: String,
    /// `cloud`, `exchange`, `ad`, `psa`.
    pub directory: String,
    pub target_kind: String,
    pub target_id: String,
    /// The target as a person reads it (UPN, group name, SKU).
    pub target: String,
    /// `planned`, `done`, `already_done`, `skipped`, `failed`, `todo`, ...
    pub status: String,
    pub detail: String,
    pub required: bool,
    #[schema(value_type = Object)]
    pub params: Value,
    /// The state the write replaced (what a restore puts back).
    #[schema(value_type = Object)]
    pub prior: Value,
    /// What the provider answered.
    #[schema(value_type = Object)]
    pub result: Value,
    pub intent_at: Option<DateTime<Utc>>,
    pub outcome_at: Option<DateTime<Utc>>,
}

impl From<&StepDetail> for StepOut {
    fn from(d: &StepDetail) -> StepOut {
        let s = &d.step;
        StepOut {
            step_id: s.step_id.clone(),
            phase: s.phase.clone(),
            action: s.action.clone(),
            directory: s.directory.clone(),
            target_kind: s.target_kind.clone(),
            target_id: s.target_id.clone(),
            target: s.target_display.clone(),
            status: s.status.as_str().into(),
            detail: s.detail.clone(),
            required: s.required,
            params: s.params.clone(),
            prior: s.prior.clone(),
            result: d.result.clone(),
            intent_at: d.intent_at,
            outcome_at: d.outcome_at,
        }
    }
}

/// A plan kept for an approval or a schedule, as it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowOut {
    /// `approval` or `schedule`.
    pub kind: String,
    /// `pending`, `approved`, `rejected`, `expired`, `running`, `applied`, `cancelled`, ...
    pub status: String,
    /// An approval: when it expires; a schedule: when it is due.
    pub at: DateTime<Utc>,
    pub requested_by: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// The apply run made from this plan, once there is one.
    pub applied_run_id: Option<String>,
}

impl From<&WorkItem> for WorkflowOut {
    fn from(w: &WorkItem) -> WorkflowOut {
        WorkflowOut {
            kind: w.kind.as_str().into(),
            status: w.status.clone(),
            at: w.at,
            requested_by: w.requested_by.clone(),
            decided_by: w.decided_by.clone(),
            decided_at: w.decided_at,
            reason: w.reason.clone(),
            applied_run_id: w.applied_run_id.clone(),
        }
    }
}

/// A run with its steps and results.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetailOut {
    #[serde(flatten)]
    pub run: RunOut,
    /// The run's options: `set` (the settings given), `ticket`, ...
    #[schema(value_type = Object)]
    pub options: Value,
    /// The PSA ticket the run writes to, if any.
    pub ticket: Option<String>,
    /// For a plan sent for approval or scheduled: where that stands.
    pub workflow: Option<WorkflowOut>,
    pub steps: Vec<StepOut>,
}

impl RunDetailOut {
    pub fn new(d: &RunDetail, ticket: Option<String>, work: Option<&WorkItem>) -> RunDetailOut {
        RunDetailOut {
            run: RunOut::from(&d.summary),
            options: d.options.clone(),
            ticket,
            workflow: work.map(WorkflowOut::from),
            steps: d.steps.iter().map(StepOut::from).collect(),
        }
    }
}

/// A page of runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<RunOut>,
}
