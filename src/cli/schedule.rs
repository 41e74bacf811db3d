//! Scheduled runs: `run ... --at`, `schedule list|cancel`, and the `worker` that applies them.
//!
//! Scheduling records the plan run and its due time; nothing is written. The worker looks for
//! pending runs whose time has come (also those that came due while no worker ran), claims each
//! one with a conditional update (`pending` → `running`, one transaction), so with two workers on
//! the same journal only one applies it, re-plans, notes when the plan differs from the one shown
//! at scheduling time, and applies.
//!
//! The claim is a lease ([`LEASE_SECS`]) that a heartbeat thread renews while the item runs. A worker
//! that dies stops renewing; once its lease has run out, the next worker's pass takes the item
//! over and runs it again: the apply run re-observes every target, and the journal's intents keep
//! a write that landed (or may have) from being sent twice. A worker that died after its run
//! succeeded but before it marked the item done left a finished run naming the item: the taker
//! marks the item done with it instead of journalling a second apply. Until then `schedule list` shows it
//! `running`; `schedule cancel` stops an abandoned one (never one whose worker is alive).
//!
//! Time comes from [`crate::workflow::clock`] (`OFFBOARD_NOW` in debug builds, for the tests).

use super::out::{out, outln};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::args::{RunArgs, ScheduleCommand, WorkerArgs};
use super::open_journal;
use super::{confirm, render, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::graph::WritePacer;
use crate::journal::{Journal, Mode, RunStatus, StepStatus, Transition, WorkItem, WorkKind};
use crate::run::outcome_error;
use crate::service::jobs::env_number;
use crate::service::request;
use crate::service::{tenant_write_pacer, Reuse, RunSpec, Session};
use crate::workflow::leave_date::{leave_due, FROM_DIRECTORY, LEAVE_TIME, TIME_ZONE};
use crate::workflow::{apply_run_of, clock, plan_changes, planned_steps};

/// How long a claim holds without renewal, in seconds. Long enough that a busy machine renews in
/// time (the heartbeat is a quarter of it), short enough that a dead worker's item waits minutes,
/// not hours. `OFFBOARD_WORKER_LEASE_SECS` changes it (the scale test: seconds); on PostgreSQL it
/// must stay longer than the journal's session TTL, or a takeover finds the writer lock held.
const LEASE_SECS: f64 = 120.0;

fn lease() -> chrono::Duration {
    let secs = env_number("OFFBOARD_WORKER_LEASE_SECS").unwrap_or(LEASE_SECS);
    chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

fn heartbeat() -> Duration {
    lease().to_std().unwrap_or_default() / 4
}

/// When `--at` or `--last-day` says the run is due; refused if that is not in the future.
/// `directory`: the user's last day read from Entra, for `--last-day from-directory`.
fn due_time(config: &Config, a: &RunArgs, directory: Option<&DirectoryDay>) -> Result<DateTime<Utc>> {
    let (due, note) = due_of(config, a, a.tenant.as_deref(), &a.set, directory)?;
    if let Some(note) = &note {
        eprintln!("note: {note}");
    }
    Ok(due)
}

/// A last day read from the directory, and the `employeeLeaveDateTime` value it was read from.
pub(super) type DirectoryDay = (chrono::NaiveDate, String);

/// Does `a` take the last day from the directory (`--last-day from-directory`)?
pub(super) fn from_directory(a: &RunArgs) -> bool {
    a.last_day.as_deref().is_some_and(|d| d.trim().eq_ignore_ascii_case(FROM_DIRECTORY))
}

/// When `--at` or `--last-day` says a run of `tenant` with `sets` (its `--set` values) is due,
/// with a note on how a last day was read (a time that a clock change skips); refused if that is
/// not in the future. With `--last-day from-directory`, `directory` is the day read.
pub(super) fn due_of(
    config: &Config,
    a: &RunArgs,
    tenant: Option<&str>,
    sets: &[String],
    directory: Option<&DirectoryDay>,
) -> Result<(DateTime<Utc>, Option<String>)> {
    let mut note = None;
    let (given, due) = match (&a.at, &a.last_day) {
        (Some(at), _) => {
            let due = DateTime::parse_from_rfc3339(at.trim()).map_err(|e| {
                Error::Usage(format!("--at '{at}': expected an RFC 3339 date-time with its offset, e.g. 2026-12-18T17:00:00+01:00 ({e})"))
            })?;
            (format!("--at {at}"), due.with_timezone(&Utc))
        }
        (None, Some(day)) => {
            let (day, shown) = match (from_directory(a), directory) {
                (true, Some((d, value))) => (d.to_string(), format!("--last-day from-directory (employeeLeaveDateTime {value}: {d})")),
                (true, None) => return Err(Error::Usage("--last-day from-directory: the user's leave date was not read".into())),
                (false, _) => (day.clone(), format!("--last-day {day}")),
            };
            let day = &day;
            // The client's defaults with this run's --set over them, as the script sees them.
            let (_, tenant) = config.tenant(tenant)?;
            let (org, _) = crate::settings::org_with_sets(&tenant.defaults, sets)?;
            let setting = |key: &str| org.get(key).and_then(|v| v.clone().into_string().ok());
            let due = leave_due(day, setting(LEAVE_TIME).as_deref(), setting(TIME_ZONE).as_deref()).map_err(Error::Usage)?;
            note = due.note.clone();
            (format!("{shown} (due {})", due.at.to_rfc3339()), due.at)
        }
        (None, None) => return Err(Error::Usage("a scheduled run needs --at or --last-day".into())),
    };
    request::check_due(due, &given)?;
    Ok((due, note))
}

/// `run ... --at T` (or `--last-day D`): plan now, record, apply later.
pub(super) fn cmd_schedule_run(ctx: &Ctx, config: &Config, a: &RunArgs) -> Result<u8> {
    // A date given is checked before connecting to anything; one in the directory is read first.
    let given = if from_directory(a) { None } else { Some(due_time(config, a, None)?) };
    let spec = a.spec();
    let session = Session::open(&ctx.home, config, &spec)?;
    let result = (|| {
        let due = match given {
            Some(due) => due,
            None => {
                let day = session.directory_leave_day(&a.user)?;
                eprintln!("note: last day {} from Entra (employeeLeaveDateTime {})", day.0, day.1);
                due_time(config, a, Some(&day))?
            }
        };
        let plan = request::plan(&session, &a.user)?;
        if a.json {
            outln!("{}", serde_json::to_string_pretty(&plan).unwrap_or_default());
        } else {
            out!("{}", render::report(&plan, ctx.color));
        }
        if let Some(e) = outcome_error(&plan) {
            eprintln!("error: {e}");
            return Ok(e.exit_code());
        }
        // Scheduling is deciding to write, only later: the same question as `run` (a terminal
        // or `--yes`), else nothing is scheduled (exit 6).
        if !a.yes {
            confirm(plan.count(StepStatus::Planned), &a.user, &session.tenant_name)?;
        }
        let notices = request::schedule(&session, &plan, spec.options(), due, &request::os_requester())?;
        super::approve::print_notices(&notices);
        eprintln!(
            "scheduled: run {id} offboards {user} at {due} ({n} change(s) planned now; re-planned then). `offboard-host worker` applies it; `offboard-host schedule cancel {id}` cancels it. Nothing was written.",
            id = plan.run_id,
            user = a.user,
            due = due.to_rfc3339(),
            n = plan.count(StepStatus::Planned)
        );
        Ok(0)
    })();
    session.close();
    result
}

pub(super) fn cmd_schedule(ctx: &Ctx, command: ScheduleCommand) -> Result<u8> {
    let journal = open_journal(ctx)?;
    match command {
        ScheduleCommand::List { all, json } => {
            // Without --all: what has not finished, pending and running (an abandoned one too).
            let items: Vec<WorkItem> = journal
                .work_list(WorkKind::Schedule, None)?
                .into_iter()
                .filter(|i| all || i.status == "pending" || i.status == "running")
                .collect();
            if json {
                outln!("{}", serde_json::to_string_pretty(&items).unwrap_or_default());
            } else if items.is_empty() {
                outln!("no scheduled runs{}", if all { "" } else { " pending or running" });
            } else {
                let now = clock::now();
                let mut t = render::table(ctx.color, &["id", "tenant", "user", "due", "status", "applied run", "note"]);
                for i in &items {
                    let status = match (&i.claimed_by, i.abandoned(now)) {
                        (Some(w), true) => format!("running (worker {w} gone: lease ran out)"),
                        (Some(w), false) if i.status == "running" => format!("running (worker {w})"),
                        _ => i.status.clone(),
                    };
                    t.add_row(vec![
                        i.id.clone(),
                        i.tenant.clone(),
                        i.user.clone(),
                        i.at.to_rfc3339(),
                        status,
                        i.applied_run_id.clone().unwrap_or_default(),
                        i.note.clone().unwrap_or_default(),
                    ]);
                }
                outln!("{t}");
            }
            Ok(0)
        }
        ScheduleCommand::Cancel { run_id } => {
            let run_id = super::run_id::resolve(&*journal, &run_id, super::run_id::Kind::Schedule)?;
            let item = journal.work_get(&run_id)?.filter(|i| i.kind == WorkKind::Schedule);
            let Some(item) = item else {
                return Err(Error::Usage(format!("no scheduled run has id '{run_id}' (see `offboard-host schedule list`)")));
            };
            if !journal.work_cancel(&run_id, clock::now())? {
                let now = journal.work_get(&run_id)?.map(|i| i.status).unwrap_or(item.status);
                return Err(Error::Usage(format!(
                    "scheduled run {run_id} is {now}: only a pending run, or a running one whose worker is gone, can be cancelled"
                )));
            }
            outln!("scheduled run {run_id} ({} at {}) cancelled", item.user, item.at.to_rfc3339());
            Ok(0)
        }
    }
}

/// What carrying out a claimed item came to.
struct Outcome {
    /// The apply run succeeded.
    ok: bool,
    run: Option<String>,
    note: String,
    /// The step that waits, when the run must go on in a later pass (`yield_waits` only).
    waiting: Option<String>,
    /// The run could not start or plan for a reason that passes (see [`passing`]): worth another
    /// attempt later, unlike a run that failed on its own.
    passing: bool,
}

impl Outcome {
    fn failed(note: String, e: &Error) -> Outcome {
        Outcome { ok: false, run: None, note, waiting: None, passing: passing(e) }
    }
}

/// A failure that another attempt may not meet: a target system or the journal unreachable,
/// throttling past the client's own retries, or the user's writer lock held by another run (a
/// technician's run by hand). Not: an unknown or protected user, an identity mismatch, a script
/// or configuration error; those need a person, and trying again changes nothing.
fn passing(e: &Error) -> bool {
    matches!(e, Error::Graph(_) | Error::Provider { .. } | Error::Journal(_) | Error::Locked { .. })
}

/// Carry out one claimed item: re-plan, note what changed since scheduling, apply.
/// `yield_waits`: the queue worker's runs (see [`WAIT_IN_JOB`]). `pacer`: the Graph writes'
/// pacer (None: one of the run's own). `journal`: the worker's own, so every run it carries out
/// is under the worker's journal session (on PostgreSQL the session that dies with the worker and
/// lets its locks go), and a job does not open a connection pool of its own.
fn execute(
    ctx: &Ctx,
    config: Option<&Config>,
    journal: Arc<dyn Journal>,
    item: &WorkItem,
    pacer: Option<Arc<WritePacer>>,
    yield_waits: bool,
) -> Outcome {
    let loaded;
    let config = match config {
        Some(c) => c,
        None => match Config::load(ctx.config_path.as_deref(), &ctx.home) {
            Ok(c) => {
                loaded = c;
                &loaded
            }
            Err(e) => return Outcome::failed(format!("configuration: {e}"), &e),
        },
    };
    let spec = RunSpec { yield_waits: yield_waits.then(wait_in_job), ..RunSpec::from_stored(&item.tenant, &item.script, &item.options) };
    let session = match Session::open_with(&ctx.home, config, &spec, &Reuse { pacer, journal: Some(journal), ..Reuse::default() }) {
        Ok(s) => s,
        Err(e) => return Outcome::failed(format!("could not start: {e}"), &e),
    };
    let out = (|| {
        let plan = session.run(&item.user, Mode::Plan).map_err(|e| (format!("plan failed: {e}"), passing(&e)))?;
        if let Some(e) = outcome_error(&plan) {
            return Err((format!("plan failed: {e}"), passing(&e)));
        }
        let steps = planned_steps(&plan, &*session.journal).map_err(|e| (format!("plan failed: {e}"), true))?;
        let changes = plan_changes(&item.script_hash, &item.plan, &session.script.hash(), &steps);
        let plan_note = if changes.is_empty() {
            "plan unchanged since scheduling".to_string()
        } else {
            format!("plan changed since scheduling: {}", changes.join("; "))
        };
        let report =
            session.apply_item(&item.user, &item.id).map_err(|e| (format!("{plan_note}; apply did not start: {e}"), passing(&e)))?;
        let ok = outcome_error(&report).is_none();
        // Only the wait failed, and it said "later": the run goes on in a later pass.
        let waiting = report.steps.iter().filter(|s| s.status == StepStatus::Failed).map(|s| s.detail.clone()).collect::<Vec<_>>();
        let waiting = match waiting.as_slice() {
            [one] if one.starts_with(crate::exec::WAIT_LATER) => Some(one.clone()),
            _ => None,
        };
        Ok((ok, report.run_id.clone(), format!("{plan_note}; run {}", report.status), waiting))
    })();
    session.close();
    match out {
        Ok((ok, run, note, waiting)) => Outcome { ok, run: Some(run), note, waiting, passing: false },
        Err((note, passing)) => Outcome { ok: false, run: None, note, waiting: None, passing },
    }
}

/// How long a queue worker's run waits inside its job for the target system (a conversion to
/// shared usually shows within seconds) before it gives the job back and waits in the queue:
/// `OFFBOARD_QUEUE_WAIT_IN_JOB_SECS`, default 20.
pub(super) const WAIT_IN_JOB: u64 = 20;

fn wait_in_job() -> Duration {
    Duration::from_secs_f64(env_number("OFFBOARD_QUEUE_WAIT_IN_JOB_SECS").unwrap_or(WAIT_IN_JOB as f64))
}

/// How long a run that waits for the target system stays in the queue before its next pass:
/// `OFFBOARD_QUEUE_WAIT_AGAIN_SECS`, default 30.
fn wait_again() -> chrono::Duration {
    let secs = env_number("OFFBOARD_QUEUE_WAIT_AGAIN_SECS").unwrap_or(30.0).clamp(1.0, 3600.0);
    chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

/// The local worker's write pacers, one per client for the worker's whole life: every run has a
/// session of its own, and a pacer per session would forget the previous runs' writes, still in
/// the server's window. (On PostgreSQL the window is the lane's, kept in the database: `lanes.rs`.)
#[derive(Default)]
struct Pacers(HashMap<String, Arc<WritePacer>>);

impl Pacers {
    /// `tenant`'s pacer; None when its configuration cannot say (the run then reports why).
    fn of(&mut self, ctx: &Ctx, tenant: &str) -> Option<Arc<WritePacer>> {
        if let Some(p) = self.0.get(tenant) {
            return Some(p.clone());
        }
        let config = Config::load(ctx.config_path.as_deref(), &ctx.home).ok()?;
        let (name, t) = config.tenant(Some(tenant)).ok()?;
        let p = tenant_write_pacer(name, t).ok()?;
        self.0.insert(tenant.to_string(), p.clone());
        Some(p)
    }
}

/// One look at the schedule: claim and run what is due. Returns (results, any failed).
fn pass(ctx: &Ctx, journal: &Arc<dyn Journal>, worker: &str, pacers: &mut Pacers) -> Result<(Vec<serde_json::Value>, bool)> {
    let mut results = Vec::new();
    let mut failed = false;
    for item in journal.work_due(clock::now())? {
        let pacer = pacers.of(ctx, &item.tenant);
        if let Some((result, ok, _)) = claim_and_run(ctx, journal, &item, worker, pacer, false, None)? {
            failed |= !ok;
            results.push(result);
        }
    }
    Ok((results, failed))
}

/// What a claimed item came to: its result line, whether the run succeeded, and when it waits
/// for a later pass (re-queued: `pending` again, due then).
pub(super) type Claimed = (serde_json::Value, bool, Option<DateTime<Utc>>);

/// Claim a due (or abandoned) item and carry it out under the lease, its Graph writes paced by
/// `pacer` (None: a pacer of the run's own); `None` when another worker claimed it first. With
/// `yield_waits` (the queue worker), a run whose only failure is a wait that must go on (a
/// mailbox not yet shared) is put back to `pending` for a later pass. `config`: the
/// configuration as the caller just read it for this item (None: read it again).
pub(super) fn claim_and_run(
    ctx: &Ctx,
    journal: &Arc<dyn Journal>,
    item: &WorkItem,
    worker: &str,
    pacer: Option<Arc<WritePacer>>,
    yield_waits: bool,
    config: Option<&Config>,
) -> Result<Option<Claimed>> {
    let now = clock::now();
    if !journal.work_claim(&item.id, worker, now, now + lease())? {
        return Ok(None); // another worker has it
    }
    // Taking over from a worker that died holding it.
    let taken_over = match (&item.claimed_by, item.status.as_str()) {
        (Some(dead), "running") => Some(format!("taken over from worker {dead} (its lease ran out)")),
        _ => None,
    };
    if let Some(taken) = &taken_over {
        // The dead worker may have died after its run succeeded but before it marked the item
        // done: that run is the item's, and running it again would journal a second apply.
        if let Some(run) = succeeded_run_of(&**journal, item)? {
            let note = format!("{taken}; its run {run} had already succeeded: not run again");
            let t = Transition { applied_run_id: Some(&run), note: Some(&note), ..Default::default() };
            journal.work_transition(&item.id, "running", "done", &t)?;
            return Ok(Some((result_line(item, item.at, "done", Some(&run), &note), true, None)));
        }
    }
    let Outcome { ok, run, note, waiting, passing } =
        with_heartbeat(&**journal, &item.id, worker, || execute(ctx, config, journal.clone(), item, pacer, yield_waits));
    // Debug builds only: die where a crash is hardest to recover from, after the run finished
    // and before the item says so (the takeover tests; a release build ignores it).
    if cfg!(debug_assertions) && std::env::var_os("OFFBOARD_TEST_DIE_BEFORE_ITEM_DONE").is_some() {
        std::process::exit(137);
    }
    let note = match &taken_over {
        Some(taken) => format!("{taken}; {note}"),
        None => note,
    };
    if passing && yield_waits {
        // Back to `pending`, and the job fails: the queue tries it again with its back-off, and
        // its last attempt ends the item `failed` with this reason (`queue.rs`).
        let note = format!("{note}; another attempt follows with back-off");
        journal.work_requeue(&item.id, worker, clock::now(), &note)?;
        return Err(Error::Provider { tenant: item.tenant.clone(), message: note });
    }
    if let Some(wait) = waiting {
        let at = clock::now() + wait_again();
        let note = format!("{note}; waiting: {wait}; next pass at {}", at.to_rfc3339());
        journal.work_requeue(&item.id, worker, at, &note)?;
        return Ok(Some((result_line(item, at, "waiting", run.as_deref(), &note), true, Some(at))));
    }
    let to = if ok { "done" } else { "failed" };
    journal.work_transition(
        &item.id,
        "running",
        to,
        &Transition { applied_run_id: run.as_deref(), note: Some(&note), ..Default::default() },
    )?;
    Ok(Some((result_line(item, item.at, to, run.as_deref(), &note), ok, None)))
}

/// What a worker's pass says of one item (`--json`, and one line a run).
fn result_line(item: &WorkItem, due: DateTime<Utc>, status: &str, run: Option<&str>, note: &str) -> serde_json::Value {
    json!({"id": item.id, "tenant": item.tenant, "user": item.user, "due": due, "status": status, "run_id": run, "note": note})
}

/// The apply run that carried `item` out and succeeded, if one did (its options name the item).
fn succeeded_run_of(journal: &dyn Journal, item: &WorkItem) -> Result<Option<String>> {
    Ok(apply_run_of(journal, item)?.filter(|r| r.status == RunStatus::Succeeded).map(|r| r.run_id))
}

/// Run `f` while a thread renews `worker`'s lease on `id` every quarter lease.
fn with_heartbeat<T>(journal: &dyn Journal, id: &str, worker: &str, f: impl FnOnce() -> T) -> T {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(heartbeat()) {
                match journal.work_renew(id, worker, clock::now() + lease()) {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!("worker: lost the lease on {id} (another worker took it over or it was cancelled)"),
                    Err(e) => tracing::warn!("worker: renewing the lease on {id}: {e}"),
                }
            }
        });
        let out = f();
        drop(stop);
        out
    })
}

/// The worker on a local journal: a pass over the schedule every `--interval` (on PostgreSQL the
/// queue wakes it instead: `queue.rs`).
pub(super) fn poll_worker(ctx: &Ctx, journal: &Arc<dyn Journal>, worker: &str, a: &WorkerArgs) -> Result<u8> {
    let mut pacers = Pacers::default();
    loop {
        let (results, failed) = pass(ctx, journal, worker, &mut pacers)?;
        print_pass(worker, &results, a);
        if a.once {
            return Ok(if failed { 1 } else { 0 });
        }
        std::thread::sleep(Duration::from_secs(a.interval.max(1)));
    }
}

/// What one pass of a worker did, as JSON (`--json`) or one line a run.
pub(super) fn print_pass(worker: &str, results: &[serde_json::Value], a: &WorkerArgs) {
    {
        if a.json {
            outln!("{}", serde_json::to_string_pretty(&json!({"worker": worker, "runs": results})).unwrap_or_default());
        } else {
            for r in results {
                outln!(
                    "{} {} {}: {} (run {}): {}",
                    r["id"].as_str().unwrap_or(""),
                    r["tenant"].as_str().unwrap_or(""),
                    r["user"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["run_id"].as_str().unwrap_or("-"),
                    r["note"].as_str().unwrap_or("")
                );
            }
            if results.is_empty() && (a.once || std::io::stderr().is_terminal()) {
                eprintln!("worker: nothing due at {}", clock::now().to_rfc3339());
            }
        }
    }
}
