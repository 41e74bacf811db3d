//! Rows as stored, and their decoding into the journal's records: times, modes, statuses and
//! JSON columns are checked on the way out, so a damaged file is an error naming the column, not
//! a wrong answer.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::{parse_mode, pid_alive, SqliteJournal};
use crate::journal::*;

/// A `runs` row as stored; turned into records by [`SqliteJournal::summary`].
pub(super) struct RawRun {
    pub(super) run_id: String,
    pub(super) tenant: String,
    pub(super) user: String,
    pub(super) script: String,
    pub(super) script_hash: String,
    pub(super) mode: String,
    pub(super) status: String,
    pub(super) options_json: String,
    pub(super) report_json: Option<String>,
    pub(super) started_at: String,
    pub(super) finished_at: Option<String>,
}

pub(super) const RUN_COLUMNS: &str = "run_id, tenant, user, script, script_hash, mode, status, options_json, \
                           report_json, started_at, finished_at";

pub(super) fn raw_run(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        run_id: row.get(0)?,
        tenant: row.get(1)?,
        user: row.get(2)?,
        script: row.get(3)?,
        script_hash: row.get(4)?,
        mode: row.get(5)?,
        status: row.get(6)?,
        options_json: row.get(7)?,
        report_json: row.get(8)?,
        started_at: row.get(9)?,
        finished_at: row.get(10)?,
    })
}

/// A `steps` row as stored.
pub(super) struct RawStep {
    run_id: String,
    step_id: String,
    phase: String,
    action: String,
    directory: String,
    target_kind: String,
    target_id: String,
    target_display: String,
    subject_id: String,
    params_json: String,
    required: bool,
    idempotent: bool,
    status: String,
    detail: String,
    prior_json: String,
    result_json: Option<String>,
    observed_at: String,
    intent_at: Option<String>,
    outcome_at: Option<String>,
}

pub(super) const STEP_COLUMNS: &str = "run_id, step_id, phase, action, directory, target_kind, target_id, \
                            target_display, subject_id, params_json, required, idempotent, status, \
                            detail, prior_json, result_json, observed_at, intent_at, outcome_at";

pub(super) fn raw_step(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawStep> {
    Ok(RawStep {
        run_id: row.get(0)?,
        step_id: row.get(1)?,
        phase: row.get(2)?,
        action: row.get(3)?,
        directory: row.get(4)?,
        target_kind: row.get(5)?,
        target_id: row.get(6)?,
        target_display: row.get(7)?,
        subject_id: row.get(8)?,
        params_json: row.get(9)?,
        required: row.get(10)?,
        idempotent: row.get(11)?,
        status: row.get(12)?,
        detail: row.get(13)?,
        prior_json: row.get(14)?,
        result_json: row.get(15)?,
        observed_at: row.get(16)?,
        intent_at: row.get(17)?,
        outcome_at: row.get(18)?,
    })
}

impl SqliteJournal {
    pub(super) fn time(&self, what: &str, s: &str) -> Result<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| self.err(&format!("stored {what} {s:?} is not RFC 3339"), e))
    }

    pub(super) fn opt_time(&self, what: &str, s: Option<&str>) -> Result<Option<DateTime<Utc>>> {
        s.map(|s| self.time(what, s)).transpose()
    }

    pub(super) fn json(&self, what: &str, s: Option<&str>) -> Result<Value> {
        match s {
            None => Ok(Value::Null),
            Some(s) => serde_json::from_str(s).map_err(|e| self.err(&format!("stored {what} is not JSON"), e)),
        }
    }

    pub(super) fn to_json(&self, what: &str, v: &Value) -> Result<String> {
        serde_json::to_string(v).map_err(|e| self.err(&format!("serialising {what}"), e))
    }

    pub(super) fn step_status(&self, s: &str) -> Result<StepStatus> {
        StepStatus::parse(s).ok_or_else(|| self.err("stored step status", format!("unknown value {s:?}")))
    }

    pub(super) fn step_detail(&self, raw: RawStep) -> Result<StepDetail> {
        Ok(StepDetail {
            result: self.json("step result", raw.result_json.as_deref())?,
            intent_at: self.opt_time("intent_at", raw.intent_at.as_deref())?,
            outcome_at: self.opt_time("outcome_at", raw.outcome_at.as_deref())?,
            step: StepRecord {
                params: self.json("step params", Some(&raw.params_json))?,
                prior: self.json("step prior state", Some(&raw.prior_json))?,
                status: self.step_status(&raw.status)?,
                observed_at: self.time("observed_at", &raw.observed_at)?,
                run_id: raw.run_id,
                step_id: raw.step_id,
                phase: raw.phase,
                action: raw.action,
                directory: raw.directory,
                target_kind: raw.target_kind,
                target_id: raw.target_id,
                target_display: raw.target_display,
                subject_id: raw.subject_id,
                required: raw.required,
                idempotent: raw.idempotent,
                detail: raw.detail,
            },
        })
    }

    /// The summary of one run as it should be *reported*: step counts, and `running` shown as
    /// `interrupted` when no live process holds the run's lock. The table is not rewritten
    /// here: a read must not change state; the next `acquire_lock` on that user records it.
    pub(super) fn summary(&self, conn: &Connection, raw: &RawRun) -> Result<RunSummary> {
        let mut status =
            RunStatus::parse(&raw.status).ok_or_else(|| self.err("stored run status", format!("unknown value {:?}", raw.status)))?;
        if status == RunStatus::Running {
            let holder: Option<u32> = conn
                .prepare_cached("SELECT pid FROM locks WHERE run_id = ?1")
                .and_then(|mut st| st.query_row([&raw.run_id], |r| r.get(0)).optional())
                .map_err(|e| self.err("reading run lock", e))?;
            if !holder.is_some_and(pid_alive) {
                status = RunStatus::Interrupted;
            }
        }
        let mut step_counts = BTreeMap::new();
        {
            let mut st = conn
                .prepare_cached("SELECT status, COUNT(*) FROM steps WHERE run_id = ?1 GROUP BY status")
                .map_err(|e| self.err("counting steps", e))?;
            let rows = st
                .query_map([&raw.run_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
                .map_err(|e| self.err("counting steps", e))?;
            for row in rows {
                let (s, n) = row.map_err(|e| self.err("counting steps", e))?;
                step_counts.insert(s, n);
            }
        }
        Ok(RunSummary {
            run_id: raw.run_id.clone(),
            tenant: raw.tenant.clone(),
            user: raw.user.clone(),
            script: raw.script.clone(),
            script_hash: raw.script_hash.clone(),
            mode: parse_mode(&raw.mode).ok_or_else(|| self.err("stored run mode", format!("unknown value {:?}", raw.mode)))?,
            status,
            started_at: self.time("started_at", &raw.started_at)?,
            finished_at: self.opt_time("finished_at", raw.finished_at.as_deref())?,
            step_counts,
        })
    }
}
