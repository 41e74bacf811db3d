//! The console's audit log in PostgreSQL (migration 0002).

use sqlx::Row;

use super::PgJournal;
use crate::journal::{AuditEvent, Result};

impl PgJournal {
    pub(super) fn audit_add(&self, e: &AuditEvent) -> Result<()> {
        let (pool, e) = (self.pool(), e.clone());
        self.call(&format!("recording the console action {}", e.action), async move {
            sqlx::query("INSERT INTO audit (at, action, issuer, subject, email, detail) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(e.at)
                .bind(e.action)
                .bind(e.issuer)
                .bind(e.subject)
                .bind(e.email)
                .bind(e.detail)
                .execute(&pool)
                .await
        })?;
        Ok(())
    }

    pub(super) fn audit_rows(&self, limit: usize) -> Result<Vec<AuditEvent>> {
        let pool = self.pool();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.call("reading the audit log", async move {
            sqlx::query("SELECT at, action, issuer, subject, email, detail FROM audit ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&pool)
                .await
        })?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| self.err("reading the audit log", e);
                Ok(AuditEvent {
                    at: r.try_get("at").map_err(get)?,
                    action: r.try_get("action").map_err(get)?,
                    issuer: r.try_get("issuer").map_err(get)?,
                    subject: r.try_get("subject").map_err(get)?,
                    email: r.try_get("email").map_err(get)?,
                    detail: r.try_get("detail").map_err(get)?,
                })
            })
            .collect()
    }
}
