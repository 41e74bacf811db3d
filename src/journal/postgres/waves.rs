//! One commit per wave in PostgreSQL: the intents of one wave of writes, and their outcomes,
//! each written in one transaction, all or nothing (as the SQLite journal does).
//!
//! All or nothing matters for intents: a wave whose intents were only partly recorded would send
//! writes the journal does not show as in flight. A wave naming an unknown step, or of a run whose
//! lock another worker took over, records none of them.

use chrono::Utc;

use super::PgJournal;
use crate::journal::{JournalError, OutcomeRecord, Result, StepStatus};

/// Why a wave's transaction was rolled back (the rest is a database error).
enum Refused {
    TakenOver,
    NoSuchStep(String),
}

impl PgJournal {
    pub(super) fn intents(&self, run_id: &str, step_ids: &[String]) -> Result<()> {
        let (pool, run, steps) = (self.pool(), run_id.to_string(), step_ids.to_vec());
        let context = format!("recording the intents of {} step(s) of run {run_id}", step_ids.len());
        let refused = self.call(&context, async move {
            let mut tx = pool.begin().await?;
            // FOR SHARE: a takeover (which marks the run interrupted) waits for this wave's
            // commit, and a wave after it sees the mark.
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM runs WHERE run_id = $1 FOR SHARE").bind(&run).fetch_optional(&mut *tx).await?;
            if status.as_deref() == Some("interrupted") {
                return Ok(Some(Refused::TakenOver));
            }
            let now = Utc::now();
            for step in steps {
                let changed = sqlx::query(
                    "UPDATE steps SET status = $3, intent_at = $4, outcome_at = NULL, result = NULL WHERE run_id = $1 AND step_id = $2",
                )
                .bind(&run)
                .bind(&step)
                .bind(StepStatus::Running.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Ok(Some(Refused::NoSuchStep(step)));
                }
            }
            tx.commit().await?;
            Ok(None)
        })?;
        self.refusal(run_id, &context, refused)
    }

    pub(super) fn outcomes(&self, run_id: &str, outcomes: &[OutcomeRecord]) -> Result<()> {
        let (pool, run, outcomes) = (self.pool(), run_id.to_string(), outcomes.to_vec());
        let context = format!("recording the outcomes of {} step(s) of run {run_id}", outcomes.len());
        let refused = self.call(&context, async move {
            let mut tx = pool.begin().await?;
            let now = Utc::now();
            for o in outcomes {
                let changed = sqlx::query(
                    "UPDATE steps SET status = $3, detail = $4, result = $5, outcome_at = $6 WHERE run_id = $1 AND step_id = $2",
                )
                .bind(&run)
                .bind(&o.step_id)
                .bind(o.status.as_str())
                .bind(&o.detail)
                .bind(&o.result)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Ok(Some(Refused::NoSuchStep(o.step_id)));
                }
            }
            tx.commit().await?;
            Ok(None)
        })?;
        self.refusal(run_id, &context, refused)
    }

    fn refusal(&self, run_id: &str, context: &str, refused: Option<Refused>) -> Result<()> {
        match refused {
            None => Ok(()),
            Some(Refused::TakenOver) => Err(self.err(
                context,
                "this run's writer lock was taken over by another worker (its session stopped beating): stopped before the next write",
            )),
            Some(Refused::NoSuchStep(step_id)) => Err(JournalError::NoSuchStep { run_id: run_id.to_string(), step_id }),
        }
    }
}
