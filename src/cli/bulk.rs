//! `run ... --users-file CSV`: many users, one confirmation, a few at a time.
//!
//! Each user is its own run (own journal entry, own writer lock) on one shared connection, so the
//! tenant's Graph throttling is met by the client's retries (Retry-After) and by running at most
//! [`USERS_AT_ONCE`] users together. One user's failure (unknown user, failed step, lock held)
//! is that user's result; the others go on. Exit 1 when any user failed.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::args::RunArgs;
use super::session::{RunSpec, Session};
use super::{confirm, render, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::journal::{Mode, StepStatus};
use crate::run::outcome_error;
use crate::settings::org_with_sets;
use crate::settings::schema::defaults_map as known_settings;
use crate::workflow::bulk::{parse_users, BulkUser, UserResult, UsersFile};

/// Users run together. Each run already has up to `--concurrency` requests of a phase in flight.
pub const USERS_AT_ONCE: usize = 4;

fn result_of(user: &str, mode: Mode, r: Result<crate::exec::report::Report>) -> UserResult {
    match r {
        Ok(rep) => {
            let err = outcome_error(&rep).map(|e| e.to_string());
            let (changes, status) = match mode {
                Mode::Plan => {
                    let n = rep.count(StepStatus::Planned);
                    (
                        n,
                        if err.is_some() {
                            "failed".to_string()
                        } else if n == 0 {
                            "nothing_to_change".into()
                        } else {
                            "planned".into()
                        },
                    )
                }
                Mode::Apply => (rep.count(StepStatus::Done), rep.status.clone()),
            };
            UserResult {
                user: user.to_string(),
                status,
                run_id: Some(rep.run_id.clone()),
                changes,
                failed_steps: rep.count(StepStatus::Failed),
                error: err,
            }
        }
        Err(e) => UserResult {
            user: user.to_string(),
            status: "error".into(),
            run_id: None,
            changes: 0,
            failed_steps: 0,
            error: Some(e.to_string()),
        },
    }
}

/// Run `mode` for each user, with its row's settings, `USERS_AT_ONCE` at a time; results in the
/// file's order.
fn run_all(session: &Session, users: &[BulkUser], mode: Mode, show_progress: bool) -> Vec<UserResult> {
    let bar = if show_progress {
        let b = ProgressBar::with_draw_target(Some(users.len() as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_prefix(if mode == Mode::Plan { "planning" } else { "offboarding" });
        b
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<UserResult>>> = Mutex::new(vec![None; users.len()]);
    std::thread::scope(|s| {
        for _ in 0..USERS_AT_ONCE.min(users.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(row) = users.get(i) else { break };
                let user = row.upn.as_str();
                let r = match session.validate_user(user) {
                    Ok(()) => result_of(user, mode, session.run_with(user, mode, &row.settings)),
                    Err(e) => result_of(user, mode, Err(e)),
                };
                if r.is_failure() {
                    let n = failed.fetch_add(1, Ordering::SeqCst) + 1;
                    bar.set_message(format!("{n} failed"));
                }
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    results.into_inner().unwrap_or_else(|p| p.into_inner()).into_iter().flatten().collect()
}

fn print_table(ctx: &Ctx, results: &[UserResult], mode: Mode) {
    let changes = if mode == Mode::Plan { "planned" } else { "done" };
    let mut t = render::table(ctx.color, &["user", "status", changes, "failed", "run", "error"]);
    for r in results {
        t.add_row(vec![
            r.user.clone(),
            r.status.clone(),
            r.changes.to_string(),
            r.failed_steps.to_string(),
            r.run_id.clone().unwrap_or_default(),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
}

pub(super) fn cmd_bulk(ctx: &Ctx, config: &Config, a: &RunArgs, file: &Path, plan_only: bool) -> Result<u8> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
    // The file is read before the tenant is connected to: a bad file changes nothing anywhere.
    let (_, tenant) = config.tenant(a.tenant.as_deref())?;
    org_with_sets(&tenant.defaults, &a.set)?;
    let known = known_settings();
    let UsersFile { users, ignored } = parse_users(&text, &known).map_err(|m| Error::Usage(format!("{}: {m}", file.display())))?;
    if !ignored.is_empty() {
        // Shown before the plans: a misspelt setting is a column nobody reads.
        eprintln!("ignored columns: {}", ignored.join(", "));
    }
    let session = Session::open(ctx, config, &RunSpec::from_args(a))?;
    let progress = std::io::stderr().is_terminal();
    let result = (|| {
        let mut planned: Option<Vec<UserResult>> = None;
        // As for one user: the plan is shown before an apply, except with --yes --json.
        if plan_only || !(a.yes && a.json) {
            let plans = run_all(&session, &users, Mode::Plan, progress);
            let failed = plans.iter().filter(|r| r.is_failure()).count();
            if plan_only {
                emit(ctx, a, &session.tenant_name, Mode::Plan, &plans);
                return Ok(if failed > 0 { 1 } else { 0 });
            }
            if !a.json {
                print_table(ctx, &plans, Mode::Plan);
            }
            let total: usize = plans.iter().map(|r| r.changes).sum();
            let to_apply = plans.iter().filter(|r| r.status == "planned").count();
            eprintln!(
                "{} user(s): {to_apply} to offboard ({total} change(s)), {} with nothing to change, {failed} failed to plan",
                users.len(),
                plans.iter().filter(|r| r.status == "nothing_to_change").count()
            );
            if to_apply == 0 {
                if a.json {
                    emit(ctx, a, &session.tenant_name, Mode::Plan, &plans);
                }
                return Ok(if failed > 0 { 1 } else { 0 });
            }
            if !a.yes {
                confirm(total, &format!("{to_apply} users"), &session.tenant_name)?;
            }
            planned = Some(plans);
        }
        // Users whose plan failed or had nothing to do keep their plan result.
        let (todo, mut kept): (Vec<BulkUser>, Vec<UserResult>) = match &planned {
            Some(p) => (
                users.iter().filter(|u| p.iter().any(|r| r.user == u.upn && r.status == "planned")).cloned().collect(),
                p.iter().filter(|r| r.status != "planned").cloned().collect(),
            ),
            None => (users.clone(), Vec::new()),
        };
        let mut results = run_all(&session, &todo, Mode::Apply, progress);
        results.append(&mut kept);
        results.sort_by_key(|r| users.iter().position(|u| u.upn == r.user));
        emit(ctx, a, &session.tenant_name, Mode::Apply, &results);
        let failed = results.iter().filter(|r| r.is_failure()).count();
        if failed > 0 && !a.json {
            eprintln!("error: {failed} of {} user(s) failed", users.len());
        }
        Ok(if failed > 0 { 1 } else { 0 })
    })();
    session.close();
    result
}

fn emit(ctx: &Ctx, a: &RunArgs, tenant: &str, mode: Mode, results: &[UserResult]) {
    if a.json {
        let failed = results.iter().filter(|r| r.is_failure()).count();
        let doc = json!({"tenant": tenant, "mode": mode.as_str(), "users": results, "total": results.len(), "failed": failed});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print_table(ctx, results, mode);
    }
}
