//! The run report: what `--json` prints and what the journal keeps as the run's summary.

use serde::{Deserialize, Serialize};

use crate::journal::StepStatus;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub id: String,
    pub phase: String,
    pub action: String,
    pub directory: String,
    pub target: String,
    pub target_id: String,
    pub status: StepStatus,
    pub detail: String,
    pub required: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// HTTP requests sent to the directories (Graph, Exchange; LDAP operations for AD): token,
    /// direct calls, $batch envelopes, retries. The PSA's are in `psa_requests`.
    pub requests: u64,
    /// Every write the run sent: the directories' (inside batches too) and the PSA's.
    pub writes: u64,
    pub elapsed_ms: u64,
    pub operations: u64,
    pub batches: u64,
    pub retries: u64,
    pub throttled: u64,
    /// Sequential round trips: the longest chain of HTTP exchanges that did not overlap.
    pub round_trips: u64,
    /// HTTP requests sent to the PSA (ticket, notes, contacts, and earlier runs' outbox items this
    /// run delivered), retries included.
    #[serde(default)]
    pub psa_requests: u64,
    /// Of those, the writes (also counted in `writes`).
    #[serde(default)]
    pub psa_writes: u64,
}

impl Stats {
    /// The HTTP counts of a run's providers, and how long it took.
    pub fn of(providers: &super::Providers, elapsed: std::time::Duration) -> Stats {
        let (g, psa) = (providers.stats(), providers.stats_apart());
        Stats {
            requests: g.http_requests,
            writes: g.writes + psa.writes,
            elapsed_ms: elapsed.as_millis() as u64,
            operations: g.operations,
            batches: g.batches,
            retries: g.retries,
            throttled: g.throttled,
            round_trips: g.round_trips,
            psa_requests: psa.http_requests,
            psa_writes: psa.writes,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub run_id: String,
    pub tenant: String,
    pub user: String,
    pub script: String,
    pub mode: String,
    pub status: String,
    pub steps: Vec<StepReport>,
    pub stats: Stats,
    /// Lines the script printed or logged, in order.
    pub messages: Vec<String>,
    pub error: Option<ReportError>,
    /// What a person must still do (the `needs_action` steps, with their instructions), so the
    /// summary, `--json` and the ticket list them without reading every step.
    #[serde(default)]
    pub todos: Vec<Todo>,
    /// The PSA ticket this run wrote to (None: no PSA, plan mode without `--ticket`, or not opened yet).
    #[serde(default)]
    pub ticket: Option<String>,
}

/// One thing left for a person: the step, and where and what to do.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Todo {
    pub step: String,
    pub action: String,
    pub target: String,
    pub instruction: String,
}

/// The to-dos among a run's steps, in step order.
pub fn todos(steps: &[StepReport]) -> Vec<Todo> {
    steps
        .iter()
        .filter(|s| s.status == StepStatus::NeedsAction)
        .map(|s| Todo { step: s.id.clone(), action: s.action.clone(), target: s.target.clone(), instruction: s.detail.clone() })
        .collect()
}

impl Report {
    pub fn count(&self, status: StepStatus) -> usize {
        self.steps.iter().filter(|s| s.status == status).count()
    }
}
