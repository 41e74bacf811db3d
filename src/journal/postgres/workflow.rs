//! Approvals and scheduled runs in PostgreSQL. Every status change is one conditional UPDATE: in
//! READ COMMITTED, a second UPDATE of the same row waits for the first to commit and then
//! re-checks its WHERE clause on the new row, so of two claims (or decisions) exactly one matches.

use sqlx::postgres::PgRow;
// Every dynamic statement here is built from the column list; values are bound.
use sqlx::{AssertSqlSafe, Row};

use super::PgJournal;
use crate::journal::{Result, Transition, WorkItem, WorkKind, WorkflowJournal};
use chrono::{DateTime, Utc};

const COLUMNS: &str = "id, kind, tenant, user_name, script, script_hash, options, plan, status, created_at, at, \
                       decided_by, decided_at, reason, claimed_by, applied_run_id, note, policy, requested_by, decided_os, lease_until";

impl WorkflowJournal for PgJournal {
    fn work_add(&self, item: &WorkItem) -> Result<()> {
        let plan = serde_json::to_value(&item.plan).map_err(|e| self.err("encoding the plan", e))?;
        let (pool, i) = (self.pool(), item.clone());
        self.call(&format!("recording {} {}", item.kind.as_str(), item.id), async move {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO workflow ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)"
            )))
            .bind(i.id)
            .bind(i.kind.as_str())
            .bind(i.tenant)
            .bind(i.user)
            .bind(i.script)
            .bind(i.script_hash)
            .bind(i.options)
            .bind(plan)
            .bind(i.status)
            .bind(i.created_at)
            .bind(i.at)
            .bind(i.decided_by)
            .bind(i.decided_at)
            .bind(i.reason)
            .bind(i.claimed_by)
            .bind(i.applied_run_id)
            .bind(i.note)
            .bind(i.policy)
            .bind(i.requested_by)
            .bind(i.decided_os)
            .bind(i.lease_until)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    fn work_get(&self, id: &str) -> Result<Option<WorkItem>> {
        let (pool, i) = (self.pool(), id.to_string());
        let row = self.call(&format!("reading workflow item {id}"), async move {
            sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM workflow WHERE id = $1"))).bind(i).fetch_optional(&pool).await
        })?;
        row.map(|r| self.work_item(&r)).transpose()
    }

    fn work_list(&self, kind: WorkKind, status: Option<&str>) -> Result<Vec<WorkItem>> {
        let (pool, s) = (self.pool(), status.map(String::from));
        let rows = self.call("reading the workflow table", async move {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM workflow WHERE kind = $1 AND ($2::text IS NULL OR status = $2) ORDER BY at, id"
            )))
            .bind(kind.as_str())
            .bind(s)
            .fetch_all(&pool)
            .await
        })?;
        rows.iter().map(|r| self.work_item(r)).collect()
    }

    fn work_claim(&self, id: &str, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET status = 'running', claimed_by = $2, lease_until = $3 \
             WHERE id = $1 AND kind = 'schedule' AND \
             (status = 'pending' OR (status = 'running' AND (lease_until IS NULL OR lease_until <= $4)))",
            vec![Some(worker.to_string())],
            vec![Some(lease_until), Some(now)],
        )
    }

    fn work_renew(&self, id: &str, worker: &str, lease_until: DateTime<Utc>) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET lease_until = $3 WHERE id = $1 AND status = 'running' AND claimed_by = $2",
            vec![Some(worker.to_string())],
            vec![Some(lease_until)],
        )
    }

    fn work_requeue(&self, id: &str, worker: &str, at: DateTime<Utc>, note: &str) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET status = 'pending', note = $3, at = $4, claimed_by = NULL, lease_until = NULL \
             WHERE id = $1 AND kind = 'schedule' AND status = 'running' AND claimed_by = $2",
            vec![Some(worker.to_string()), Some(note.to_string())],
            vec![Some(at)],
        )
    }

    fn work_cancel(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        self.work_update(
            id,
            "UPDATE workflow SET status = 'cancelled', note = $2 WHERE id = $1 AND kind = 'schedule' AND \
             (status = 'pending' OR (status = 'running' AND (lease_until IS NULL OR lease_until <= $3)))",
            vec![Some("cancelled".to_string())],
            vec![Some(now)],
        )
    }

    fn work_transition(&self, id: &str, from: &str, to: &str, t: &Transition<'_>) -> Result<bool> {
        let own = |s: Option<&str>| s.map(String::from);
        self.work_update(
            id,
            "UPDATE workflow SET status = $3, \
             decided_by = COALESCE($4, decided_by), decided_at = CASE WHEN $4::text IS NULL THEN decided_at ELSE $10 END, \
             reason = COALESCE($5, reason), claimed_by = COALESCE($6, claimed_by), \
             applied_run_id = COALESCE($7, applied_run_id), note = COALESCE($8, note), \
             decided_os = COALESCE($9, decided_os) \
             WHERE id = $1 AND status = $2",
            vec![
                Some(from.to_string()),
                Some(to.to_string()),
                own(t.decided_by),
                own(t.reason),
                own(t.claimed_by),
                own(t.applied_run_id),
                own(t.note),
                own(t.decided_os),
            ],
            vec![Some(Utc::now())],
        )
    }
}

impl PgJournal {
    fn work_item(&self, r: &PgRow) -> Result<WorkItem> {
        let get = |e: sqlx::Error| self.err("reading the workflow table", e);
        let kind: String = r.try_get("kind").map_err(get)?;
        let plan: serde_json::Value = r.try_get("plan").map_err(get)?;
        Ok(WorkItem {
            id: r.try_get("id").map_err(get)?,
            kind: WorkKind::parse(&kind).ok_or_else(|| self.err("stored workflow kind", format!("unknown value {kind:?}")))?,
            tenant: r.try_get("tenant").map_err(get)?,
            user: r.try_get("user_name").map_err(get)?,
            script: r.try_get("script").map_err(get)?,
            script_hash: r.try_get("script_hash").map_err(get)?,
            options: r.try_get("options").map_err(get)?,
            plan: serde_json::from_value(plan).map_err(|e| self.err("stored plan", e))?,
            status: r.try_get("status").map_err(get)?,
            created_at: r.try_get("created_at").map_err(get)?,
            at: r.try_get("at").map_err(get)?,
            decided_by: r.try_get("decided_by").map_err(get)?,
            decided_at: r.try_get("decided_at").map_err(get)?,
            reason: r.try_get("reason").map_err(get)?,
            claimed_by: r.try_get("claimed_by").map_err(get)?,
            applied_run_id: r.try_get("applied_run_id").map_err(get)?,
            note: r.try_get("note").map_err(get)?,
            policy: r.try_get("policy").map_err(get)?,
            requested_by: r.try_get("requested_by").map_err(get)?,
            decided_os: r.try_get("decided_os").map_err(get)?,
            lease_until: r.try_get("lease_until").map_err(get)?,
        })
    }

    /// One conditional UPDATE of item `id` (`$1`), with `texts` bound as `$2…` and then `times`:
    /// whether it changed the row.
    fn work_update(&self, id: &str, sql: &'static str, texts: Vec<Option<String>>, times: Vec<Option<DateTime<Utc>>>) -> Result<bool> {
        let (pool, i) = (self.pool(), id.to_string());
        let changed = self.call(&format!("updating workflow item {id}"), async move {
            let mut q = sqlx::query(sql).bind(i);
            for t in texts {
                q = q.bind(t);
            }
            for t in times {
                q = q.bind(t);
            }
            Ok(q.execute(&pool).await?.rows_affected())
        })?;
        Ok(changed == 1)
    }
}
