//! Runs and steps in PostgreSQL: the write path (run, step, intent, outcome) and the reads.

use std::collections::BTreeMap;

use sqlx::postgres::PgRow;
// Every dynamic statement here is built from constants of this file; values are bound.
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Row};

use super::{is_foreign_key_violation, PgJournal, SESSION_TTL_SECS};
use crate::journal::*;

/// The run columns, and whether a live session holds the run's lock: a `running` run without one
/// is reported as interrupted (a read never rewrites it; the next `acquire_lock` does). The
/// session TTL is bound between the head and the tail.
const RUN_SELECT_HEAD: &str = "SELECT r.run_id, r.tenant, r.user_name, r.script, r.script_hash, r.mode, r.status, \
     r.started_at, r.finished_at, EXISTS (SELECT 1 FROM locks l JOIN journal_sessions s ON s.session_id = l.session_id \
     WHERE l.run_id = r.run_id AND s.heartbeat_at > now() - make_interval(secs => ";
const RUN_SELECT_TAIL: &str = ")) AS held FROM runs r";

const STEP_COLUMNS: &str = "run_id, step_id, phase, action, directory, target_kind, target_id, target_display, subject_id, \
     params, required, idempotent, status, detail, prior, result, observed_at, intent_at, outcome_at";

/// The stored statuses a run reported as `status` can have.
fn stored(status: RunStatus) -> Vec<&'static str> {
    match status {
        RunStatus::Interrupted => vec!["running", "interrupted"],
        s => vec![s.as_str()],
    }
}

impl PgJournal {
    pub(super) fn insert_run(&self, run: &NewRun) -> Result<()> {
        let (pool, run) = (self.pool(), run.clone());
        let context = format!("creating run {}", run.run_id);
        self.call(&context, async move {
            sqlx::query(
                "INSERT INTO runs (run_id, tenant, user_name, script, script_hash, mode, status, options, started_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(run.run_id)
            .bind(run.tenant)
            .bind(run.user)
            .bind(run.script)
            .bind(run.script_hash)
            .bind(run.mode.as_str())
            .bind(RunStatus::Running.as_str())
            .bind(run.options)
            .bind(run.started_at)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    pub(super) fn end_run(&self, run_id: &str, status: RunStatus, report: &Value) -> Result<()> {
        let (pool, id, report) = (self.pool(), run_id.to_string(), report.clone());
        let changed = self.call(&format!("finishing run {run_id}"), async move {
            let r = sqlx::query("UPDATE runs SET status = $2, report = $3, finished_at = $4 WHERE run_id = $1")
                .bind(id)
                .bind(status.as_str())
                .bind(report)
                .bind(Utc::now())
                .execute(&pool)
                .await?;
            Ok(r.rows_affected())
        })?;
        if changed == 0 {
            return Err(JournalError::NoSuchRun(run_id.to_string()));
        }
        Ok(())
    }

    /// Upsert, keeping the write-related columns once an intent is recorded (as in SQLite: an
    /// observation made after a write may have been sent must not replace the prior state).
    pub(super) fn upsert_step(&self, step: &StepRecord) -> Result<()> {
        let (pool, s) = (self.pool(), step.clone());
        let context = format!("recording step {} of run {}", step.step_id, step.run_id);
        let result = self.call_raw(&context, async move {
            sqlx::query(
                "INSERT INTO steps (run_id, step_id, phase, action, directory, target_kind, target_id, target_display, \
                     subject_id, params, required, idempotent, status, detail, prior, observed_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                 ON CONFLICT (run_id, step_id) DO UPDATE SET
                     phase = EXCLUDED.phase, action = EXCLUDED.action, directory = EXCLUDED.directory,
                     target_kind = EXCLUDED.target_kind, target_id = EXCLUDED.target_id,
                     target_display = EXCLUDED.target_display, subject_id = EXCLUDED.subject_id,
                     params = EXCLUDED.params, required = EXCLUDED.required, idempotent = EXCLUDED.idempotent,
                     status = CASE WHEN steps.intent_at IS NULL THEN EXCLUDED.status ELSE steps.status END,
                     detail = CASE WHEN steps.intent_at IS NULL THEN EXCLUDED.detail ELSE steps.detail END,
                     prior = CASE WHEN steps.intent_at IS NULL THEN EXCLUDED.prior ELSE steps.prior END,
                     observed_at = CASE WHEN steps.intent_at IS NULL THEN EXCLUDED.observed_at ELSE steps.observed_at END",
            )
            .bind(s.run_id)
            .bind(s.step_id)
            .bind(s.phase)
            .bind(s.action)
            .bind(s.directory)
            .bind(s.target_kind)
            .bind(s.target_id)
            .bind(s.target_display)
            .bind(s.subject_id)
            .bind(s.params)
            .bind(s.required)
            .bind(s.idempotent)
            .bind(s.status.as_str())
            .bind(s.detail)
            .bind(s.prior)
            .bind(s.observed_at)
            .execute(&pool)
            .await
            .map(drop)
        })?;
        match result {
            Ok(()) => Ok(()),
            Err(e) if is_foreign_key_violation(&e) => Err(JournalError::NoSuchRun(step.run_id.clone())),
            Err(e) => Err(self.err(&context, e)),
        }
    }

    /// As in SQLite, the stored status only narrows the rows; the reported one decides.
    pub(super) fn query_runs(&self, q: &RunQuery) -> Result<Vec<RunSummary>> {
        let (pool, q) = (self.pool(), q.clone());
        let status = q.status;
        let limit = q.limit;
        let rows = self.call("listing runs", async move {
            let mut b: QueryBuilder<Postgres> = QueryBuilder::new(RUN_SELECT_HEAD);
            b.push_bind(SESSION_TTL_SECS).push(RUN_SELECT_TAIL).push(" WHERE TRUE");
            if let Some(p) = q.id_prefix {
                // starts_with, not LIKE: a prefix with `_` or `%` must match only itself.
                b.push(" AND starts_with(r.run_id, ").push_bind(p).push(")");
            }
            if let Some(t) = q.tenant {
                b.push(" AND r.tenant = ").push_bind(t);
            }
            if let Some(u) = q.user {
                b.push(" AND lower(r.user_name) = lower(").push_bind(u).push(")");
            }
            if let Some(m) = q.mode {
                b.push(" AND r.mode = ").push_bind(m.as_str());
            }
            if let Some(since) = q.since {
                b.push(" AND r.started_at >= ").push_bind(since);
            }
            if let Some(until) = q.until {
                b.push(" AND r.started_at < ").push_bind(until);
            }
            if let Some(part) = q.user_contains {
                b.push(" AND strpos(lower(r.user_name), lower(").push_bind(part).push(")) > 0");
            }
            if let Some(k) = q.workflow {
                b.push(" AND r.run_id IN (SELECT id FROM workflow WHERE kind = ").push_bind(k.as_str()).push(")");
            }
            if let Some(s) = q.status {
                b.push(" AND r.status = ANY(").push_bind(stored(s)).push(")");
            }
            b.push(" ORDER BY r.started_at DESC, r.ord DESC");
            b.build().fetch_all(&pool).await
        })?;
        let mut runs = Vec::new();
        for row in &rows {
            if runs.len() >= limit {
                break;
            }
            let summary = self.summary(row)?;
            if status.is_none_or(|s| s == summary.status) {
                runs.push(summary);
            }
        }
        self.add_step_counts(&mut runs)?;
        Ok(runs)
    }

    /// A run row as reported, without its step counts (see [`Self::add_step_counts`]).
    fn summary(&self, row: &PgRow) -> Result<RunSummary> {
        let get = |e: sqlx::Error| self.err("reading a run", e);
        let mut status: String = row.try_get("status").map_err(get)?;
        if status == "running" && !row.try_get::<bool, _>("held").map_err(get)? {
            status = RunStatus::Interrupted.as_str().into();
        }
        let mode: String = row.try_get("mode").map_err(get)?;
        Ok(RunSummary {
            run_id: row.try_get("run_id").map_err(get)?,
            tenant: row.try_get("tenant").map_err(get)?,
            user: row.try_get("user_name").map_err(get)?,
            script: row.try_get("script").map_err(get)?,
            script_hash: row.try_get("script_hash").map_err(get)?,
            mode: match mode.as_str() {
                "plan" => Mode::Plan,
                "apply" => Mode::Apply,
                m => return Err(self.err("stored run mode", format!("unknown value {m:?}"))),
            },
            status: RunStatus::parse(&status).ok_or_else(|| self.err("stored run status", format!("unknown value {status:?}")))?,
            started_at: row.try_get("started_at").map_err(get)?,
            finished_at: row.try_get("finished_at").map_err(get)?,
            step_counts: BTreeMap::new(),
        })
    }

    fn add_step_counts(&self, runs: &mut [RunSummary]) -> Result<()> {
        if runs.is_empty() {
            return Ok(());
        }
        let (pool, ids) = (self.pool(), runs.iter().map(|r| r.run_id.clone()).collect::<Vec<_>>());
        let counts: Vec<(String, String, i64)> = self.call("counting steps", async move {
            sqlx::query_as("SELECT run_id, status, COUNT(*) FROM steps WHERE run_id = ANY($1) GROUP BY run_id, status")
                .bind(ids)
                .fetch_all(&pool)
                .await
        })?;
        for (run_id, status, n) in counts {
            if let Some(r) = runs.iter_mut().find(|r| r.run_id == run_id) {
                r.step_counts.insert(status, n.unsigned_abs());
            }
        }
        Ok(())
    }

    pub(super) fn run_detail(&self, run_id: &str) -> Result<Option<RunDetail>> {
        let (pool, id) = (self.pool(), run_id.to_string());
        let context = format!("reading run {run_id}");
        // One REPEATABLE READ transaction: the run and its steps come from the same snapshot.
        let (run, steps) = self.call(&context, async move {
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
            let sql = format!("{RUN_SELECT_HEAD}$1{RUN_SELECT_TAIL} WHERE r.run_id = $2");
            let run = sqlx::query(AssertSqlSafe(sql)).bind(SESSION_TTL_SECS).bind(&id).fetch_optional(&mut *tx).await?;
            let run = match run {
                Some(r) => {
                    let (options, report): (Value, Option<Value>) =
                        sqlx::query_as("SELECT options, report FROM runs WHERE run_id = $1").bind(&id).fetch_one(&mut *tx).await?;
                    Some((r, options, report))
                }
                None => None,
            };
            let steps = sqlx::query(AssertSqlSafe(format!("SELECT {STEP_COLUMNS} FROM steps WHERE run_id = $1 ORDER BY seq")))
                .bind(&id)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((run, steps))
        })?;
        let Some((run, options, report)) = run else {
            return Ok(None);
        };
        let mut summary = self.summary(&run)?;
        let steps = steps.iter().map(|s| self.step_detail(s)).collect::<Result<Vec<_>>>()?;
        for s in &steps {
            *summary.step_counts.entry(s.step.status.as_str().to_string()).or_default() += 1;
        }
        Ok(Some(RunDetail { summary, options, report: report.unwrap_or(Value::Null), steps }))
    }

    fn step_detail(&self, r: &PgRow) -> Result<StepDetail> {
        let get = |e: sqlx::Error| self.err("reading a step", e);
        let status: String = r.try_get("status").map_err(get)?;
        Ok(StepDetail {
            result: r.try_get::<Option<Value>, _>("result").map_err(get)?.unwrap_or(Value::Null),
            intent_at: r.try_get("intent_at").map_err(get)?,
            outcome_at: r.try_get("outcome_at").map_err(get)?,
            step: StepRecord {
                run_id: r.try_get("run_id").map_err(get)?,
                step_id: r.try_get("step_id").map_err(get)?,
                phase: r.try_get("phase").map_err(get)?,
                action: r.try_get("action").map_err(get)?,
                directory: r.try_get("directory").map_err(get)?,
                target_kind: r.try_get("target_kind").map_err(get)?,
                target_id: r.try_get("target_id").map_err(get)?,
                target_display: r.try_get("target_display").map_err(get)?,
                subject_id: r.try_get("subject_id").map_err(get)?,
                params: r.try_get("params").map_err(get)?,
                required: r.try_get("required").map_err(get)?,
                idempotent: r.try_get("idempotent").map_err(get)?,
                status: self.step_status(&status)?,
                detail: r.try_get("detail").map_err(get)?,
                prior: r.try_get("prior").map_err(get)?,
                observed_at: r.try_get("observed_at").map_err(get)?,
            },
        })
    }

    pub(super) fn step_status(&self, s: &str) -> Result<StepStatus> {
        StepStatus::parse(s).ok_or_else(|| self.err("stored step status", format!("unknown value {s:?}")))
    }

    pub(super) fn latest_write(&self, tenant: &str, target_id: &str, action: &str) -> Result<Option<WriteRecord>> {
        let (pool, tenant, target, act) = (self.pool(), tenant.to_string(), target_id.to_string(), action.to_string());
        type Row = (String, String, DateTime<Utc>, String, Option<DateTime<Utc>>);
        let row: Option<Row> = self.call(&format!("finding last {action} on {target_id}"), async move {
            sqlx::query_as(
                "SELECT s.run_id, s.step_id, s.intent_at, s.status, s.outcome_at
                 FROM steps s JOIN runs r ON r.run_id = s.run_id
                 WHERE s.target_id = $2 AND s.action = $3 AND s.intent_at IS NOT NULL
                   AND r.tenant = $1 AND r.mode = 'apply' AND s.status NOT IN ('already_done', 'skipped')
                 ORDER BY s.intent_at DESC, r.started_at DESC, s.seq DESC LIMIT 1",
            )
            .bind(tenant)
            .bind(target)
            .bind(act)
            .fetch_optional(&pool)
            .await
        })?;
        let Some((run_id, step_id, intent_at, status, outcome_at)) = row else {
            return Ok(None);
        };
        Ok(Some(WriteRecord {
            run_id,
            step_id,
            intent_at,
            // No outcome: the write's result is unknown whatever the status column says.
            status: if outcome_at.is_none() { StepStatus::Running } else { self.step_status(&status)? },
            outcome_at,
        }))
    }
}
