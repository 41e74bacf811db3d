//! `run ... --users-file CSV --at T` (or `--last-day D`): many leavers scheduled at once, the way
//! an HR export arrives.
//!
//! Every row's due time is worked out first (its tenant's `leave_time` and `time_zone`, with
//! `--set` and the row's own setting cells over them), so a date in the past or a client without
//! a leave time refuses the whole file before anything is connected to. Then each user is planned
//! (`--concurrency` at once, as a bulk plan), the plans are shown and confirmed once, and each
//! user with something to change is recorded as a scheduled run: the plan, the script, the row's
//! settings and the due time, exactly as `run --user U --at T` records one. With `--last-day
//! from-directory` each user's last day is read from Entra (`employeeLeaveDateTime`) once the
//! tenants are connected, and a user without one refuses the file. Nothing is written
//! to any tenant; `offboard-host worker` applies each run when it is due.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::args::RunArgs;
use super::bulk::{jobs_of, open_sessions, print_table, read_users, run_kept, Job};
use super::out::outln;
use super::schedule::{due_of, from_directory};
use super::{confirm, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::journal::Mode;
use crate::service::request::{self, Notice};
use crate::service::{RunSpec, Session};
use crate::workflow::bulk::{BulkUser, UserResult};

/// `--set` with the row's own settings over it.
fn sets_of(a: &RunArgs, row: &BulkUser) -> Vec<String> {
    row.sets_over(&a.set)
}

/// Every row's due time, or the first row's error naming its line: nothing is planned or
/// scheduled unless all have one. With `jobs` (`--last-day from-directory`), each user's last day
/// is read from its tenant's directory first.
fn dues(config: &Config, a: &RunArgs, file: &Path, users: &[BulkUser], jobs: Option<&[Job]>) -> Result<Vec<DateTime<Utc>>> {
    let mut notes = BTreeSet::new();
    let mut dues: Vec<DateTime<Utc>> = Vec::with_capacity(users.len());
    for (i, row) in users.iter().enumerate() {
        let at_line = |e: Error| match e {
            Error::Usage(m) => Error::Usage(format!("{}: line {} ({}): {m}", file.display(), row.line, row.upn)),
            e @ Error::UserNotFound { .. } => Error::Usage(format!("{}: line {}: {e}", file.display(), row.line)),
            e => e,
        };
        let day = match jobs {
            Some(jobs) => Some(jobs[i].session.directory_leave_day(&row.upn).map_err(at_line)?),
            None => None,
        };
        let tenant = row.tenant.as_deref().or(a.tenant.as_deref());
        let (due, note) = due_of(config, a, tenant, &sets_of(a, row), day.as_ref()).map_err(at_line)?;
        notes.extend(note);
        dues.push(due);
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    Ok(dues)
}

pub(super) fn cmd_bulk_schedule(ctx: &Ctx, config: &Config, a: &RunArgs, file: &Path) -> Result<u8> {
    let (users, names) = read_users(config, a, file)?;
    // A date given is checked before connecting to anything; dates in the directory are read first.
    let given = if from_directory(a) { None } else { Some(dues(config, a, file, &users, None)?) };
    let sessions = open_sessions(ctx, config, a, &names)?;
    let label = names.join(", ");
    let result = (|| {
        let jobs = jobs_of(&users, &names, &sessions);
        let dues = match given {
            Some(d) => d,
            None => dues(config, a, file, &users, Some(&jobs))?,
        };
        let plans = run_kept(&jobs, Mode::Plan, a.concurrency, std::io::stderr().is_terminal(), true);
        let failed = plans.iter().filter(|(r, _)| r.is_failure()).count();
        let to_schedule = plans.iter().filter(|(r, _)| r.status == "planned").count();
        let total: usize = plans.iter().filter(|(r, _)| r.status == "planned").map(|(r, _)| r.changes).sum();
        if !a.json {
            print_table(ctx, &plans.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(), Mode::Plan);
        }
        eprintln!(
            "{} user(s): {to_schedule} to schedule ({total} change(s) planned now), {} with nothing to change, {failed} failed to plan",
            users.len(),
            plans.iter().filter(|(r, _)| r.status == "nothing_to_change").count()
        );
        if to_schedule > 0 && !a.yes {
            confirm(total, &format!("{to_schedule} users (scheduled)"), &label)?;
        }
        let requester = request::os_requester();
        let mut warnings = BTreeSet::new();
        let mut results = Vec::with_capacity(plans.len());
        for (((mut r, report), job), due) in plans.into_iter().zip(&jobs).zip(&dues) {
            let scheduled = match (&report, r.status.as_str()) {
                (Some(plan), "planned") => Some(schedule_one(job.session, plan, a, job.row, *due, &requester)),
                _ => None,
            };
            match scheduled {
                Some(Ok(notices)) => {
                    r.status = "scheduled".into();
                    warnings.extend(notices.into_iter().filter_map(|n| match n {
                        Notice::Warning(m) => Some(m),
                        Notice::Info(_) => None,
                    }));
                }
                Some(Err(e)) => {
                    r.status = "error".into();
                    r.error = Some(format!("planned, not scheduled: {e}"));
                }
                None => {}
            }
            results.push((r, *due));
        }
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        emit(a, &label, &results);
        let failed = results.iter().filter(|(r, _)| r.is_failure()).count();
        Ok(if failed > 0 { 1 } else { 0 })
    })();
    sessions.into_iter().for_each(Session::close);
    result
}

/// Record one user's scheduled run, with the row's settings kept as the run's `--set` values.
fn schedule_one(
    session: &Session,
    plan: &crate::exec::report::Report,
    a: &RunArgs,
    row: &BulkUser,
    due: DateTime<Utc>,
    requester: &str,
) -> Result<Vec<Notice>> {
    let spec = RunSpec { tenant: Some(session.tenant_name.clone()), sets: sets_of(a, row), ..a.spec() };
    request::schedule(session, plan, spec.options(), due, requester)
}

fn emit(a: &RunArgs, tenant: &str, results: &[(UserResult, DateTime<Utc>)]) {
    let scheduled = results.iter().filter(|(r, _)| r.status == "scheduled").count();
    let failed = results.iter().filter(|(r, _)| r.is_failure()).count();
    if a.json {
        let users: Vec<serde_json::Value> = results
            .iter()
            .map(|(r, due)| {
                let mut v = json!(r);
                v["due"] = json!(due.to_rfc3339());
                v
            })
            .collect();
        let doc =
            json!({"tenant": tenant, "mode": "schedule", "users": users, "total": results.len(), "scheduled": scheduled, "failed": failed});
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return;
    }
    eprintln!(
        "scheduled: {scheduled} run(s){}. `offboard-host worker` applies each when due; `offboard-host schedule list` shows them. Nothing was written.",
        match results.iter().filter(|(r, _)| r.status == "scheduled").map(|(_, d)| *d).min() {
            Some(first) => format!(", the first due at {}", first.to_rfc3339()),
            None => String::new(),
        }
    );
    if failed > 0 {
        eprintln!("error: {failed} of {} user(s) failed", results.len());
    }
}
