//! The journal suite, part 4: one commit per wave. A phase's steps, its intents and its outcomes
//! are written together, all or nothing (the trait's default records them one by one; every back
//! end here overrides it with one transaction).

use serde_json::Value;

use super::runs::{new_run, step};
use crate::journal::*;

fn with_steps(j: &dyn Journal, ids: &[&str]) {
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create_run");
    let steps: Vec<StepRecord> = ids.iter().map(|id| step("r1", id, "remove_group_membership", &format!("g-{id}"))).collect();
    j.record_steps(&steps).expect("record_steps");
}

fn steps_of(j: &dyn Journal) -> Vec<StepDetail> {
    j.get_run("r1").expect("get_run").expect("run").steps
}

pub(in crate::journal) fn a_waves_steps_intents_and_outcomes_are_recorded_together(j: &dyn Journal) {
    with_steps(j, &["s001", "s002", "s003"]);
    assert_eq!(steps_of(j).iter().map(|s| s.step.step_id.as_str()).collect::<Vec<_>>(), ["s001", "s002", "s003"], "in order");
    j.record_intents("r1", &["s001".into(), "s003".into()]).expect("intents");
    let s = steps_of(j);
    assert_eq!((s[0].step.status, s[1].step.status, s[2].step.status), (StepStatus::Running, StepStatus::Planned, StepStatus::Running));
    assert!(s[0].intent_at.is_some() && s[1].intent_at.is_none() && s[2].intent_at.is_some());
    let outcomes = [
        OutcomeRecord { step_id: "s001".into(), status: StepStatus::Done, detail: "removed".into(), result: Value::Null },
        OutcomeRecord { step_id: "s003".into(), status: StepStatus::Failed, detail: "refused".into(), result: Value::Null },
    ];
    j.record_outcomes("r1", &outcomes).expect("outcomes");
    let s = steps_of(j);
    assert_eq!((s[0].step.status, s[0].step.detail.as_str()), (StepStatus::Done, "removed"));
    assert_eq!((s[2].step.status, s[2].step.detail.as_str()), (StepStatus::Failed, "refused"));
    assert!(s[0].outcome_at.is_some() && s[2].outcome_at.is_some());
}

pub(in crate::journal) fn a_wave_with_an_unknown_step_records_none_of_its_intents(j: &dyn Journal) {
    with_steps(j, &["s001", "s002"]);
    let e = j.record_intents("r1", &["s001".into(), "nope".into()]).expect_err("unknown step");
    assert!(matches!(e, JournalError::NoSuchStep { .. }), "{e:?}");
    // One transaction: the first intent was rolled back with it, so no write can be sent for
    // a step the journal does not show as in flight.
    assert!(steps_of(j).iter().all(|s| s.intent_at.is_none() && s.step.status == StepStatus::Planned));
    let bad = [
        OutcomeRecord { step_id: "s002".into(), status: StepStatus::Done, detail: "x".into(), result: Value::Null },
        OutcomeRecord { step_id: "nope".into(), status: StepStatus::Done, detail: "x".into(), result: Value::Null },
    ];
    assert!(j.record_outcomes("r1", &bad).is_err());
    assert!(steps_of(j).iter().all(|s| s.outcome_at.is_none()), "no outcome of the failed wave was kept");
}
