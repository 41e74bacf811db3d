//! The host: the state that script functions share during one run.
//!
//! Script functions run on the engine's (blocking) thread; providers are async. The host keeps a
//! tokio runtime handle and bridges with `Handle::block_on`, which is allowed because the engine
//! runs inside `spawn_blocking`, never on a runtime worker (see `apis.md` section 5).
//!
//! Phases: `phase(name, || {...})` opens a phase, the closure declares actions, and when it returns
//! the executor runs them together. An action declared outside any phase runs at once, alone.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::Error;
use crate::exec::cache::ReadCache;
use crate::exec::executor::{run_phase, Pending};
use crate::exec::observer::RunObserver;
use crate::exec::report::StepReport;
use crate::exec::{Action, Cx, HasProviders, Providers};
use crate::journal::{Journal, Mode, StepStatus};

/// How the executor runs a phase's actions.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    /// Actions of one phase in flight at once (1 = one at a time).
    pub concurrency: usize,
    /// `Some(d)`: a step that waits for the target system (a mailbox conversion) waits at most
    /// `d` and then, if it must wait longer, fails with [`crate::exec::WAIT_LATER`] instead of
    /// sleeping on: the queue worker re-queues the run for later rather than holding a job (and
    /// its tenant's queue) asleep. `None`: the step's own bounded wait (the CLI).
    pub yield_waits: Option<std::time::Duration>,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions { concurrency: 16, yield_waits: None }
    }
}

pub struct Host {
    pub rt: tokio::runtime::Handle,
    pub tenant: String,
    pub directory: String,
    pub user: String,
    pub run_id: String,
    pub mode: Mode,
    pub journal: Arc<dyn Journal>,
    pub providers: Providers,
    /// Capabilities this client denies (deny beats every allow).
    pub denied: Vec<String>,
    pub exec: ExecOptions,
    pub started: Instant,
    /// Reads shared by every phase of the run.
    pub cache: Arc<ReadCache>,
    state: Mutex<RunState>,
    /// Told of each phase as it finishes (PSA ticketing).
    observer: Mutex<Option<Arc<dyn RunObserver>>>,
    /// What calls a script's closures from an action (the engine and the script; see
    /// `ops::custom`). Opaque here: the executor knows no script engine.
    script: std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
}

#[derive(Default)]
struct RunState {
    next_step: usize,
    open_phase: Option<OpenPhase>,
    steps: Vec<StepReport>,
    messages: Vec<String>,
    /// A provider error that ended the script (kept typed for the exit code).
    fatal: Option<Error>,
    /// Set by the read-only REPL: every write fails with this hint before anything is declared.
    writes_refused: Option<String>,
    /// The run's subject as the run's guard resolved it, by directory (`"ad"` → objectGUID): a
    /// lookup of `USER` in that directory returns this object, whatever else shares the name.
    pinned: Vec<(&'static str, String)>,
}

struct OpenPhase {
    name: String,
    required: bool,
    pending: Vec<Pending>,
}

/// Returned by [`Host::end_phase`] when a required step failed.
pub struct RequiredFailed {
    pub phase: String,
    pub steps: Vec<String>,
}

impl Host {
    pub fn new(
        rt: tokio::runtime::Handle,
        tenant: String,
        directory: String,
        user: String,
        run_id: String,
        mode: Mode,
        journal: Arc<dyn Journal>,
        providers: Providers,
        denied: Vec<String>,
        exec: ExecOptions,
    ) -> Arc<Host> {
        Arc::new(Host {
            rt,
            tenant,
            directory,
            user,
            run_id,
            mode,
            journal,
            providers,
            denied,
            exec,
            started: Instant::now(),
            cache: Arc::default(),
            state: Mutex::new(RunState::default()),
            observer: Mutex::new(None),
            script: std::sync::OnceLock::new(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, RunState> {
        // A panic elsewhere must not make the journal's view of the run unreadable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_denied(&self, capability: &str) -> bool {
        self.denied.iter().any(|d| d == capability || capability.starts_with(&format!("{d}.")))
    }

    /// A context for one phase, sharing the run's reads.
    pub fn cx(&self) -> Cx {
        let mut cx =
            Cx::new(self.tenant.clone(), self.run_id.clone(), self.mode, self.journal.clone(), self.providers.clone(), self.cache.clone());
        cx.yield_waits = self.exec.yield_waits;
        cx
    }

    /// Set once, when the run has built its engine and compiled the script.
    pub fn set_script_runtime(&self, runtime: Arc<dyn std::any::Any + Send + Sync>) {
        let _ = self.script.set(runtime);
    }

    pub fn script_runtime(&self) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        self.script.get().cloned()
    }

    pub fn set_observer(&self, observer: Arc<dyn RunObserver>) {
        *self.observer.lock().unwrap_or_else(|p| p.into_inner()) = Some(observer);
    }

    pub fn message(&self, line: String) {
        self.state().messages.push(line);
    }

    pub fn set_fatal(&self, e: Error) {
        self.state().fatal = Some(e);
    }

    pub fn take_fatal(&self) -> Option<Error> {
        self.state().fatal.take()
    }

    pub fn begin_phase(&self, name: &str, required: bool) -> Result<(), String> {
        let mut st = self.state();
        if let Some(open) = &st.open_phase {
            return Err(format!("phase '{name}' cannot start inside phase '{}': phases do not nest", open.name));
        }
        st.open_phase = Some(OpenPhase { name: name.to_string(), required, pending: Vec::new() });
        Ok(())
    }

    /// Declare an action. Inside a phase it waits for the phase to end; outside, it runs now.
    /// Returns the step id.
    pub fn declare(&self, action: Box<dyn Action>) -> Result<(String, Option<StepReport>), String> {
        let (step_id, run_now) = {
            let mut st = self.state();
            st.next_step += 1;
            let step_id = format!("s{:03}", st.next_step);
            match st.open_phase.as_mut() {
                Some(open) => {
                    let required = open.required;
                    let phase = open.name.clone();
                    open.pending.push(Pending { step_id: step_id.clone(), phase, required, action });
                    (step_id, None)
                }
                None => (step_id.clone(), Some(Pending { step_id, phase: "main".into(), required: false, action })),
            }
        };
        match run_now {
            None => Ok((step_id, None)),
            Some(p) => {
                let mut reports = self.execute(vec![p])?;
                Ok((step_id, reports.pop()))
            }
        }
    }

    /// Close the open phase and run its actions.
    pub fn end_phase(&self) -> Result<(Vec<StepReport>, Option<RequiredFailed>), String> {
        let open = self.state().open_phase.take().ok_or("no phase is open")?;
        let reports = self.execute(open.pending)?;
        let failed: Vec<String> = reports
            .iter()
            .filter(|r| r.required && r.status == StepStatus::Failed)
            .map(|r| format!("{} {} ({})", r.id, r.action, r.target))
            .collect();
        let required_failed = (!failed.is_empty()).then(|| RequiredFailed { phase: open.name.clone(), steps: failed });
        Ok((reports, required_failed))
    }

    /// Drop a phase left open by a script error: its actions never ran and are not recorded.
    pub fn abandon_phase(&self) -> Option<String> {
        self.state().open_phase.take().map(|p| p.name)
    }

    fn execute(&self, pending: Vec<Pending>) -> Result<Vec<StepReport>, String> {
        if pending.is_empty() {
            return Ok(vec![]);
        }
        let phase = pending[0].phase.clone();
        let cx = self.cx();
        let reports = self.rt.block_on(run_phase(&cx, pending, self.exec.concurrency)).map_err(|e| {
            let msg = format!("journal: {e}");
            self.set_fatal(Error::Journal(e));
            msg
        })?;
        self.state().steps.extend(reports.iter().cloned());
        let observer = self.observer.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(observer) = observer {
            observer.phase_done(&phase, &reports);
        }
        Ok(reports)
    }

    /// Refuse every write function from now on, saying `hint` (how to allow them).
    pub fn refuse_writes(&self, hint: impl Into<String>) {
        self.state().writes_refused = Some(hint.into());
    }

    pub fn writes_refused(&self) -> Option<String> {
        self.state().writes_refused.clone()
    }

    /// Pin the run's subject in `directory` to the object with this id (see `run::guard`).
    pub fn pin_subject(&self, directory: &'static str, id: String) {
        let mut st = self.state();
        st.pinned.retain(|(d, _)| *d != directory);
        st.pinned.push((directory, id));
    }

    /// The id `USER` resolves to in `directory`, when the run pinned one.
    pub fn pinned_subject(&self, directory: &str) -> Option<String> {
        self.state().pinned.iter().find(|(d, _)| *d == directory).map(|(_, id)| id.clone())
    }

    pub fn steps(&self) -> Vec<StepReport> {
        self.state().steps.clone()
    }

    pub fn messages(&self) -> Vec<String> {
        self.state().messages.clone()
    }
}

impl HasProviders for Host {
    fn providers(&self) -> &Providers {
        &self.providers
    }
}
