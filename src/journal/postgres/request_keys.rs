//! The JSON API's request keys in PostgreSQL (migration 0003).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;

use super::PgJournal;
use crate::journal::{JournalError, KeyAnswer, KeyClaim, RequestKey, Result};

impl PgJournal {
    /// A claim is one INSERT or one conditional UPDATE, each atomic: of two requests with the
    /// same key at once exactly one claims it; the other reads the row.
    pub(super) fn key_claim(&self, scope: &str, key: &str, hash: &str, now: DateTime<Utc>, stale: DateTime<Utc>) -> Result<KeyClaim> {
        let (pool, scope_, key_, hash_) = (self.pool(), scope.to_string(), key.to_string(), hash.to_string());
        let row = self.call(&format!("claiming request key {key}"), async move {
            let inserted = sqlx::query(
                "INSERT INTO request_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(&scope_)
            .bind(&key_)
            .bind(&hash_)
            .bind(now)
            .execute(&pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(None);
            }
            let taken = sqlx::query(
                "UPDATE request_keys SET created_at = $4 \
                 WHERE scope = $1 AND key = $2 AND request_hash = $3 AND status IS NULL AND created_at < $5",
            )
            .bind(&scope_)
            .bind(&key_)
            .bind(&hash_)
            .bind(now)
            .bind(stale)
            .execute(&pool)
            .await?
            .rows_affected();
            if taken == 1 {
                return Ok(None);
            }
            sqlx::query("SELECT request_hash, created_at, status, answer, answered_at FROM request_keys WHERE scope = $1 AND key = $2")
                .bind(&scope_)
                .bind(&key_)
                .fetch_optional(&pool)
                .await
        })?;
        let Some(r) = row else {
            return Ok(KeyClaim::Claimed);
        };
        let get = |e: sqlx::Error| self.err("reading a request key", e);
        let status: Option<i32> = r.try_get("status").map_err(get)?;
        let body: Option<Value> = r.try_get("answer").map_err(get)?;
        let answered: Option<DateTime<Utc>> = r.try_get("answered_at").map_err(get)?;
        let answer = match (status, body, answered) {
            (Some(s), Some(body), Some(answered_at)) => Some(KeyAnswer {
                status: u16::try_from(s).map_err(|_| self.err("reading a request key", format!("bad status {s}")))?,
                body,
                answered_at,
            }),
            _ => None,
        };
        Ok(KeyClaim::Existing(RequestKey {
            scope: scope.into(),
            key: key.into(),
            request_hash: r.try_get("request_hash").map_err(get)?,
            created_at: r.try_get("created_at").map_err(get)?,
            answer,
        }))
    }

    pub(super) fn key_answer(&self, scope: &str, key: &str, status: u16, body: &Value) -> Result<()> {
        let (pool, scope_, key_, body) = (self.pool(), scope.to_string(), key.to_string(), body.clone());
        let n = self.call(&format!("answering request key {key}"), async move {
            Ok(sqlx::query(
                "UPDATE request_keys SET status = $3, answer = $4, answered_at = now() \
                 WHERE scope = $1 AND key = $2 AND status IS NULL",
            )
            .bind(scope_)
            .bind(key_)
            .bind(i32::from(status))
            .bind(body)
            .execute(&pool)
            .await?
            .rows_affected())
        })?;
        if n != 1 {
            return Err(JournalError::Reported(format!("request key {key} is not claimed and unanswered")));
        }
        Ok(())
    }

    pub(super) fn key_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let pool = self.pool();
        let done = self.call("pruning request keys", async move {
            sqlx::query("DELETE FROM request_keys WHERE status IS NOT NULL AND created_at < $1").bind(before).execute(&pool).await
        })?;
        Ok(done.rows_affected())
    }

    pub(super) fn key_release(&self, scope: &str, key: &str) -> Result<()> {
        let (pool, scope_, key_) = (self.pool(), scope.to_string(), key.to_string());
        self.call(&format!("releasing request key {key}"), async move {
            sqlx::query("DELETE FROM request_keys WHERE scope = $1 AND key = $2 AND status IS NULL")
                .bind(scope_)
                .bind(key_)
                .execute(&pool)
                .await
        })?;
        Ok(())
    }
}
