//! The PSA outbox and run tickets in PostgreSQL.

use sqlx::postgres::PgRow;
// Every dynamic statement here is built from constants of this file (column lists, SET clauses).
use sqlx::{AssertSqlSafe, Row};

use super::PgJournal;
use crate::journal::{JournalError, NewOutboxItem, OutboxItem, OutboxKind, Result, RunStatus, TicketedRun};

const COLUMNS: &str = "id, tenant, run_id, kind, marker, payload, delivered, attempts, last_error, created_at, delivered_at";

impl PgJournal {
    pub(super) fn outbox_insert(&self, item: &NewOutboxItem) -> Result<bool> {
        let (pool, i) = (self.pool(), item.clone());
        let added = self.call(&format!("queueing {} for run {}", item.marker, item.run_id), async move {
            let r = sqlx::query(
                "INSERT INTO psa_outbox (tenant, run_id, kind, marker, payload, created_at) VALUES ($1, $2, $3, $4, $5, now()) \
                 ON CONFLICT (run_id, marker) DO NOTHING",
            )
            .bind(i.tenant)
            .bind(i.run_id)
            .bind(i.kind.as_str())
            .bind(i.marker)
            .bind(i.payload)
            .execute(&pool)
            .await?;
            Ok(r.rows_affected())
        })?;
        Ok(added == 1)
    }

    pub(super) fn outbox_rows(&self, tenant: Option<&str>, pending_only: bool) -> Result<Vec<OutboxItem>> {
        let (pool, tenant) = (self.pool(), tenant.map(String::from));
        let rows = self.call("reading the outbox", async move {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM psa_outbox WHERE ($1::text IS NULL OR tenant = $1) AND (NOT $2 OR NOT delivered) ORDER BY id"
            )))
            .bind(tenant)
            .bind(pending_only)
            .fetch_all(&pool)
            .await
        })?;
        rows.iter().map(|r| self.outbox_item(r)).collect()
    }

    fn outbox_item(&self, r: &PgRow) -> Result<OutboxItem> {
        let get = |e: sqlx::Error| self.err("reading the outbox", e);
        let kind: String = r.try_get("kind").map_err(get)?;
        let attempts: i32 = r.try_get("attempts").map_err(get)?;
        Ok(OutboxItem {
            id: r.try_get("id").map_err(get)?,
            tenant: r.try_get("tenant").map_err(get)?,
            run_id: r.try_get("run_id").map_err(get)?,
            kind: OutboxKind::parse(&kind).ok_or_else(|| self.err("stored outbox kind", format!("unknown value {kind:?}")))?,
            marker: r.try_get("marker").map_err(get)?,
            payload: r.try_get("payload").map_err(get)?,
            delivered: r.try_get("delivered").map_err(get)?,
            attempts: attempts.unsigned_abs(),
            last_error: r.try_get("last_error").map_err(get)?,
            created_at: r.try_get("created_at").map_err(get)?,
            delivered_at: r.try_get("delivered_at").map_err(get)?,
        })
    }

    /// `UPDATE psa_outbox SET {set} WHERE id = $1`, with `$2` bound to `arg` when given.
    pub(super) fn outbox_update(&self, id: i64, set: &'static str, arg: Option<String>) -> Result<()> {
        let pool = self.pool();
        let changed = self.call(&format!("updating outbox item {id}"), async move {
            let sql = format!("UPDATE psa_outbox SET {set} WHERE id = $1");
            let q = sqlx::query(AssertSqlSafe(sql)).bind(id);
            let q = match arg {
                Some(a) => q.bind(a),
                None => q,
            };
            Ok(q.execute(&pool).await?.rows_affected())
        })?;
        if changed == 0 {
            return Err(self.err("updating the outbox", format!("no item {id}")));
        }
        Ok(())
    }

    pub(super) fn set_ticket(&self, run_id: &str, ticket: &str) -> Result<()> {
        let (pool, r, t) = (self.pool(), run_id.to_string(), ticket.to_string());
        let changed = self.call(&format!("recording the ticket of run {run_id}"), async move {
            Ok(sqlx::query("UPDATE runs SET ticket = $2 WHERE run_id = $1").bind(r).bind(t).execute(&pool).await?.rows_affected())
        })?;
        if changed == 0 {
            return Err(JournalError::NoSuchRun(run_id.to_string()));
        }
        Ok(())
    }

    pub(super) fn ticket_of(&self, run_id: &str) -> Result<Option<String>> {
        let (pool, r) = (self.pool(), run_id.to_string());
        let row: Option<Option<String>> = self.call(&format!("reading the ticket of run {run_id}"), async move {
            sqlx::query_scalar("SELECT ticket FROM runs WHERE run_id = $1").bind(r).fetch_optional(&pool).await
        })?;
        row.ok_or_else(|| JournalError::NoSuchRun(run_id.to_string()))
    }

    /// As in SQLite: a run "has a ticket" once it recorded one or queued anything for one.
    pub(super) fn ticketed_run(&self, tenant: &str, user: &str, except: &str) -> Result<Option<TicketedRun>> {
        let (pool, t, u, x) = (self.pool(), tenant.to_string(), user.to_string(), except.to_string());
        type Row = (String, String, Option<String>, Option<serde_json::Value>);
        let row: Option<Row> = self.call(&format!("finding the last ticket of {user} in {tenant}"), async move {
            sqlx::query_as(
                "SELECT run_id, status, ticket, \
                 (SELECT payload FROM psa_outbox s WHERE s.run_id = r.run_id AND s.kind = 'status' ORDER BY s.id DESC LIMIT 1) \
                 FROM runs r WHERE tenant = $1 AND lower(user_name) = lower($2) AND mode = 'apply' AND run_id <> $3 \
                 AND (ticket IS NOT NULL OR EXISTS (SELECT 1 FROM psa_outbox o WHERE o.run_id = r.run_id)) \
                 ORDER BY started_at DESC, ord DESC LIMIT 1",
            )
            .bind(t)
            .bind(u)
            .bind(x)
            .fetch_optional(&pool)
            .await
        })?;
        row.map(|(run_id, status, ticket, last_status)| {
            let status = RunStatus::parse(&status).ok_or_else(|| self.err("stored run status", format!("unknown value {status:?}")))?;
            Ok(TicketedRun { run_id, status, ticket, last_status })
        })
        .transpose()
    }
}
