//! One run of a script for one user: lock, journal, engine, report.
//!
//! [`Script::load`] finds the script; [`Script::check_syntax`] compiles it with no host so syntax
//! errors stop the command before any request is sent; [`run_script`] does the rest:
//! refuse a protected subject ([`guard`], before anything else, so no script can skip it),
//! take the writer lock (apply only), open the run in the journal, build the engine around a
//! [`Host`], evaluate, and close the run with its report. A script error does not hide what was
//! already done: the report lists every step that ran, and the error says where the script stopped.

pub mod guard;
mod overlay;
mod script;

use std::sync::Arc;

use chrono::Utc;
use rhai::{Map, Scope, AST};
use serde_json::json;

use crate::engine::{build_engine, describe_layered, EngineOptions};
use crate::error::{Error, Result};
use crate::exec::host::{ExecOptions, Host};
use crate::exec::observer::{ObserverReport, RunInfo, StartObserver};
use crate::exec::report::{Report, ReportError, Stats};
use crate::exec::Providers;
use crate::journal::{Journal, LockOutcome, Mode, NewRun, RunStatus, StepStatus};
pub use guard::Protection;
pub use script::{Script, DEFAULT_SCRIPT};

/// The constants every script sees.
fn script_scope(user: &str, tenant: &str, directory: &str, mode: Mode, org: Map) -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push_constant("USER", user.to_string());
    scope.push_constant("TENANT", tenant.to_string());
    scope.push_constant("DIRECTORY", directory.to_string());
    scope.push_constant("MODE", mode.as_str().to_string());
    scope.push_constant("ORG", org);
    scope
}

/// Everything a run needs besides the providers.
pub struct RunRequest {
    pub tenant: String,
    pub directory: String,
    pub user: String,
    pub script: Script,
    pub mode: Mode,
    /// The org variables after `--set` overrides.
    pub org: Map,
    /// `--set` values, for the journal.
    pub sets: Vec<(String, String)>,
    pub denied: Vec<String>,
    pub exec: ExecOptions,
    pub engine: EngineOptions,
    /// Joins the run from outside the executor: PSA ticketing (`psa::ticketing::TicketingOptions`).
    pub observer: Option<Arc<dyn StartObserver>>,
    /// Who must not be offboarded, and `--allow-privileged` (see [`guard`]).
    pub protection: Protection,
    /// The scheduled item (workflow id) this apply carries out, kept with the run's options so a
    /// worker that takes the item over can tell the dead worker's run had already finished.
    pub work_item: Option<String>,
}

/// A run id that sorts by time and reads well in `runs list`.
pub fn new_run_id() -> String {
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect();
    format!("{}-{suffix}", Utc::now().format("%Y%m%d-%H%M%S"))
}

/// Run the script. `Err` only for what prevents a run from existing (lock, journal); a script or
/// provider error inside the run is in the report (`error`), with every step that ran.
pub fn run_script(rt: &tokio::runtime::Handle, journal: Arc<dyn Journal>, providers: Providers, req: RunRequest) -> Result<Report> {
    let ast = req.script.check_syntax(&req.engine)?;
    // Before the lock and the journal: a refused subject leaves no run behind.
    let subject = rt.block_on(guard::check(&providers, &req.tenant, &req.user, &req.protection))?;
    let run_id = new_run_id();
    if req.mode == Mode::Apply {
        match journal.acquire_lock(&req.tenant, &req.user, &run_id, std::process::id())? {
            LockOutcome::Acquired => {}
            LockOutcome::HeldBy { run_id: holder, pid } => {
                return Err(Error::Locked { tenant: req.tenant.clone(), user: req.user.clone(), run_id: holder, pid })
            }
        }
    }
    let result = run_locked(rt, journal.clone(), providers, &req, &run_id, ast, subject);
    if req.mode == Mode::Apply {
        journal.release_lock(&req.tenant, &req.user, &run_id)?;
    }
    result
}

/// What the journal keeps of a run's options: the `--set` values, the directory, and the
/// scheduled item it carries out (only when it carries one out).
fn run_options(req: &RunRequest) -> serde_json::Value {
    let mut o = json!({"set": req.sets.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(), "directory": req.directory});
    if let Some(item) = &req.work_item {
        o["work_item"] = json!(item);
    }
    o
}

fn run_locked(
    rt: &tokio::runtime::Handle,
    journal: Arc<dyn Journal>,
    providers: Providers,
    req: &RunRequest,
    run_id: &str,
    ast: AST,
    subject: guard::Subject,
) -> Result<Report> {
    journal.create_run(&NewRun {
        run_id: run_id.to_string(),
        tenant: req.tenant.clone(),
        user: req.user.clone(),
        script: req.script.name.clone(),
        script_hash: req.script.hash(),
        mode: req.mode,
        options: run_options(req),
        started_at: Utc::now(),
    })?;
    let host = Host::new(
        rt.clone(),
        req.tenant.clone(),
        req.directory.clone(),
        req.user.clone(),
        run_id.to_string(),
        req.mode,
        journal.clone(),
        providers.clone(),
        req.denied.clone(),
        req.exec,
    );
    // What the guard read of the user a moment ago is the run's first read of it: the script's
    // own lookup finds it instead of reading the user again.
    if let Some(u) = &subject.cloud {
        host.cache.put(u.clone());
    }
    let observer = req.observer.as_ref().and_then(|start| {
        let info = RunInfo {
            tenant: &req.tenant,
            run_id,
            user: &req.user,
            script: &req.script.name,
            mode: req.mode,
            journal: &journal,
            providers: &providers,
            rt,
        };
        let observer = start.start(&info)?;
        host.set_observer(observer.clone());
        Some(observer)
    });
    let mut engine_opts = req.engine.clone();
    engine_opts.script_dir = req.script.dir.clone();
    let engine = Arc::new(build_engine(Some(&host), &engine_opts));
    // Script actions call their closures later, from the executor: they need engine and script.
    crate::ops::custom::scope::ScriptRuntime::attach(&host, &engine);
    let mut scope = script_scope(&req.user, &req.tenant, &req.directory, req.mode, req.org.clone());

    if let Some(layers) = req.script.layers() {
        host.message(format!("script layers: {layers}"));
    }
    if let Some(a) = &subject.ad {
        host.pin_subject("ad", a.guid.clone());
    }
    let privileges = remove_privileges(&host, &subject);
    let outcome = match &privileges {
        None => engine.run_ast_with_scope(&mut scope, &ast),
        Some(_) => Ok(()),
    };
    drop(engine); // releases the host closures

    let mut messages = host.messages();
    let error = match (outcome, privileges) {
        (_, Some(e)) => Some(e),
        (Ok(()), None) => None,
        (Err(e), None) => {
            if let Some(phase) = host.abandon_phase() {
                messages.push(format!("phase '{phase}' did not run: the script stopped while declaring it"));
            }
            let origins = req.script.origins();
            let f = describe_layered(&e, &req.script.name, &|name| origins.get(name).cloned());
            let journal_failure = host.take_fatal();
            Some(match journal_failure {
                Some(j) => ReportError { code: j.code().into(), message: j.to_string() },
                None => ReportError { code: f.code, message: format!("{}: {}", f.location, f.message) },
            })
        }
    };
    let steps = host.steps();
    let status = match (&error, req.mode) {
        (Some(_), _) => RunStatus::Aborted,
        (None, Mode::Plan) => RunStatus::Planned,
        (None, Mode::Apply) if steps.iter().any(|s| s.status == StepStatus::Failed) => RunStatus::Failed,
        (None, Mode::Apply) => RunStatus::Succeeded,
    };
    let warnings: Vec<String> = messages.iter().filter_map(|m| m.strip_prefix("warning: ")).map(str::to_string).collect();
    let ObserverReport { ticket, messages: observed } = observer
        .map(|o| {
            o.warnings(&warnings);
            o.finish(status, &steps, error.as_ref())
        })
        .unwrap_or_default();
    messages.extend(observed);
    let report = Report {
        run_id: run_id.to_string(),
        tenant: req.tenant.clone(),
        user: req.user.clone(),
        script: req.script.name.clone(),
        mode: req.mode.as_str().into(),
        status: status.as_str().into(),
        todos: crate::exec::report::todos(&steps),
        steps,
        stats: Stats::of(&providers, host.started.elapsed()),
        messages,
        error,
        ticket,
    };
    let report_json = serde_json::to_value(&report).unwrap_or(serde_json::Value::Null);
    journal.finish_run(run_id, status, &report_json)?;
    Ok(report)
}

/// The guard let a privileged leaver through (`--allow-privileged`): their Entra directory roles
/// go in a required phase of their own, before the script's first phase, so nothing else is
/// changed while they could still act as an administrator. `Some`: the phase failed and the script
/// does not run.
fn remove_privileges(host: &Host, subject: &guard::Subject) -> Option<ReportError> {
    let cloud = subject.cloud.as_ref().filter(|_| !subject.roles.is_empty())?;
    let user = crate::entra::actions::UserRef { id: cloud.id.clone(), upn: cloud.upn.clone() };
    let fail = |message: String| Some(ReportError { code: "required_step_failed".into(), message });
    if let Err(m) = host.begin_phase("privileges", true) {
        return fail(m);
    }
    for role in &subject.roles {
        let action = crate::entra::actions::RemoveDirectoryRole { user: user.clone(), role: role.clone() };
        if let Err(m) = host.declare(Box::new(action)) {
            host.abandon_phase();
            return fail(m);
        }
    }
    match host.end_phase() {
        Ok((_, None)) => None,
        Ok((_, Some(f))) => fail(format!("required phase '{}' failed ({}); the script was not run", f.phase, f.steps.join(", "))),
        Err(m) => fail(m),
    }
}

/// The exit-code meaning of a finished run. `needs_action` and `unconfirmed` steps do not change
/// it (0): nothing failed and a re-run would not do more; they are listed in the report's `todos`
/// and steps, and keep the PSA ticket open for review, which is where a technician follows up.
pub fn outcome_error(report: &Report) -> Option<Error> {
    if let Some(e) = &report.error {
        return Some(match e.code.as_str() {
            "user_not_found" => Error::UserNotFound { user: report.user.clone(), tenant: report.tenant.clone() },
            "invalid_user" => Error::InvalidUser { input: report.user.clone(), reason: e.message.clone() },
            "provider" => Error::Provider { tenant: report.tenant.clone(), message: e.message.clone() },
            // The journal failed mid-run (busy, removed, replaced): exit 8 like any journal error,
            // not 5: the tenant is fine, the record of what was done is not.
            "journal" => Error::Journal(crate::journal::JournalError::Reported(e.message.clone())),
            // A hook returned settings the schema refuses: the same mistake as a bad `--set`.
            "invalid_setting" => Error::Usage(e.message.clone()),
            "required_step_failed" => Error::StepsFailed { failed: report.count(StepStatus::Failed) },
            // A script that looked up an account no run may touch (see `ops::ad`).
            "protected" => Error::Protected {
                user: report.user.clone(),
                tenant: report.tenant.clone(),
                reasons: vec![format!("the script reached for another protected account ({})", e.message)],
                hint: String::new(),
            },
            _ => Error::Script { location: String::new(), message: e.message.clone() },
        });
    }
    let failed = report.count(StepStatus::Failed);
    (failed > 0).then_some(Error::StepsFailed { failed })
}

#[cfg(test)]
pub(crate) mod tests;
