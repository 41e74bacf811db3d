//! The console's audit log in SQLite (schema version 6).

use rusqlite::params;

use super::{ts, SqliteJournal};
use crate::journal::{AuditEvent, JournalError, Result};

type Raw = (String, String, String, String, Option<String>, String);

impl SqliteJournal {
    pub(super) fn audit_add(&self, e: &AuditEvent) -> Result<()> {
        let detail = self.to_json("audit detail", &e.detail)?;
        let conn = self.write_conn()?;
        conn.execute(
            "INSERT INTO audit (at, action, issuer, subject, email, detail_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![ts(&e.at), e.action, e.issuer, e.subject, e.email, detail],
        )
        .map_err(|err| self.err(&format!("recording the console action {}", e.action), err))?;
        Ok(())
    }

    pub(super) fn audit_rows(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        let raws: Vec<Raw> = {
            let conn = self.conn();
            let mut stmt = conn
                .prepare("SELECT at, action, issuer, subject, email, detail_json FROM audit ORDER BY id DESC LIMIT ?1")
                .map_err(|e| self.err("reading the audit log", e))?;
            let rows = stmt
                .query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
                .map_err(|e| self.err("reading the audit log", e))?;
            rows.collect::<std::result::Result<_, _>>().map_err(|e| self.err("reading the audit log", e))?
        };
        raws.into_iter()
            .map(|(at, action, issuer, subject, email, detail)| {
                let at = chrono::DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| JournalError::Reported(format!("audit log: bad time '{at}': {e}")))?
                    .with_timezone(&chrono::Utc);
                let detail = serde_json::from_str(&detail).map_err(|e| JournalError::Reported(format!("audit log: bad detail: {e}")))?;
                Ok(AuditEvent { at, action, issuer, subject, email, detail })
            })
            .collect()
    }
}
