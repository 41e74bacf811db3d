//! An apply's progress on the terminal: a line per phase as it finishes, so the plan is not
//! printed a second time to show what happened.
//!
//! It joins the run as an observer (`exec::observer`), wrapping the PSA ticketing observer when
//! the tenant has one: the ticket still gets its note per phase and its summary.

use std::sync::Arc;

use super::render;
use crate::exec::observer::{ObserverReport, RunInfo, RunObserver, StartObserver};
use crate::exec::report::{ReportError, StepReport};
use crate::journal::RunStatus;

pub struct Progress {
    pub inner: Option<Arc<dyn StartObserver>>,
    pub color: bool,
}

impl StartObserver for Progress {
    fn start(&self, run: &RunInfo) -> Option<Arc<dyn RunObserver>> {
        let inner = self.inner.as_ref().and_then(|s| s.start(run));
        Some(Arc::new(Printing { inner, color: self.color }))
    }
}

struct Printing {
    inner: Option<Arc<dyn RunObserver>>,
    color: bool,
}

impl RunObserver for Printing {
    fn phase_done(&self, phase: &str, steps: &[StepReport]) {
        super::out::text(&render::progress(phase, steps, self.color));
        if let Some(i) = &self.inner {
            i.phase_done(phase, steps);
        }
    }

    fn warnings(&self, lines: &[String]) {
        if let Some(i) = &self.inner {
            i.warnings(lines);
        }
    }

    fn finish(&self, status: RunStatus, steps: &[StepReport], error: Option<&ReportError>) -> ObserverReport {
        self.inner.as_ref().map(|i| i.finish(status, steps, error)).unwrap_or_default()
    }
}
