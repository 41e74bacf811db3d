//! `run ... --users-file CSV`: many users, one confirmation, paced at Graph's write quota.
//!
//! Each user is its own run (own journal entry, own writer lock). All runs in one tenant share one
//! [`Session`]: one connection, one set of clients (a token per API, one SKU read, one connection
//! pool), and one write pacer (`graph::pacer`) holding every Graph write of the tenant under its
//! quota (`graph_write_quota`, by default the documented 3,000 per 150 s). A file with a `tenant`
//! column runs each tenant's users under that tenant's own session and quota; a tenant the
//! configuration does not know is refused before anything runs.
//!
//! How many users run at once is not fixed: the next user starts when its tenant's pacer has room
//! (no write waiting, the window not full), up to `--concurrency` users in flight. A user that
//! sends nothing for a while (waiting for its mailbox conversion) takes no write capacity, so
//! others start meanwhile; when the tenant's quota is spent, no user starts until it has room
//! again. One user's failure (unknown user, failed step, lock held) is that user's result; the
//! others go on. Exit 1 when any user failed.

use super::out::outln;
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::args::RunArgs;
use super::{confirm, render, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{Mode, StepStatus};
use crate::run::outcome_error;
use crate::service::{RunSpec, Session};
use crate::settings::org_with_sets;
use crate::settings::schema::defaults_map as known_settings;
use crate::workflow::bulk::{parse_users, BulkUser, UserResult, UsersFile};

/// How often a worker looks again for a user whose tenant has room.
const ROOM_POLL: Duration = Duration::from_millis(20);

fn result_of(user: &str, mode: Mode, r: Result<Report>) -> UserResult {
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
                tenant: None,
                status,
                run_id: Some(rep.run_id.clone()),
                changes,
                failed_steps: rep.count(StepStatus::Failed),
                error: err,
            }
        }
        Err(e) => UserResult {
            user: user.to_string(),
            tenant: None,
            status: "error".into(),
            run_id: None,
            changes: 0,
            failed_steps: 0,
            error: Some(e.to_string()),
        },
    }
}

/// One user of the run and the session of its tenant.
pub(super) struct Job<'a> {
    pub row: &'a BulkUser,
    pub session: &'a Session,
}

/// May `job`'s user start now? In plan mode always (plans write nothing); in apply mode when its
/// tenant's write pacer has room.
fn has_room(job: &Job, mode: Mode) -> bool {
    mode == Mode::Plan || job.session.write_pacer().is_none_or(|p| p.has_room())
}

/// Run `mode` for each job, at most `bound` at once, each started when its tenant has room;
/// results in the jobs' order.
pub(super) fn run_all(jobs: &[Job], mode: Mode, bound: usize, show_progress: bool) -> Vec<UserResult> {
    run_kept(jobs, mode, bound, show_progress, false).into_iter().map(|(r, _)| r).collect()
}

/// A user's result and, when kept, its run's report.
pub(super) type Kept = (UserResult, Option<Report>);

/// As [`run_all`], each result with its report when `keep` (and the run got as far as one).
pub(super) fn run_kept(jobs: &[Job], mode: Mode, bound: usize, show_progress: bool, keep: bool) -> Vec<Kept> {
    let bar = if show_progress {
        let b = ProgressBar::with_draw_target(Some(jobs.len() as u64), ProgressDrawTarget::stderr());
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
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..jobs.len()).collect());
    let failed = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Kept>>> = Mutex::new(vec![None; jobs.len()]);
    // The next job whose tenant has room, in file order within each tenant; None when none is left.
    let next = || loop {
        {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.is_empty() {
                return None;
            }
            if let Some(pos) = q.iter().position(|&i| has_room(&jobs[i], mode)) {
                return q.remove(pos);
            }
        }
        std::thread::sleep(ROOM_POLL);
    };
    std::thread::scope(|s| {
        for _ in 0..bound.max(1).min(jobs.len()) {
            s.spawn(|| {
                while let Some(i) = next() {
                    let Job { row, session } = &jobs[i];
                    let user = row.upn.as_str();
                    let report = session.validate_user(user).and_then(|()| session.run_with(user, mode, &row.settings));
                    let kept = report.as_ref().ok().filter(|_| keep).cloned();
                    let mut r = result_of(user, mode, report);
                    r.tenant = row.tenant.as_ref().map(|_| session.tenant_name.clone());
                    if r.is_failure() {
                        let n = failed.fetch_add(1, Ordering::SeqCst) + 1;
                        bar.set_message(format!("{n} failed"));
                    }
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some((r, kept));
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    results.into_inner().unwrap_or_else(|p| p.into_inner()).into_iter().flatten().collect()
}

pub(super) fn print_table(ctx: &Ctx, results: &[UserResult], mode: Mode) {
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
    outln!("{t}");
}

/// The tenant of each row (its `tenant` cell, else `--tenant`'s), each checked against the
/// configuration and its defaults against `--set`, before any tenant is connected to.
pub(super) fn tenants_of(config: &Config, a: &RunArgs, users: &[BulkUser]) -> Result<Vec<String>> {
    let (default, _) = config.tenant(a.tenant.as_deref())?;
    let mut names: Vec<String> = Vec::new();
    for u in users {
        let name = u.tenant.as_deref().unwrap_or(default);
        if !names.iter().any(|n| n == name) {
            let (_, tenant) = config.tenant(Some(name)).map_err(|e| match &u.tenant {
                Some(t) => Error::Usage(format!("line {}: tenant '{t}': {e}", u.line)),
                None => e,
            })?;
            org_with_sets(&tenant.defaults, &a.set)?;
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// A session for each tenant of the file, all or none (one that cannot open closes the others).
pub(super) fn open_sessions(ctx: &Ctx, config: &Config, a: &RunArgs, names: &[String]) -> Result<Vec<Session>> {
    let mut sessions: Vec<Session> = Vec::new();
    for name in names {
        let spec = RunSpec { tenant: Some(name.clone()), ..a.spec() };
        match Session::open(&ctx.home, config, &spec) {
            Ok(s) => sessions.push(s),
            Err(e) => {
                sessions.into_iter().for_each(Session::close);
                return Err(e);
            }
        }
    }
    Ok(sessions)
}

/// Each row with the session of its tenant (`names[i]`'s is `sessions[i]`; the first is the
/// default tenant's).
pub(super) fn jobs_of<'a>(users: &'a [BulkUser], names: &[String], sessions: &'a [Session]) -> Vec<Job<'a>> {
    let session_of = |u: &BulkUser| {
        let name = u.tenant.as_deref().unwrap_or(&names[0]);
        &sessions[names.iter().position(|n| n == name).unwrap_or(0)]
    };
    users.iter().map(|row| Job { row, session: session_of(row) }).collect()
}

/// The rows of `file` and the tenants they name (the default one first), all checked before
/// any tenant is connected to: a bad file or an unknown tenant changes nothing anywhere.
pub(super) fn read_users(config: &Config, a: &RunArgs, file: &Path) -> Result<(Vec<BulkUser>, Vec<String>)> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
    let known = known_settings();
    let UsersFile { users, ignored } = parse_users(&text, &known).map_err(|m| Error::Usage(format!("{}: {m}", file.display())))?;
    let names = tenants_of(config, a, &users)?;
    if !ignored.is_empty() {
        // Shown before the plans: a misspelt setting is a column nobody reads.
        eprintln!("ignored columns: {}", ignored.join(", "));
    }
    Ok((users, names))
}

pub(super) fn cmd_bulk(ctx: &Ctx, config: &Config, a: &RunArgs, file: &Path, plan_only: bool) -> Result<u8> {
    let (users, names) = read_users(config, a, file)?;
    let sessions = open_sessions(ctx, config, a, &names)?;
    let label = names.join(", ");
    let result = (|| {
        let jobs = jobs_of(&users, &names, &sessions);
        let bound = a.concurrency;
        let progress = std::io::stderr().is_terminal();
        let mut results: Vec<Option<UserResult>> = vec![None; jobs.len()];
        let mut todo: Vec<usize> = (0..jobs.len()).collect();
        // As for one user: the plan is shown before an apply, except with --yes --json.
        if plan_only || !(a.yes && a.json) {
            let plans = run_all(&jobs, Mode::Plan, bound, progress);
            let failed = plans.iter().filter(|r| r.is_failure()).count();
            if plan_only {
                emit(ctx, a, &label, Mode::Plan, &plans);
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
                    emit(ctx, a, &label, Mode::Plan, &plans);
                }
                return Ok(if failed > 0 { 1 } else { 0 });
            }
            if !a.yes {
                confirm(total, &format!("{to_apply} users"), &label)?;
            }
            // Users whose plan failed or had nothing to do keep their plan result.
            todo = (0..jobs.len()).filter(|&i| plans[i].status == "planned").collect();
            for (i, r) in plans.into_iter().enumerate() {
                if !todo.contains(&i) {
                    results[i] = Some(r);
                }
            }
        }
        let apply: Vec<Job> = todo.iter().map(|&i| Job { row: jobs[i].row, session: jobs[i].session }).collect();
        for (i, r) in todo.iter().zip(run_all(&apply, Mode::Apply, bound, progress)) {
            results[*i] = Some(r);
        }
        let results: Vec<UserResult> = results.into_iter().flatten().collect();
        emit(ctx, a, &label, Mode::Apply, &results);
        let failed = results.iter().filter(|r| r.is_failure()).count();
        if failed > 0 && !a.json {
            eprintln!("error: {failed} of {} user(s) failed", users.len());
        }
        Ok(if failed > 0 { 1 } else { 0 })
    })();
    sessions.into_iter().for_each(Session::close);
    result
}

fn emit(ctx: &Ctx, a: &RunArgs, tenant: &str, mode: Mode, results: &[UserResult]) {
    if a.json {
        let failed = results.iter().filter(|r| r.is_failure()).count();
        let doc = json!({"tenant": tenant, "mode": mode.as_str(), "users": results, "total": results.len(), "failed": failed});
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print_table(ctx, results, mode);
    }
}
