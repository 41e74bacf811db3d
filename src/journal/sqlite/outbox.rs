//! The PSA outbox and run tickets in SQLite (schema version 2).

use rusqlite::{params, OptionalExtension};

use super::{ts, SqliteJournal};
use crate::journal::{JournalError, NewOutboxItem, OutboxItem, OutboxKind, Result, RunStatus, TicketedRun};

const COLUMNS: &str = "id, tenant, run_id, kind, marker, payload_json, delivered, attempts, last_error, created_at, delivered_at";

type Raw = (i64, String, String, String, String, String, bool, u32, Option<String>, String, Option<String>);

impl SqliteJournal {
    pub(super) fn outbox_add_row(&self, item: &NewOutboxItem) -> Result<bool> {
        let payload = self.to_json("outbox payload", &item.payload)?;
        let conn = self.conn();
        let added = conn
            .execute(
                "INSERT OR IGNORE INTO psa_outbox (tenant, run_id, kind, marker, payload_json, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![item.tenant, item.run_id, item.kind.as_str(), item.marker, payload, ts(&chrono::Utc::now())],
            )
            .map_err(|e| self.err(&format!("queueing {} for run {}", item.marker, item.run_id), e))?;
        Ok(added == 1)
    }

    pub(super) fn outbox_rows(&self, tenant: Option<&str>, pending_only: bool) -> Result<Vec<OutboxItem>> {
        let sql = format!("SELECT {COLUMNS} FROM psa_outbox WHERE (?1 IS NULL OR tenant = ?1) AND (?2 = 0 OR delivered = 0) ORDER BY id");
        let raws: Vec<Raw> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(&sql).map_err(|e| self.err("reading the outbox", e))?;
            let rows = stmt
                .query_map(params![tenant, pending_only], |r| {
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
                    ))
                })
                .map_err(|e| self.err("reading the outbox", e))?;
            rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err("reading the outbox", e))?
        };
        raws.into_iter()
            .map(|(id, tenant, run_id, kind, marker, payload, delivered, attempts, last_error, created, delivered_at)| {
                Ok(OutboxItem {
                    id,
                    tenant,
                    run_id,
                    kind: OutboxKind::parse(&kind).ok_or_else(|| self.err("stored outbox kind", format!("unknown value {kind:?}")))?,
                    marker,
                    payload: self.json("outbox payload", Some(&payload))?,
                    delivered,
                    attempts,
                    last_error,
                    created_at: self.time("outbox created_at", &created)?,
                    delivered_at: self.opt_time("outbox delivered_at", delivered_at.as_deref())?,
                })
            })
            .collect()
    }

    /// `UPDATE psa_outbox SET {set} WHERE id = ?1`, with `?2` bound to `arg` when given.
    pub(super) fn outbox_update(&self, id: i64, set: &str, arg: Option<&str>) -> Result<()> {
        let sql = format!("UPDATE psa_outbox SET {set} WHERE id = ?1");
        let conn = self.conn();
        let changed = match arg {
            Some(a) => conn.execute(&sql, params![id, a]),
            None => conn.execute(&sql, params![id]),
        }
        .map_err(|e| self.err(&format!("updating outbox item {id}"), e))?;
        if changed == 0 {
            return Err(self.err("updating the outbox", format!("no item {id}")));
        }
        Ok(())
    }

    pub(super) fn set_ticket(&self, run_id: &str, ticket: &str) -> Result<()> {
        let conn = self.conn();
        let changed = conn
            .execute("UPDATE runs SET ticket = ?2 WHERE run_id = ?1", params![run_id, ticket])
            .map_err(|e| self.err(&format!("recording the ticket of run {run_id}"), e))?;
        if changed == 0 {
            return Err(JournalError::NoSuchRun(run_id.to_string()));
        }
        Ok(())
    }

    pub(super) fn ticket_of(&self, run_id: &str) -> Result<Option<String>> {
        let conn = self.conn();
        conn.query_row("SELECT ticket FROM runs WHERE run_id = ?1", params![run_id], |r| r.get::<_, Option<String>>(0)).map_err(|e| match e
        {
            rusqlite::Error::QueryReturnedNoRows => JournalError::NoSuchRun(run_id.to_string()),
            e => self.err(&format!("reading the ticket of run {run_id}"), e),
        })
    }
}

impl SqliteJournal {
    pub(super) fn ticketed_run(&self, tenant: &str, user: &str, except: &str) -> Result<Option<TicketedRun>> {
        // A run "has a ticket" once it recorded one or queued something for one: a run whose
        // ticket creation still waits in the outbox (the PSA was down) counts too, or the next
        // run would open a second ticket once the PSA is back.
        let sql = "SELECT run_id, status, ticket, \
                   (SELECT payload_json FROM psa_outbox s WHERE s.run_id = r.run_id AND s.kind = 'status' ORDER BY s.id DESC LIMIT 1) \
                   FROM runs r WHERE tenant = ?1 AND lower(user) = lower(?2) AND mode = 'apply' AND run_id != ?3 \
                   AND (ticket IS NOT NULL OR EXISTS (SELECT 1 FROM psa_outbox o WHERE o.run_id = r.run_id)) \
                   ORDER BY started_at DESC, rowid DESC LIMIT 1";
        type Row = (String, String, Option<String>, Option<String>);
        let row: Option<Row> = self
            .conn()
            .query_row(sql, params![tenant, user, except], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()
            .map_err(|e| self.err(&format!("finding the last ticket of {user} in {tenant}"), e))?;
        row.map(|(run_id, status, ticket, last_status)| {
            let status = RunStatus::parse(&status).ok_or_else(|| self.err("stored run status", format!("unknown value {status:?}")))?;
            let last_status = last_status.map(|s| self.json("outbox payload", Some(&s))).transpose()?;
            Ok(TicketedRun { run_id, status, ticket, last_status })
        })
        .transpose()
    }
}
