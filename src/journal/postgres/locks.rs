//! The writer lock per (tenant, user) in PostgreSQL: a row in `locks`, examined under
//! `SELECT … FOR UPDATE`, whose holder is alive while its journal session keeps beating.
//!
//! Why a row and not an advisory lock: a session-level advisory lock lives on one connection, and
//! a pool hands out connections per query, so the lock would have to pin a connection for the
//! whole run; and a lost connection would silently release it while the process still writes.
//! The row outlives its holder on purpose, exactly like SQLite's: the next run sees it, decides
//! whether the holder is alive (its session's heartbeat, by the database's clock) and, if not,
//! takes it over and marks the holder's run interrupted, which also fences that run's next
//! intent (`runs.rs`).

use super::{session_ttl_secs, PgJournal};
use crate::journal::*;

/// Attempts when the row disappears between the failed insert and the read (its holder released
/// it in that instant): the next attempt inserts it.
const ATTEMPTS: usize = 5;

impl PgJournal {
    pub(super) fn take_lock(&self, tenant: &str, user: &str, run_id: &str, pid: u32) -> Result<LockOutcome> {
        let (pool, session) = (self.pool(), self.session.clone());
        let (tenant, user, run) = (tenant.to_string(), user.to_string(), run_id.to_string());
        let context = format!("taking lock for {user} in {tenant}");
        let pid = i32::try_from(pid).map_err(|_| self.err(&context, format!("pid {pid} out of range")))?;
        let outcome = self.call(&context, async move {
            for _ in 0..ATTEMPTS {
                let mut tx = pool.begin().await?;
                // A concurrent insert of the same key makes this one wait for it to commit, then
                // do nothing: of two takers, one inserts and the other reads its row below.
                let inserted = sqlx::query(
                    "INSERT INTO locks (tenant, user_key, run_id, pid, session_id, acquired_at) VALUES ($1, $2, $3, $4, $5, now()) \
                     ON CONFLICT (tenant, user_key) DO NOTHING",
                )
                .bind(&tenant)
                .bind(&user)
                .bind(&run)
                .bind(pid)
                .bind(&session)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    tx.commit().await?;
                    return Ok(Some(LockOutcome::Acquired));
                }
                let holder: Option<(String, i32, String, bool)> = sqlx::query_as(
                    "SELECT l.run_id, l.pid, l.session_id, EXISTS (SELECT 1 FROM journal_sessions s \
                         WHERE s.session_id = l.session_id AND s.heartbeat_at > now() - make_interval(secs => $3)) \
                     FROM locks l WHERE l.tenant = $1 AND l.user_key = $2 FOR UPDATE OF l",
                )
                .bind(&tenant)
                .bind(&user)
                .bind(session_ttl_secs())
                .fetch_optional(&mut *tx)
                .await?;
                let update =
                    "UPDATE locks SET run_id = $3, pid = $4, session_id = $5, acquired_at = now() WHERE tenant = $1 AND user_key = $2";
                match holder {
                    None => {
                        tx.rollback().await?;
                        continue;
                    }
                    // The same run again (possibly resumed by another process or machine): keep
                    // the lock, record the current holder.
                    Some((held_run, held_pid, held_session, _)) if held_run == run => {
                        if held_pid != pid || held_session != session {
                            sqlx::query(update).bind(&tenant).bind(&user).bind(&run).bind(pid).bind(&session).execute(&mut *tx).await?;
                        }
                    }
                    // A live holder with another run keeps it, even when it is this very journal.
                    Some((held_run, held_pid, _, true)) => {
                        tx.rollback().await?;
                        return Ok(Some(LockOutcome::HeldBy { run_id: held_run, pid: held_pid.unsigned_abs() }));
                    }
                    Some((held_run, _, _, false)) => {
                        sqlx::query(update).bind(&tenant).bind(&user).bind(&run).bind(pid).bind(&session).execute(&mut *tx).await?;
                        // Only a run still marked running: one that finished keeps its status.
                        sqlx::query("UPDATE runs SET status = 'interrupted' WHERE run_id = $1 AND status = 'running'")
                            .bind(&held_run)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                return Ok(Some(LockOutcome::Acquired));
            }
            Ok(None)
        })?;
        outcome.ok_or_else(|| self.err(&context, "the lock kept changing hands; try again"))
    }

    pub(super) fn drop_lock(&self, tenant: &str, user: &str, run_id: &str) -> Result<()> {
        let (pool, t, u, r) = (self.pool(), tenant.to_string(), user.to_string(), run_id.to_string());
        self.call(&format!("releasing lock for {user} in {tenant}"), async move {
            sqlx::query("DELETE FROM locks WHERE tenant = $1 AND user_key = $2 AND run_id = $3")
                .bind(t)
                .bind(u)
                .bind(r)
                .execute(&pool)
                .await
                .map(drop)
        })
    }
}
