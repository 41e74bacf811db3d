//! The console's sessions in SQLite (schema version 8).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{ts, SqliteJournal};
use crate::journal::{JournalError, Result, StoredSession};

type Raw = (String, String, String, String);

fn parse(raw: Raw) -> Result<StoredSession> {
    let (state, csrf, created, expires) = raw;
    let time = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| JournalError::Reported(format!("console sessions: bad time '{s}': {e}")))
    };
    let state = serde_json::from_str(&state).map_err(|e| JournalError::Reported(format!("console sessions: bad state: {e}")))?;
    Ok(StoredSession { state, csrf, created_at: time(&created)?, expires_at: time(&expires)? })
}

const SELECT: &str = "SELECT state_json, csrf, created_at, expires_at FROM console_sessions WHERE key = ?1 AND expires_at > ?2";

impl SqliteJournal {
    /// In one IMMEDIATE transaction: the count and the insert see the same sessions.
    pub(super) fn session_put(&self, key: &str, s: &StoredSession, max_live: usize, now: DateTime<Utc>) -> Result<bool> {
        let context = "keeping a console session";
        let state = self.to_json("console session", &s.state)?;
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err(context, e))?;
        tx.execute("DELETE FROM console_sessions WHERE expires_at <= ?1", params![ts(&now)]).map_err(|e| self.err(context, e))?;
        let live: i64 = tx
            .query_row("SELECT COUNT(*) FROM console_sessions WHERE key <> ?1", params![key], |r| r.get(0))
            .map_err(|e| self.err(context, e))?;
        if live as usize >= max_live {
            return Ok(false);
        }
        tx.execute(
            "INSERT OR REPLACE INTO console_sessions (key, state_json, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![key, state, s.csrf, ts(&s.created_at), ts(&s.expires_at)],
        )
        .map_err(|e| self.err(context, e))?;
        tx.commit().map_err(|e| self.err(context, e))?;
        Ok(true)
    }

    pub(super) fn session_get(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        let raw: Option<Raw> = self
            .conn()
            .query_row(SELECT, params![key, ts(&now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()
            .map_err(|e| self.err("reading a console session", e))?;
        raw.map(parse).transpose()
    }

    pub(super) fn session_take(&self, key: &str, now: DateTime<Utc>) -> Result<Option<StoredSession>> {
        let context = "removing a console session";
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err(context, e))?;
        let raw: Option<Raw> = tx
            .query_row(SELECT, params![key, ts(&now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()
            .map_err(|e| self.err(context, e))?;
        tx.execute("DELETE FROM console_sessions WHERE key = ?1", params![key]).map_err(|e| self.err(context, e))?;
        tx.commit().map_err(|e| self.err(context, e))?;
        raw.map(parse).transpose()
    }
}
