//! Putting back what an apply run changed (see `workflow::restore`): the reverse plan, shown
//! as a plan run, then applied as a run of its own (script `restore <RUN_ID>`) under the
//! user's writer lock. `offboard-host restore` and the console's run page share it.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::{runtime, Connection};
use crate::config::{Config, TenantConfig};
use crate::error::{Error, Result};
use crate::exec::host::{ExecOptions, Host};
use crate::exec::report::{Report, Stats};
use crate::exec::Providers;
use crate::journal::{Journal, LockOutcome, Mode, NewRun, RunDetail, RunStatus, StepStatus};
use crate::run::new_run_id;
use crate::workflow::restore::{capability, reverse_plan, RestoreOptions};

/// The apply run `run_id` and its tenant, ready to be put back.
pub struct Restore {
    pub original: RunDetail,
    pub tenant_name: String,
    tenant: TenantConfig,
    opts: RestoreOptions,
    journal: Arc<dyn Journal>,
    rt: tokio::runtime::Runtime,
    conn: Option<Connection>,
}

impl Restore {
    /// The run to restore, or why it cannot be: not found, a plan, or a tenant that requires
    /// approval (restore has no approval step, so it would be a way around it).
    pub fn open(home: &Path, config: &Config, journal: Arc<dyn Journal>, run_id: &str, opts: RestoreOptions) -> Result<Restore> {
        let original =
            journal.get_run(run_id)?.ok_or_else(|| Error::Usage(format!("no run with id '{run_id}' (see `offboard-host runs list`)")))?;
        if original.summary.mode != Mode::Apply {
            return Err(Error::Usage(format!("run {run_id} is a plan: it changed nothing, there is nothing to restore")));
        }
        let (name, tenant) = config.tenant(Some(&original.summary.tenant))?;
        if tenant.approval.is_some() {
            return Err(Error::Usage(format!(
                "tenant '{name}' requires approval: restore has no approval step yet, so it is not available for this tenant"
            )));
        }
        let rt = runtime()?;
        let conn = rt.block_on(Connection::open(name, tenant, home))?;
        Ok(Restore { original, tenant_name: name.to_string(), tenant: tenant.clone(), opts, journal, rt, conn: Some(conn) })
    }

    /// Plan (`Mode::Plan`: nothing is written) or apply the reverse plan; each is a journalled run.
    pub fn run(&self, mode: Mode) -> Result<Report> {
        let conn = self.conn.as_ref().expect("open until closed");
        let providers = self.rt.block_on(conn.providers(mode == Mode::Plan, true))?;
        let dir = self.tenant.directory.as_str();
        run_restore(&self.rt, self.journal.clone(), providers, dir, &self.tenant.deny, &self.original, self.opts, mode)
    }

    /// Close the connection (the demo tenant's server saves its state).
    pub fn close(self) {}
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.rt.block_on(c.close());
        }
    }
}

fn run_restore(
    rt: &tokio::runtime::Runtime,
    journal: Arc<dyn Journal>,
    providers: Providers,
    directory: &str,
    denied: &[String],
    original: &RunDetail,
    opts: RestoreOptions,
    mode: Mode,
) -> Result<Report> {
    let (tenant, user) = (original.summary.tenant.clone(), original.summary.user.clone());
    let run_id = new_run_id();
    if mode == Mode::Apply {
        if let LockOutcome::HeldBy { run_id: holder, pid } = journal.acquire_lock(&tenant, &user, &run_id, std::process::id())? {
            return Err(Error::Locked { tenant, user, run_id: holder, pid });
        }
    }
    let script = format!("restore {}", original.summary.run_id);
    let result = (|| {
        journal.create_run(&NewRun {
            run_id: run_id.clone(),
            tenant: tenant.clone(),
            user: user.clone(),
            script: script.clone(),
            script_hash: String::new(),
            mode,
            options: json!({"restore_of": original.summary.run_id}),
            started_at: Utc::now(),
        })?;
        let host = Host::new(
            rt.handle().clone(),
            tenant.clone(),
            directory.to_string(),
            user.clone(),
            run_id.clone(),
            mode,
            journal.clone(),
            providers.clone(),
            denied.to_vec(),
            ExecOptions::default(),
        );
        let plan = reverse_plan(original, opts);
        let mut messages: Vec<String> = plan.not.iter().map(|n| format!("cannot be put back: {n}")).collect();
        let mut error = None;
        for (phase, actions) in plan.phases {
            if error.is_some() {
                break;
            }
            if let Err(e) = host.begin_phase(phase, false) {
                error = Some(e);
            }
            for a in actions {
                if host.is_denied(capability(a.directory(), a.action())) {
                    messages.push(format!(
                        "not restored: {} {} needs '{}', which tenant '{tenant}' denies",
                        a.action(),
                        a.target().display,
                        capability(a.directory(), a.action())
                    ));
                    continue;
                }
                if let Err(e) = host.declare(a) {
                    error = Some(e);
                }
            }
            if let Err(e) = host.end_phase() {
                error = Some(e);
            }
        }
        let steps = host.steps();
        let status = match (&error, mode) {
            (Some(_), _) => RunStatus::Aborted,
            (None, Mode::Plan) => RunStatus::Planned,
            (None, Mode::Apply) if steps.iter().any(|s| s.status == StepStatus::Failed) => RunStatus::Failed,
            (None, Mode::Apply) => RunStatus::Succeeded,
        };
        let report = Report {
            run_id: run_id.clone(),
            tenant: tenant.clone(),
            user: user.clone(),
            script: script.clone(),
            mode: mode.as_str().into(),
            status: status.as_str().into(),
            todos: crate::exec::report::todos(&steps),
            steps,
            stats: Stats::of(&providers, host.started.elapsed()),
            messages,
            error: error.map(|m| crate::exec::report::ReportError { code: "journal".into(), message: m }),
            ticket: None,
        };
        journal.finish_run(&run_id, status, &serde_json::to_value(&report).unwrap_or_default())?;
        Ok(report)
    })();
    if mode == Mode::Apply {
        journal.release_lock(&tenant, &user, &run_id)?;
    }
    result
}
