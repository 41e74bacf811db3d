//! How other parts of the program join a run without the executor knowing them.
//!
//! PSA ticketing writes a note per phase and a summary at the end, but the executor must not
//! import the PSAs (they sit above it). So the executor owns this interface and the ticketing
//! implements it: a [`StartObserver`] is handed to the run with its request, is asked once per run
//! for a [`RunObserver`], and that observer hears of each phase and of the end.

use std::sync::Arc;

use super::report::{ReportError, StepReport};
use super::Providers;
use crate::journal::{Journal, Mode, RunStatus};

/// The run an observer is started for.
pub struct RunInfo<'a> {
    pub tenant: &'a str,
    pub run_id: &'a str,
    pub user: &'a str,
    pub script: &'a str,
    pub mode: Mode,
    pub journal: &'a Arc<dyn Journal>,
    pub providers: &'a Providers,
    pub rt: &'a tokio::runtime::Handle,
}

/// What an observer adds to the run's report when the run ends.
#[derive(Debug, Default)]
pub struct ObserverReport {
    /// The PSA ticket the run wrote to, if any.
    pub ticket: Option<String>,
    pub messages: Vec<String>,
}

/// Told about one run as it goes.
pub trait RunObserver: Send + Sync {
    /// A phase has finished with these steps.
    fn phase_done(&self, phase: &str, steps: &[StepReport]);
    /// The script's warnings (`warn(...)`), told just before [`RunObserver::finish`]: a ticket
    /// shows them with the summary.
    fn warnings(&self, _lines: &[String]) {}
    /// The run has ended.
    fn finish(&self, status: RunStatus, steps: &[StepReport], error: Option<&ReportError>) -> ObserverReport;
}

/// Starts an observer for a run, or declines (a tenant without a PSA has no ticket).
pub trait StartObserver: Send + Sync {
    fn start(&self, run: &RunInfo) -> Option<Arc<dyn RunObserver>>;
}
