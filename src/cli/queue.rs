//! `offboard-host worker` on a PostgreSQL journal: scheduled runs are jobs of a graphile_worker
//! queue in the same database, instead of a poll of the schedule table.
//!
//! - A scheduled run is one job `advance_run {run_id}` with `job_key` = the run id: scheduling,
//!   re-queueing or a worker's catch-up of the same run replaces its one job, never adds a second.
//! - Its queue is one of the tenant's lanes (`offboard:<tenant>:<lane>/<lanes>`, see `lanes.rs`):
//!   graphile runs the jobs of one named queue one at a time, whatever the number of workers, so
//!   at most `lanes` runs of a tenant are in flight, a user never twice at once, and each lane
//!   writes under its slice of the tenant's quota, kept in the database from one run to the next.
//! - `run_at` is the due time: a wait is a job in the future, not a worker asleep. A job woken early
//!   (clocks), or for a run another worker holds under a live lease, re-queues itself for when
//!   that can change (the due time, the lease's end) and ends. A run that waits for the target
//!   system (a conversion to shared not visible after `OFFBOARD_QUEUE_WAIT_IN_JOB_SECS`, default
//!   20) gives its job back: the item goes back to `pending`, due `OFFBOARD_QUEUE_WAIT_AGAIN_SECS`
//!   later (default 30), and the next pass goes on from the journal (every earlier step is found
//!   done); the wait's own timeout counts from the conversion's intent, across passes.
//! - Redelivery is harmless: the job claims the schedule item with the journal's conditional
//!   UPDATE (of two deliveries one gets it, the other ends), and the apply run re-observes every
//!   target and keeps each write to once through its intents.
//! - A worker that dies stops beating: graphile's recovery (see [`recovery`]) frees its job and
//!   its tenant's queue; its item stays `running` under a lease that runs out (2 minutes), and
//!   the recovered or re-queued job (or a worker's catch-up at start and every `--interval`)
//!   takes it over, the journal's writer lock going over once the dead process's journal
//!   session has stopped beating too.
//! - An error that is not the run's own fails the job, which graphile retries with exponential
//!   backoff, [`MAX_ATTEMPTS`](crate::service::jobs::MAX_ATTEMPTS) times
//!   (`OFFBOARD_QUEUE_MAX_ATTEMPTS`), the last attempt ending the item `failed` with its reason:
//!   the journal unreachable, and a run that could not start or plan for a reason that passes (a
//!   target system down or throttling past the client's retries, the user's lock held by a run
//!   by hand; its item goes back to `pending` meanwhile). A run that fails on its own (an unknown
//!   user, a failed step) ends `failed` with its reason: the job succeeded in carrying it out and
//!   is not re-run.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use graphile_worker::{
    IntoTaskHandlerResult, SweepStaleWorkersOptions, TaskHandler, WorkerContext, WorkerOptions, WorkerRecoveryConfig, WorkerUtils,
};
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::args::WorkerArgs;
use super::schedule::{claim_and_run, poll_worker, print_pass};
use super::Ctx;
use crate::config::{Config, DEFAULT_LANES};
use crate::error::Result;
use crate::journal::{Journal, Transition, WorkItem, WorkKind};
use crate::service::jobs::{add, add_started, env_number, queue_err, queue_schema, AdvanceRun, ADVANCE_RUN};
use crate::service::lanes::{self, Lane};
use crate::workflow::clock;

/// Jobs a worker runs at once (each a different lane's: one queue runs one job at a time).
const CONCURRENCY: usize = 4;

/// How long (seconds) a worker may stay silent before the others sweep it (see [`recovery`]);
/// `OFFBOARD_WORKER_STALE_SECS` changes it.
const STALE_SECS: f64 = 60.0;

/// How often (ms) a worker asks the queue for a job when no notification woke it;
/// `OFFBOARD_WORKER_POLL_MS` changes it. graphile fetches one job per wake-up, so while a tenant's
/// jobs wait behind each other in its queue this is also the gap between two of them.
const POLL_MS: f64 = 1000.0;

/// graphile's own dead-worker recovery: a worker beats six times per stale period; one silent for
/// the whole period (a minute, by the database's clock) is swept by the others every half period,
/// which frees its locked job and its tenant's queue. No recovery delay: what keeps a recovered run
/// from writing twice is the journal (claim, writer lock, intents), not a pause.
fn recovery() -> WorkerRecoveryConfig {
    let stale = std::time::Duration::from_secs_f64(env_number("OFFBOARD_WORKER_STALE_SECS").unwrap_or(STALE_SECS));
    WorkerRecoveryConfig {
        heartbeat_interval: stale / 6,
        sweep_interval: stale / 2,
        sweep_threshold: stale,
        recovery_delay: std::time::Duration::ZERO,
        enabled: true,
        ..WorkerRecoveryConfig::default()
    }
}

fn poll_interval() -> std::time::Duration {
    std::time::Duration::from_secs_f64(env_number("OFFBOARD_WORKER_POLL_MS").unwrap_or(POLL_MS) / 1000.0)
}

/// The results of a `--once` worker's jobs: (result line, whether the run succeeded).
type Collected = Arc<Mutex<Vec<(serde_json::Value, bool)>>>;

/// What a job needs from its worker (a graphile extension).
#[derive(Clone)]
struct QueueState {
    ctx: Arc<Ctx>,
    journal: Arc<dyn Journal>,
    pool: PgPool,
    worker: String,
    /// With `--once`: the results, printed together at the end.
    collected: Option<Collected>,
    args: Arc<WorkerArgs>,
}

impl std::fmt::Debug for QueueState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueState").field("worker", &self.worker).finish_non_exhaustive()
    }
}

impl TaskHandler for AdvanceRun {
    const IDENTIFIER: &'static str = ADVANCE_RUN;

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let Some(state) = ctx.get_ext::<QueueState>().cloned() else {
            return Err("the worker's state is missing".to_string());
        };
        // The run is synchronous and starts runtimes of its own (the session's): on a thread of
        // its own, outside this runtime, awaited without blocking the worker.
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = tokio::runtime::Handle::current();
        let (run_id, lane) = (self.run_id.clone(), self.lane);
        let journal = state.journal.clone();
        std::thread::spawn(move || {
            let _ = tx.send(advance(&state, &handle, &run_id, lane));
        });
        let out = rx.await.map_err(|_| "the run's thread ended without an answer".to_string()).and_then(|r| r);
        if let Err(reason) = &out {
            // attempts counts this delivery (graphile adds one when it hands the job out).
            let (attempt, max) = (*ctx.job().attempts(), *ctx.job().max_attempts());
            if attempt >= max {
                give_up(&*journal, &self.run_id, &format!("gave up after {attempt} attempt(s): {reason}"));
            }
        }
        out
    }
}

/// After a job's last attempt: the schedule item ends `failed` with the reason, instead of
/// staying `pending` (or `running`) with no job left to carry it out. Best effort: when the
/// journal itself is what fails, this fails too, and the warning is all there is.
fn give_up(journal: &dyn Journal, run_id: &str, note: &str) {
    let item = match journal.work_get(run_id) {
        Ok(Some(item)) if item.status == "pending" || item.status == "running" => item,
        Ok(_) => return,
        Err(e) => return tracing::warn!("worker: {run_id}: {note}; marking it failed: {e}"),
    };
    let t = Transition { note: Some(note), ..Default::default() };
    match journal.work_transition(run_id, &item.status, "failed", &t) {
        Ok(true) => tracing::warn!("worker: {run_id}: {note}"),
        Ok(false) => {}
        Err(e) => tracing::warn!("worker: {run_id}: {note}; marking it failed: {e}"),
    }
}

/// One delivery of a run's job: carry the run out if it is due and free, else re-queue it for
/// when that can change; finished, cancelled or gone: nothing to do.
fn advance(state: &QueueState, rt: &tokio::runtime::Handle, run_id: &str, lane: Option<Lane>) -> std::result::Result<(), String> {
    let journal = &*state.journal;
    let Some(item) = journal.work_get(run_id).map_err(|e| e.to_string())?.filter(|i| i.kind == WorkKind::Schedule) else {
        return Ok(());
    };
    let config = Config::load(state.ctx.config_path.as_deref(), &state.ctx.home).ok();
    let lane = lane.unwrap_or_else(|| lane_of(config.as_ref(), &item.tenant, &item.user));
    let now = clock::now();
    if (item.status == "pending" && item.at <= now) || item.abandoned(now) {
        // The lane's slice of the tenant's quota, resumed from the lane's last run. Without a
        // readable tenant configuration the run opens a session of its own, which says why.
        let quota = config
            .as_ref()
            .and_then(|c| c.tenant(Some(&item.tenant)).ok())
            .and_then(|(n, t)| crate::service::tenant_write_pacer(n, t).ok());
        let pacer = match quota {
            Some(q) => Some(
                rt.block_on(lanes::take(&state.pool, &item.tenant, lane, &q, &state.worker, state.journal.session_id().as_deref()))
                    .map_err(|e| format!("taking lane {}: {e}", lane.queue(&item.tenant)))?,
            ),
            None => None,
        };
        let done = claim_and_run(&state.ctx, &state.journal, &item, &state.worker, pacer.clone(), true, config.as_ref())
            .map_err(|e| e.to_string());
        if let Some(p) = &pacer {
            // Not given back (the database away): the lane's next job counts a full window.
            rt.block_on(lanes::put(&state.pool, &item.tenant, lane, p))
                .map_err(|e| format!("giving back lane {}: {e}", lane.queue(&item.tenant)))?;
        }
        if let Some((result, ok, again)) = done? {
            match &state.collected {
                Some(c) => c.lock().unwrap_or_else(|p| p.into_inner()).push((result, ok)),
                None => print_pass(&state.worker, &[result], &state.args),
            }
            // The run waits for the target system: its next pass is a job in the future.
            if let Some(at) = again {
                let utils = WorkerUtils::new(state.pool.clone(), queue_schema());
                rt.block_on(add(&utils, &item.tenant, lane, &item.id, real_time(at)))?;
            }
        }
        return Ok(());
    }
    let wake = match item.status.as_str() {
        "pending" => Some(item.at),
        "running" => item.lease_until,
        _ => None,
    };
    let utils = WorkerUtils::new(state.pool.clone(), queue_schema());
    match (item.status.as_str(), wake) {
        ("running", Some(at)) => rt.block_on(add_started(&utils, &item.tenant, lane, &item.id, real_time(at)))?,
        (_, Some(at)) => rt.block_on(add(&utils, &item.tenant, lane, &item.id, real_time(at)))?,
        _ => {}
    }
    Ok(())
}

/// A time of the journal's clock (`OFFBOARD_NOW` in tests) as a time of the database's: what is
/// due by the journal's clock is due now. A due time already past keeps its value: graphile
/// takes a queue's jobs in due order, and a catch-up that made every due job's time "now" would
/// shuffle the line at each `--interval`.
fn real_time(at: DateTime<Utc>) -> DateTime<Utc> {
    if at <= clock::now() {
        at.min(Utc::now())
    } else {
        at
    }
}

/// `user`'s lane under `tenant`'s lane count (the default without a readable configuration).
fn lane_of(config: Option<&Config>, tenant: &str, user: &str) -> Lane {
    let lanes = config.and_then(|c| c.tenant(Some(tenant)).ok()).map_or(DEFAULT_LANES, |(_, t)| t.lane_count());
    Lane::of_user(user, lanes)
}

/// Queue every item a job should exist for: pending ones (at their due time) and abandoned ones
/// (now). With `due_only`, only those already due (the periodic catch-up). A job that has been
/// fetched is left as it is (see [`retrying`]); a fresh one is replaced, which brings a run
/// due by the journal's clock forward to now.
async fn catch_up(state: &QueueState, due_only: bool) -> std::result::Result<usize, String> {
    let now = clock::now();
    let items = state.journal.work_list(WorkKind::Schedule, None).map_err(|e| e.to_string())?;
    let utils = WorkerUtils::new(state.pool.clone(), queue_schema());
    let retrying = retrying(&state.pool).await?;
    let config = Config::load(state.ctx.config_path.as_deref(), &state.ctx.home).ok();
    let mut queued = 0;
    let lost = |i: &&WorkItem| ((i.status == "pending" && (!due_only || i.at <= now)) || i.abandoned(now)) && !retrying.contains(&i.id);
    for i in items.iter().filter(lost) {
        let lane = lane_of(config.as_ref(), &i.tenant, &i.user);
        match i.status.as_str() {
            "running" => add_started(&utils, &i.tenant, lane, &i.id, Utc::now()).await?,
            _ => add(&utils, &i.tenant, lane, &i.id, real_time(i.at)).await?,
        }
        queued += 1;
    }
    Ok(queued)
}

/// The runs whose job failed and waits for its next attempt: re-adding it would reset graphile's
/// attempt count (a job key's replace does), and so its back-off and its last attempt.
async fn retrying(pool: &PgPool) -> std::result::Result<std::collections::HashSet<String>, String> {
    let schema = queue_schema().replace('"', "\"\"");
    let sql = format!("SELECT key FROM \"{schema}\"._private_jobs WHERE key IS NOT NULL AND attempts > 0 AND attempts < max_attempts");
    let keys: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await.map_err(|e| e.to_string())?;
    Ok(keys.into_iter().map(|(k,)| k).collect())
}

/// `offboard-host worker`: on PostgreSQL the queue's jobs, else the poll of the local journal.
pub(super) fn cmd_worker(ctx: &Ctx, a: WorkerArgs) -> Result<u8> {
    let config = super::journal_config(ctx)?;
    let journal = crate::journal::open(&config)?;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let worker = format!("{host}:{}", std::process::id());
    match config.url.as_deref() {
        Some(url) => work(ctx, url, journal, &worker, &a),
        None => poll_worker(ctx, &journal, &worker, &a),
    }
}

/// `worker` on PostgreSQL: catch up, then run the queue's jobs (those due now with `--once`).
fn work(ctx: &Ctx, url: &str, journal: Arc<dyn Journal>, worker: &str, a: &WorkerArgs) -> Result<u8> {
    let rt = super::runtime()?;
    rt.block_on(async {
        let pool = PgPoolOptions::new().max_connections(CONCURRENCY as u32 + 4).connect(url).await.map_err(|e| queue_err(url, e))?;
        let collected = a.once.then(|| Arc::new(Mutex::new(Vec::new())));
        let state = QueueState {
            ctx: Arc::new(Ctx { config_path: ctx.config_path.clone(), color: ctx.color, home: ctx.home.clone() }),
            journal,
            pool: pool.clone(),
            worker: worker.to_string(),
            collected: collected.clone(),
            args: Arc::new(WorkerArgs { once: a.once, interval: a.interval, json: a.json }),
        };
        let runner = WorkerOptions::default()
            .pg_pool(pool)
            .schema(queue_schema())
            .concurrency(CONCURRENCY)
            .poll_interval(poll_interval())
            .define_job::<AdvanceRun>()
            .add_extension(state.clone())
            .worker_recovery(recovery())
            .init()
            .await
            .map_err(|e| queue_err(url, e))?;
        // A worker starting (again) first frees what dead workers hold, then queues what lost its job.
        runner
            .create_utils()
            .sweep_stale_workers_with_config(&recovery(), SweepStaleWorkersOptions::default())
            .await
            .map_err(|e| queue_err(url, e))?;
        catch_up(&state, false).await.map_err(|e| queue_err(url, e))?;
        if let Some(collected) = collected {
            runner.run_once().await.map_err(|e| queue_err(url, e))?;
            let results = std::mem::take(&mut *collected.lock().unwrap_or_else(|p| p.into_inner()));
            let failed = results.iter().any(|(_, ok)| !ok);
            print_pass(worker, &results.into_iter().map(|(r, _)| r).collect::<Vec<_>>(), a);
            return Ok(if failed { 1 } else { 0 });
        }
        // Items whose job was lost (queued while the database was away, a worker that died with
        // its job locked) are found again every interval.
        let every = std::time::Duration::from_secs(a.interval.max(1));
        let catcher = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = catch_up(&catcher, true).await {
                    tracing::warn!("worker: queueing due runs: {e}");
                }
            }
        });
        runner.run().await.map_err(|e| queue_err(url, e))?;
        Ok(0)
    })
}
