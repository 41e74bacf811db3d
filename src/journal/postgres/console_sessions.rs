//! The console's sessions in PostgreSQL (migration 0006).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::Row;

use super::PgJournal;
use crate::journal::{Result, StoredSession};

/// The advisory lock that makes "count the live sessions, then add one" a single step across
/// every console process on the database.
const PUT_LOCK: i64 = 0x6f66_6662_6f61_7264; // "offboard"

fn parse(j: &PgJournal, r: &PgRow) -> Result<StoredSession> {
    let get = |e: sqlx::Error| j.err("reading a console session", e);
    let state: Value = r.try_get("state").map_err(get)?;
    Ok(StoredSession {
        state,
        csrf: r.try_get("csrf").map_err(get)?,
        created_at: r.try_get("created_at").map_err(get)?,
        expires_at: r.try_get("expires_at").map_err(get)?,
    })
}

impl PgJournal {
    pub(super) fn session_put(&self, key: &str, s: &StoredSession, max_live: usize, now: DateTime<Utc>) -> Result<bool> {
        let (pool, key, s) = (self.pool(), key.to_string(), s.clone());
        let max = i64::try_from(max_live).unwrap_or(i64::MAX);
        self.call("keeping a console session", async move {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PUT_LOCK).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
            let live: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM console_sessions WHERE key <> $1").bind(&key).fetch_one(&mut *tx).await?;
            if live >= max {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO console_sessions (key, state, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, csrf = EXCLUDED.csrf, \
                 created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at",
            )
            .bind(&key)
            .bind(&s.state)
            .bind(&s.csrf)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub(super) fn session_get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        let (pool, key) = (self.pool(), key.to_string());
        let row = self.call("reading a console session", async move {
            sqlx::query("SELECT state, csrf, created_at, expires_at FROM console_sessions WHERE key = $1 AND expires_at > $2")
                .bind(key)
                .bind(now)
                .fetch_optional(&pool)
                .await
        })?;
        row.map(|r| parse(self, &r)).transpose()
    }

    /// One DELETE ... RETURNING: of two callers taking the same session, one gets it.
    pub(super) fn session_take(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        let (pool, key) = (self.pool(), key.to_string());
        let row = self.call("removing a console session", async move {
            sqlx::query("DELETE FROM console_sessions WHERE key = $1 RETURNING state, csrf, created_at, expires_at")
                .bind(key)
                .fetch_optional(&pool)
                .await
        })?;
        Ok(row.map(|r| parse(self, &r)).transpose()?.filter(|s| s.expires_at > now))
    }
}
