//! The jobs of the PostgreSQL worker queue (see `cli/queue.rs`): what scheduling a run adds, and
//! where. In the service layer so that scheduling (the CLI's and the console's: `request.rs`) and
//! the worker both use it.

use chrono::{DateTime, Utc};
use graphile_worker::{JobSpec, WorkerUtils};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;

use super::lanes::Lane;
use crate::error::{Error, Result};
use crate::journal::JournalError;

/// The task a scheduled run's job names.
pub const ADVANCE_RUN: &str = "advance_run";

/// Attempts of a job whose failure is not the run's own, with graphile's exponential backoff.
pub const MAX_ATTEMPTS: i16 = 10;

/// [`MAX_ATTEMPTS`], or `OFFBOARD_QUEUE_MAX_ATTEMPTS` (1 to 25: graphile's back-off is exp(n)
/// seconds, so 25 attempts already wait days) for an installation, or a test, that wants fewer.
pub(super) fn max_attempts() -> i16 {
    std::env::var("OFFBOARD_QUEUE_MAX_ATTEMPTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| (1..=25).contains(n))
        .unwrap_or(MAX_ATTEMPTS)
}

/// The schema of graphile_worker's tables; `OFFBOARD_QUEUE_SCHEMA` keeps installations (or tests)
/// that share one database apart.
pub fn queue_schema() -> String {
    std::env::var("OFFBOARD_QUEUE_SCHEMA").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "graphile_worker".into())
}

/// A worker timing from the environment (see `cli/queue.rs` for the knobs): a positive number,
/// else `None` (the default holds).
pub fn env_number(name: &str) -> Option<f64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse::<f64>().ok()).filter(|n| n.is_finite() && *n > 0.0)
}

pub fn queue_err(url: &str, e: impl std::fmt::Display) -> Error {
    Error::Journal(JournalError::Storage { path: crate::journal::redacted_url(url), message: format!("job queue: {e}") })
}

/// The wake-up of one scheduled run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdvanceRun {
    pub run_id: String,
    /// The lane whose queue the job is in, whose slice of the quota the run writes under. Absent
    /// in jobs queued before lanes: the run's lane is then the user's under today's lane count.
    #[serde(default)]
    pub lane: Option<Lane>,
}

/// Queue (or re-queue) the wake-up of `run_id` in its `lane` of `tenant` at `at`.
pub async fn enqueue(url: &str, tenant: &str, lane: Lane, run_id: &str, at: DateTime<Utc>) -> Result<()> {
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await.map_err(|e| queue_err(url, e))?;
    let utils = WorkerUtils::new(pool.clone(), queue_schema());
    // Creates graphile's schema when no worker has run yet (a no-op once it is there).
    utils.migrate().await.map_err(|e| queue_err(url, e))?;
    add(&utils, tenant, lane, run_id, at).await.map_err(|e| queue_err(url, e))?;
    pool.close().await;
    Ok(())
}

/// The job of `run_id` in `lane`'s queue; its `job_key` replaces any job the run had, in
/// whatever queue (graphile moves a replaced job to the new queue).
pub async fn add(utils: &WorkerUtils, tenant: &str, lane: Lane, run_id: &str, at: DateTime<Utc>) -> std::result::Result<(), String> {
    add_with_priority(utils, tenant, lane, run_id, at, 0).await
}

/// Queue the wake-up of a run that has started (a worker holds it, or held it and died) ahead of
/// the runs not started yet: graphile takes a queue's jobs by priority, then due time, so at the
/// ordinary priority the takeover of a dead worker's half-done user would wait behind every run
/// due before its lease ran out (with a backlog of a thousand, many minutes). A user half
/// offboarded is finished before a new one is begun.
pub async fn add_started(
    utils: &WorkerUtils,
    tenant: &str,
    lane: Lane,
    run_id: &str,
    at: DateTime<Utc>,
) -> std::result::Result<(), String> {
    add_with_priority(utils, tenant, lane, run_id, at, -1).await
}

async fn add_with_priority(
    utils: &WorkerUtils,
    tenant: &str,
    lane: Lane,
    run_id: &str,
    at: DateTime<Utc>,
    priority: i16,
) -> std::result::Result<(), String> {
    let spec = JobSpec {
        queue_name: Some(lane.queue(tenant)),
        run_at: Some(at),
        max_attempts: Some(max_attempts()),
        job_key: Some(run_id.to_string()),
        priority: Some(priority),
        ..JobSpec::default()
    };
    utils
        .add_raw_job(ADVANCE_RUN, AdvanceRun { run_id: run_id.to_string(), lane: Some(lane) }, spec)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
