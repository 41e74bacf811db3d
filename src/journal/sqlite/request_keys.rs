//! The JSON API's request keys in SQLite (schema version 7).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde_json::Value;

use super::{ts, SqliteJournal};
use crate::journal::{JournalError, KeyAnswer, KeyClaim, RequestKey, Result};

type Raw = (String, String, Option<i64>, Option<String>, Option<String>);

fn time(s: &str) -> Result<DateTime<Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| JournalError::Reported(format!("request keys: bad time '{s}': {e}")))
}

impl SqliteJournal {
    /// In one IMMEDIATE transaction: two requests with the same key at once find each other.
    pub(super) fn key_claim(&self, scope: &str, key: &str, hash: &str, now: DateTime<Utc>, stale: DateTime<Utc>) -> Result<KeyClaim> {
        let context = format!("claiming request key {key}");
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err(&context, e))?;
        let found: Option<Raw> = tx
            .query_row(
                "SELECT request_hash, created_at, status, answer_json, answered_at FROM request_keys WHERE scope = ?1 AND key = ?2",
                params![scope, key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| self.err(&context, e))?;
        let claim = match found {
            None => {
                tx.execute(
                    "INSERT INTO request_keys (scope, key, request_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![scope, key, hash, ts(&now)],
                )
                .map_err(|e| self.err(&context, e))?;
                KeyClaim::Claimed
            }
            Some((h, created, None, _, _)) if h == hash && time(&created)? < stale => {
                tx.execute("UPDATE request_keys SET created_at = ?3 WHERE scope = ?1 AND key = ?2", params![scope, key, ts(&now)])
                    .map_err(|e| self.err(&context, e))?;
                KeyClaim::Claimed
            }
            Some((request_hash, created, status, body, answered)) => {
                let answer = match (status, body, answered) {
                    (Some(status), Some(body), Some(at)) => Some(KeyAnswer {
                        status: u16::try_from(status).map_err(|_| self.err(&context, format!("bad status {status}")))?,
                        body: serde_json::from_str(&body).map_err(|e| self.err(&context, e))?,
                        answered_at: time(&at)?,
                    }),
                    _ => None,
                };
                KeyClaim::Existing(RequestKey { scope: scope.into(), key: key.into(), request_hash, created_at: time(&created)?, answer })
            }
        };
        tx.commit().map_err(|e| self.err(&context, e))?;
        Ok(claim)
    }

    pub(super) fn key_answer(&self, scope: &str, key: &str, status: u16, body: &Value) -> Result<()> {
        let json = self.to_json("request key answer", body)?;
        let conn = self.write_conn()?;
        let n = conn
            .execute(
                "UPDATE request_keys SET status = ?3, answer_json = ?4, answered_at = ?5 WHERE scope = ?1 AND key = ?2 AND status IS NULL",
                params![scope, key, i64::from(status), json, ts(&Utc::now())],
            )
            .map_err(|e| self.err(&format!("answering request key {key}"), e))?;
        if n != 1 {
            return Err(JournalError::Reported(format!("request key {key} is not claimed and unanswered")));
        }
        Ok(())
    }

    pub(super) fn key_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let conn = self.write_conn()?;
        let n = conn
            .execute("DELETE FROM request_keys WHERE status IS NOT NULL AND created_at < ?1", params![ts(&before)])
            .map_err(|e| self.err("pruning request keys", e))?;
        Ok(n as u64)
    }

    pub(super) fn key_release(&self, scope: &str, key: &str) -> Result<()> {
        let conn = self.write_conn()?;
        conn.execute("DELETE FROM request_keys WHERE scope = ?1 AND key = ?2 AND status IS NULL", params![scope, key])
            .map_err(|e| self.err(&format!("releasing request key {key}"), e))?;
        Ok(())
    }
}
