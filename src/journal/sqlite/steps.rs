//! Writing steps: the upsert of an observed step, its intent and its outcome, each on a given
//! connection or transaction, so one step commits alone and one wave's steps commit together.

use rusqlite::{params, Connection, TransactionBehavior};

use super::{is_foreign_key_violation, ts, SqliteJournal};
use crate::journal::*;

impl SqliteJournal {
    /// Run `f` in one IMMEDIATE transaction (one commit, so one fsync) on the run's connection.
    pub(super) fn in_transaction(&self, context: &str, f: impl FnOnce(&Connection) -> Result<()>) -> Result<()> {
        let mut conn = self.write_conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| self.err(context, e))?;
        f(&tx)?;
        tx.commit().map_err(|e| self.err(context, e))
    }

    /// Upsert. Once an intent is recorded, the write-related columns (status, detail, prior
    /// state, observation time, intent, outcome, result) are kept: they describe a write that
    /// may have been sent, and an observation made after it would record the *new* state as
    /// the prior one, losing what a reversal needs. Descriptive columns are replaced.
    pub(super) fn upsert_step(&self, conn: &Connection, step: &StepRecord) -> Result<()> {
        let params_json = self.to_json("step params", &step.params)?;
        let prior_json = self.to_json("step prior state", &step.prior)?;
        let result = conn.execute(
            "INSERT INTO steps (run_id, step_id, seq, phase, action, directory, target_kind, target_id, \
                 target_display, subject_id, params_json, required, idempotent, status, detail, \
                 prior_json, result_json, observed_at, intent_at, outcome_at)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = ?1),
                 ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, NULL, ?16, NULL, NULL)
             ON CONFLICT (run_id, step_id) DO UPDATE SET
                 phase = excluded.phase,
                 action = excluded.action,
                 directory = excluded.directory,
                 target_kind = excluded.target_kind,
                 target_id = excluded.target_id,
                 target_display = excluded.target_display,
                 subject_id = excluded.subject_id,
                 params_json = excluded.params_json,
                 required = excluded.required,
                 idempotent = excluded.idempotent,
                 status = CASE WHEN steps.intent_at IS NULL THEN excluded.status ELSE steps.status END,
                 detail = CASE WHEN steps.intent_at IS NULL THEN excluded.detail ELSE steps.detail END,
                 prior_json = CASE WHEN steps.intent_at IS NULL THEN excluded.prior_json ELSE steps.prior_json END,
                 observed_at = CASE WHEN steps.intent_at IS NULL THEN excluded.observed_at ELSE steps.observed_at END",
            params![
                step.run_id,
                step.step_id,
                step.phase,
                step.action,
                step.directory,
                step.target_kind,
                step.target_id,
                step.target_display,
                step.subject_id,
                params_json,
                step.required,
                step.idempotent,
                step.status.as_str(),
                step.detail,
                prior_json,
                ts(&step.observed_at),
            ],
        );
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_foreign_key_violation(&e) => Err(JournalError::NoSuchRun(step.run_id.clone())),
            Err(e) => Err(self.err(&format!("recording step {} of run {}", step.step_id, step.run_id), e)),
        }
    }

    /// A new intent replaces any earlier outcome of the same step (a retry): the outcome no
    /// longer describes the write about to be sent.
    pub(super) fn mark_intent(&self, conn: &Connection, run_id: &str, step_id: &str) -> Result<()> {
        let changed = conn
            .execute(
                "UPDATE steps SET status = ?3, intent_at = ?4, outcome_at = NULL, result_json = NULL \
                 WHERE run_id = ?1 AND step_id = ?2",
                params![run_id, step_id, StepStatus::Running.as_str(), ts(&Utc::now())],
            )
            .map_err(|e| self.err(&format!("recording intent of step {step_id} of run {run_id}"), e))?;
        if changed == 0 {
            return Err(JournalError::NoSuchStep { run_id: run_id.to_string(), step_id: step_id.to_string() });
        }
        Ok(())
    }

    pub(super) fn set_outcome(&self, conn: &Connection, run_id: &str, o: &OutcomeRecord) -> Result<()> {
        let (step_id, status, detail) = (&o.step_id, o.status, &o.detail);
        let result = self.to_json("step result", &o.result)?;
        let changed = conn
            .execute(
                "UPDATE steps SET status = ?3, detail = ?4, result_json = ?5, outcome_at = ?6 \
                 WHERE run_id = ?1 AND step_id = ?2",
                params![run_id, step_id, status.as_str(), detail, result, ts(&Utc::now())],
            )
            .map_err(|e| self.err(&format!("recording outcome of step {step_id} of run {run_id}"), e))?;
        if changed == 0 {
            return Err(JournalError::NoSuchStep { run_id: run_id.to_string(), step_id: step_id.to_string() });
        }
        Ok(())
    }
}
