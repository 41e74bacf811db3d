//! Runs one phase: observe every action, then (in apply mode) write what is needed.
//!
//! Both stages run the phase's actions concurrently (up to `concurrency` at once). Concurrent
//! Graph and Exchange calls are coalesced by the clients into `$batch` requests, so a phase of ten
//! group removals costs one round trip for the reads and one for the writes. With
//! `concurrency = 1` the same work runs one call at a time (the baseline the benchmark compares
//! against).
//!
//! The journal is written once per stage, not once per step: the phase's observed steps in one
//! commit, the intents of its wave of writes in one commit (durable before any of them is sent),
//! and the wave's outcomes in one commit when the last write has answered. A crash before that
//! last commit leaves the wave's steps with an intent and no outcome, which the next run
//! re-observes, as it would one step.

use chrono::Utc;
use futures::stream::{self, StreamExt};
use serde_json::Value;

use super::report::StepReport;
use super::{Action, ActionError, Cx, Observation};
use crate::journal::{JournalError, Mode, OutcomeRecord, StepRecord, StepStatus};

/// An action as the script declared it, waiting for its phase to run.
pub struct Pending {
    pub step_id: String,
    pub phase: String,
    pub required: bool,
    pub action: Box<dyn Action>,
}

struct Observed {
    pending: Pending,
    obs: Result<Observation, ActionError>,
}

/// Run the phase's actions; returns one report line per action, in declaration order.
pub async fn run_phase(cx: &Cx, actions: Vec<Pending>, concurrency: usize) -> Result<Vec<StepReport>, JournalError> {
    let concurrency = concurrency.max(1);
    // Stage 1: observe (reads only), concurrently.
    let observed: Vec<Observed> = stream::iter(actions)
        .map(|pending| async move {
            let obs = pending.action.observe(cx).await;
            Observed { pending, obs }
        })
        .buffered(concurrency)
        .collect()
        .await;

    // Record every step before any write: the journal shows the whole phase even if we die now.
    let mut needed = Vec::new();
    let mut reports = Vec::with_capacity(observed.len());
    let mut records = Vec::with_capacity(observed.len());
    let mut finals = Vec::new();
    for (idx, o) in observed.into_iter().enumerate() {
        let (status, detail, prior) = match &o.obs {
            Ok(Observation::Needed { prior, detail }) => (StepStatus::Planned, detail.clone(), prior.clone()),
            Ok(Observation::AlreadyDone { detail }) => (StepStatus::AlreadyDone, detail.clone(), Value::Null),
            Ok(Observation::Skip { reason }) => (StepStatus::Skipped, reason.clone(), Value::Null),
            Ok(Observation::NeedsAction { instruction }) => (StepStatus::NeedsAction, instruction.clone(), Value::Null),
            Err(e) => (StepStatus::Failed, format!("could not check the current state: {e}"), Value::Null),
        };
        let record = step_record(cx, &o.pending, status, &detail, prior);
        if status == StepStatus::Failed || (status == StepStatus::NeedsAction && cx.mode == Mode::Apply) {
            // A failed observation, or work left for a person, is final for this step: record
            // its outcome so it is not mistaken for a write in flight.
            finals.push(outcome(&record.step_id, status, &detail));
        }
        reports.push(report_line(&o.pending, &record, status, detail.clone()));
        records.push(record);
        if status == StepStatus::Planned && cx.mode == Mode::Apply {
            needed.push((idx, o.pending));
        }
    }
    cx.journal.record_steps(&records)?;
    if !finals.is_empty() {
        cx.journal.record_outcomes(&cx.run_id, &finals)?;
    }
    if needed.is_empty() {
        return Ok(reports);
    }

    // Stage 2: write, concurrently. Every intent of the wave is durable before a request leaves.
    let ids: Vec<String> = needed.iter().map(|(_, p)| p.step_id.clone()).collect();
    cx.journal.record_intents(&cx.run_id, &ids)?;
    let outcomes: Vec<(usize, String, (StepStatus, String))> = stream::iter(needed)
        .map(|(idx, pending)| async move { (idx, pending.step_id.clone(), apply_one(cx, &pending).await) })
        .buffered(concurrency)
        .collect()
        .await;
    let records: Vec<OutcomeRecord> = outcomes.iter().map(|(_, id, (status, detail))| outcome(id, *status, detail)).collect();
    cx.journal.record_outcomes(&cx.run_id, &records)?;
    for (idx, _, (status, detail)) in outcomes {
        reports[idx].status = status;
        reports[idx].detail = detail;
    }
    Ok(reports)
}

fn outcome(step_id: &str, status: StepStatus, detail: &str) -> OutcomeRecord {
    OutcomeRecord { step_id: step_id.to_string(), status, detail: detail.to_string(), result: Value::Null }
}

/// Send one write whose intent is recorded, and decide its outcome (recorded by the caller).
async fn apply_one(cx: &Cx, p: &Pending) -> (StepStatus, String) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let applied = p.action.apply(cx).await;
        // What we read about the object may now be stale: brought up to date when the write is
        // known to have landed, else forgotten whatever the outcome.
        match &applied {
            Ok(_) if p.action.answer_confirms() => p.action.landed(&cx.cache),
            _ => {
                for id in p.action.stale_reads() {
                    cx.cache.invalidate_user(&id);
                }
            }
        }
        match applied {
            Ok(detail) if p.action.answer_confirms() => return (StepStatus::Done, detail),
            Ok(detail) => return read_back(cx, p, detail).await,
            Err(e) if e.maybe_applied() => match reobserve(cx, p, &e).await {
                // Reading back proved the write did not land: sending it again is safe.
                Reobserved::NotApplied(_) if attempt < MAX_SENDS => continue,
                Reobserved::NotApplied(r) | Reobserved::Final(r) => return r,
            },
            Err(e) => return (StepStatus::Failed, e.to_string()),
        }
    }
}

/// How many times one write is sent at most, when reading back after an unclear reply shows it
/// did not land.
const MAX_SENDS: u32 = 3;

enum Reobserved {
    /// Reading back shows the write was not applied (the outcome if it is not sent again).
    NotApplied((StepStatus, String)),
    Final((StepStatus, String)),
}

/// After a write whose result is unknown, look again instead of guessing.
async fn reobserve(cx: &Cx, p: &Pending, err: &ActionError) -> Reobserved {
    let fresh = cx.fresh();
    Reobserved::Final(match p.action.observe(&fresh).await {
        Ok(Observation::AlreadyDone { .. }) => (StepStatus::Done, format!("confirmed by reading back after an unclear reply ({err})")),
        Ok(Observation::Needed { .. }) => {
            return Reobserved::NotApplied((StepStatus::Failed, format!("{err}; reading back shows it was not applied")))
        }
        Ok(Observation::Skip { reason }) => (StepStatus::Failed, format!("{err}; now: {reason}")),
        Ok(Observation::NeedsAction { instruction }) => (StepStatus::NeedsAction, format!("{err}; now: {instruction}")),
        Err(e2) => (
            StepStatus::Failed,
            format!("{err}; it may or may not have been applied and reading back failed too ({e2}); the next run checks again"),
        ),
    })
}

/// After a write the target only accepted: `done` when reading back finds it, else `unconfirmed`
/// with what was (not) found. Never re-sent: the target said it took the request. The copy may
/// take a moment to appear (a sent mail reaches Sent Items after the 202), so a read-back that
/// does not find it yet is tried again after [`READ_BACK_DELAYS_MS`].
async fn read_back(cx: &Cx, p: &Pending, detail: String) -> (StepStatus, String) {
    let mut delays = READ_BACK_DELAYS_MS.iter();
    loop {
        match p.action.observe(&cx.fresh()).await {
            Ok(Observation::AlreadyDone { detail: found }) => {
                return (StepStatus::Done, format!("{detail}; confirmed by reading back: {found}"))
            }
            Ok(Observation::Needed { .. }) => match delays.next() {
                Some(ms) => tokio::time::sleep(std::time::Duration::from_millis(*ms)).await,
                None => {
                    return (
                        StepStatus::Unconfirmed,
                        format!("{detail}; accepted, but reading back does not show it yet (the next run checks again)"),
                    )
                }
            },
            Ok(Observation::Skip { reason }) | Ok(Observation::NeedsAction { instruction: reason }) => {
                return (StepStatus::Unconfirmed, format!("{detail}; accepted, and reading back says: {reason}"))
            }
            Err(e) => return (StepStatus::Unconfirmed, format!("{detail}; accepted, but it could not be read back ({e})")),
        }
    }
}

/// How long to wait before each further read-back of an accepted write (about 3.5 s in all).
const READ_BACK_DELAYS_MS: [u64; 3] = [500, 1000, 2000];

fn step_record(cx: &Cx, p: &Pending, status: StepStatus, detail: &str, prior: Value) -> StepRecord {
    let t = p.action.target();
    StepRecord {
        run_id: cx.run_id.clone(),
        step_id: p.step_id.clone(),
        phase: p.phase.clone(),
        action: p.action.action().to_string(),
        directory: p.action.directory().to_string(),
        target_kind: t.kind.to_string(),
        target_id: t.id,
        target_display: t.display,
        subject_id: p.action.subject_id(),
        params: p.action.params(),
        required: p.required,
        idempotent: p.action.idempotent(),
        status,
        detail: detail.to_string(),
        prior,
        observed_at: Utc::now(),
    }
}

fn report_line(p: &Pending, r: &StepRecord, status: StepStatus, detail: String) -> StepReport {
    StepReport {
        id: p.step_id.clone(),
        phase: p.phase.clone(),
        action: r.action.clone(),
        directory: r.directory.clone(),
        target: r.target_display.clone(),
        target_id: r.target_id.clone(),
        status,
        detail,
        required: p.required,
    }
}
