//! The `workflow` table (schema version 3, binding columns in 4, the worker's lease in 5):
//! approvals and scheduled runs.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{ts, SqliteJournal};
use crate::journal::{Result, Transition, WorkItem, WorkKind, WorkflowJournal};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "id, kind, tenant, user, script, script_hash, options_json, plan_json, status, created_at, at, \
                       decided_by, decided_at, reason, claimed_by, applied_run_id, note, policy, requested_by, decided_os, lease_until";

type Raw = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
        r.get(15)?,
        r.get(16)?,
        r.get(17)?,
        r.get(18)?,
        r.get(19)?,
        r.get(20)?,
    ))
}

impl WorkflowJournal for SqliteJournal {
    fn work_add(&self, item: &WorkItem) -> Result<()> {
        let options = self.to_json("workflow options", &item.options)?;
        let plan = serde_json::to_string(&item.plan).map_err(|e| self.err("encoding the plan", e))?;
        let conn = self.conn();
        conn.execute(
            &format!(
                "INSERT INTO workflow ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21)"
            ),
            params![
                item.id,
                item.kind.as_str(),
                item.tenant,
                item.user,
                item.script,
                item.script_hash,
                options,
                plan,
                item.status,
                ts(&item.created_at),
                ts(&item.at),
                item.decided_by,
                item.decided_at.as_ref().map(ts),
                item.reason,
                item.claimed_by,
                item.applied_run_id,
                item.note,
                item.policy,
                item.requested_by,
                item.decided_os,
                item.lease_until.as_ref().map(ts)
            ],
        )
        .map_err(|e| self.err(&format!("recording {} {}", item.kind.as_str(), item.id), e))?;
        Ok(())
    }

    fn work_get(&self, id: &str) -> Result<Option<WorkItem>> {
        let r = {
            let conn = self.conn();
            conn.query_row(&format!("SELECT {COLUMNS} FROM workflow WHERE id = ?1"), params![id], raw)
                .optional()
                .map_err(|e| self.err(&format!("reading workflow item {id}"), e))?
        };
        r.map(|r| self.work_item(r)).transpose()
    }

    /// Items of one kind, oldest first; with `status`, only those.
    fn work_list(&self, kind: WorkKind, status: Option<&str>) -> Result<Vec<WorkItem>> {
        let raws: Vec<Raw> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare(&format!("SELECT {COLUMNS} FROM workflow WHERE kind = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY at, id"))
                .map_err(|e| self.err("reading the workflow table", e))?;
            let rows = stmt.query_map(params![kind.as_str(), status], raw).map_err(|e| self.err("reading the workflow table", e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err("reading the workflow table", e))?
        };
        raws.into_iter().map(|r| self.work_item(r)).collect()
    }

    /// Claim a schedule for `worker` until `lease_until`: a pending one, or a running one whose
    /// lease ran out by `now`. One IMMEDIATE transaction with a conditional UPDATE, so of two
    /// workers only one gets it; returns whether this one did.
    fn work_claim(&self, id: &str, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET status = 'running', claimed_by = ?2, lease_until = ?3 \
             WHERE id = ?1 AND kind = 'schedule' AND \
             (status = 'pending' OR (status = 'running' AND (lease_until IS NULL OR lease_until <= ?4)))",
            params![id, worker, ts(&lease_until), ts(&now)],
        )
    }

    /// Renew `worker`'s lease on a running item; `false` when it no longer holds it.
    fn work_renew(&self, id: &str, worker: &str, lease_until: DateTime<Utc>) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET lease_until = ?3 WHERE id = ?1 AND status = 'running' AND claimed_by = ?2",
            params![id, worker, ts(&lease_until)],
        )
    }

    fn work_requeue(&self, id: &str, worker: &str, at: DateTime<Utc>, note: &str) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET status = 'pending', at = ?3, note = ?4, claimed_by = NULL, lease_until = NULL \
             WHERE id = ?1 AND kind = 'schedule' AND status = 'running' AND claimed_by = ?2",
            params![id, worker, ts(&at), note],
        )
    }

    /// Cancel a schedule that is pending, or running without a live worker (lease ran out by
    /// `now`): the abandoned item is never taken over afterwards.
    fn work_cancel(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET status = 'cancelled', note = ?2 WHERE id = ?1 AND kind = 'schedule' AND \
             (status = 'pending' OR (status = 'running' AND (lease_until IS NULL OR lease_until <= ?3)))",
            params![id, "cancelled", ts(&now)],
        )
    }

    /// Move `id` from status `from` to `to`, in one IMMEDIATE transaction with a conditional
    /// UPDATE: `true` only for the one caller that made the change (claims, decisions).
    fn work_transition(&self, id: &str, from: &str, to: &str, t: &Transition<'_>) -> Result<bool> {
        let now = ts(&Utc::now());
        self.work_update(
            id,
            "UPDATE workflow SET status = ?3, \
             decided_by = COALESCE(?4, decided_by), decided_at = CASE WHEN ?4 IS NULL THEN decided_at ELSE ?5 END, \
             reason = COALESCE(?6, reason), claimed_by = COALESCE(?7, claimed_by), \
             applied_run_id = COALESCE(?8, applied_run_id), note = COALESCE(?9, note), \
             decided_os = COALESCE(?10, decided_os) \
             WHERE id = ?1 AND status = ?2",
            params![id, from, to, t.decided_by, now, t.reason, t.claimed_by, t.applied_run_id, t.note, t.decided_os],
        )
    }
}

impl SqliteJournal {
    fn work_item(&self, r: Raw) -> Result<WorkItem> {
        let (
            id,
            kind,
            tenant,
            user,
            script,
            script_hash,
            options,
            plan,
            status,
            created,
            at,
            decided_by,
            decided_at,
            reason,
            claimed_by,
            applied,
            note,
            policy,
            requested_by,
            decided_os,
            lease_until,
        ) = r;
        Ok(WorkItem {
            kind: WorkKind::parse(&kind).ok_or_else(|| self.err("stored workflow kind", format!("unknown value {kind:?}")))?,
            options: self.json("workflow options", Some(&options))?,
            plan: serde_json::from_str(&plan).map_err(|e| self.err("stored plan", e))?,
            created_at: self.time("workflow created_at", &created)?,
            at: self.time("workflow at", &at)?,
            decided_at: self.opt_time("workflow decided_at", decided_at.as_deref())?,
            lease_until: self.opt_time("workflow lease_until", lease_until.as_deref())?,
            id,
            tenant,
            user,
            script,
            script_hash,
            status,
            decided_by,
            reason,
            claimed_by,
            applied_run_id: applied,
            note,
            policy,
            requested_by,
            decided_os,
        })
    }

    fn work_update(&self, id: &str, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<bool> {
        let mut conn = self.conn();
        let tx =
            conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err("starting a workflow transaction", e))?;
        let changed = tx.execute(sql, p).map_err(|e| self.err(&format!("updating workflow item {id}"), e))?;
        tx.commit().map_err(|e| self.err("committing a workflow change", e))?;
        Ok(changed == 1)
    }
}
