//! `offboard-host restore <RUN_ID>`: put back what an apply run changed (see
//! `workflow::restore`). Shown as a plan, confirmed like `run` (a terminal, or `--yes`), and
//! journalled as a run of its own (script `restore <RUN_ID>`), under the user's writer lock.

use super::out::{out, outln};
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;

use super::args::RestoreArgs;
use super::{confirm, render, runtime, Connection, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::exec::host::{ExecOptions, Host};
use crate::exec::report::{Report, Stats};
use crate::exec::Providers;
use crate::journal::{Journal, LockOutcome, Mode, NewRun, RunDetail, RunStatus, StepStatus};
use crate::run::{new_run_id, outcome_error};
use crate::workflow::restore::{capability, reverse_plan, RestoreOptions};

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

fn emit(ctx: &Ctx, json: bool, r: &Report) {
    if json {
        outln!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
    } else {
        out!("{}", render::report(r, ctx.color));
    }
}

pub(super) fn cmd_restore(ctx: &Ctx, mut a: RestoreArgs) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    std::fs::create_dir_all(&ctx.home).map_err(|e| Error::io(format!("creating {}", ctx.home.display()), e))?;
    let journal = crate::service::open_journal(&ctx.home, config.journal.as_deref())?;
    a.run_id = super::run_id::resolve(journal.as_ref(), &a.run_id, super::run_id::Kind::Apply)?;
    let original = journal
        .get_run(&a.run_id)?
        .ok_or_else(|| Error::Usage(format!("no run with id '{}' (see `offboard-host runs list`)", a.run_id)))?;
    if original.summary.mode != Mode::Apply {
        return Err(Error::Usage(format!("run {} is a plan: it changed nothing, there is nothing to restore", a.run_id)));
    }
    let (name, tenant) = config.tenant(Some(&original.summary.tenant))?;
    if tenant.approval.is_some() {
        return Err(Error::Usage(format!(
            "tenant '{name}' requires approval: restore has no approval step yet, so it is not available for this tenant"
        )));
    }
    let rt = runtime()?;
    let conn = rt.block_on(Connection::open(name, tenant, &ctx.home))?;
    let dir = tenant.directory.as_str();
    let opts = RestoreOptions { include_external_forwarding: a.include_external_forwarding };
    let result = (|| {
        let providers = rt.block_on(conn.providers(true, true))?;
        let plan = run_restore(&rt, journal.clone(), providers, dir, &tenant.deny, &original, opts, Mode::Plan)?;
        if !(a.yes && a.json) {
            emit(ctx, a.json, &plan);
            if !a.json {
                for m in &plan.messages {
                    eprintln!("{m}");
                }
            }
        }
        let changes = plan.count(StepStatus::Planned);
        if changes == 0 {
            if a.json && a.yes {
                emit(ctx, true, &plan);
            }
            eprintln!("nothing to restore: what run {} changed is already back (or cannot be put back)", a.run_id);
            return Ok(0);
        }
        if !a.yes {
            confirm(changes, &original.summary.user, name)?;
        }
        let providers = rt.block_on(conn.providers(false, true))?;
        let report = run_restore(&rt, journal.clone(), providers, dir, &tenant.deny, &original, opts, Mode::Apply)?;
        emit(ctx, a.json, &report);
        Ok(match outcome_error(&report) {
            Some(e) => {
                eprintln!("error: {e}");
                e.exit_code()
            }
            None => 0,
        })
    })();
    rt.block_on(conn.close());
    result
}
