//! The journal suite, part 1: runs, steps, intents and outcomes, `last_write` and the writer
//! lock, against any back end (moved here from the SQLite tests, unchanged but for the handle).

use chrono::TimeZone;
use serde_json::json;
use std::collections::BTreeMap;

use crate::journal::*;

pub(in crate::journal) fn at(secs: i64, micros: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + secs, micros * 1000).single().expect("valid timestamp")
}

pub(in crate::journal) fn new_run(run_id: &str, tenant: &str, mode: Mode, started_secs: i64) -> NewRun {
    NewRun {
        run_id: run_id.to_string(),
        tenant: tenant.to_string(),
        user: "Jane.Doe@Contoso.com".to_string(),
        script: "scripts/default.rhai".to_string(),
        script_hash: "ab12cd".to_string(),
        mode,
        options: json!({"keep_mailbox": true, "days": 30}),
        started_at: at(started_secs, 123_456),
    }
}

pub(in crate::journal) fn step(run_id: &str, step_id: &str, action: &str, target_id: &str) -> StepRecord {
    StepRecord {
        run_id: run_id.to_string(),
        step_id: step_id.to_string(),
        phase: "identity".to_string(),
        action: action.to_string(),
        directory: "cloud".to_string(),
        target_kind: "user".to_string(),
        target_id: target_id.to_string(),
        target_display: "jane.doe@contoso.com".to_string(),
        subject_id: "u-1".to_string(),
        params: json!({"target": target_id}),
        required: true,
        idempotent: false,
        status: StepStatus::Planned,
        detail: String::new(),
        prior: json!({"accountEnabled": true}),
        observed_at: at(10, 5),
    }
}

pub(super) fn full_lifecycle_round_trips_everything_in_order(j: &dyn Journal) {
    let run = new_run("r1", "contoso", Mode::Apply, 0);
    j.create_run(&run).expect("create_run");

    // Inserted out of step-id order: reading back follows insertion order (seq).
    let mut s2 = step("r1", "s002", "remove_group_membership", "g-7");
    s2.target_kind = "group".to_string();
    s2.required = false;
    s2.idempotent = true;
    s2.params = json!({"group": "g-7", "nested": [1, 2, {"x": null}]});
    s2.prior = json!({"member": true});
    j.record_step(&step("r1", "s001", "disable_account", "u-1")).expect("s001");
    j.record_step(&s2).expect("s002");
    let mut s3 = step("r1", "s000", "revoke_sessions", "u-1");
    s3.status = StepStatus::AlreadyDone;
    s3.detail = "no sessions".to_string();
    j.record_step(&s3).expect("s000");

    let before = Utc::now();
    j.record_intent("r1", "s001").expect("intent");
    j.record_outcome("r1", "s001", StepStatus::Done, "disabled", &json!({"status": 204})).expect("outcome");
    j.record_intent("r1", "s002").expect("intent 2");
    j.record_outcome("r1", "s002", StepStatus::Failed, "403 Forbidden", &json!({"error": "denied"})).expect("outcome 2");
    j.finish_run("r1", RunStatus::Failed, &json!({"failed": 1, "done": 1})).expect("finish");
    let after = Utc::now();

    let d = j.get_run("r1").expect("get_run").expect("run exists");
    assert_eq!(d.summary.run_id, "r1");
    assert_eq!(d.summary.tenant, "contoso");
    assert_eq!(d.summary.user, "Jane.Doe@Contoso.com");
    assert_eq!(d.summary.script, "scripts/default.rhai");
    assert_eq!(d.summary.script_hash, "ab12cd");
    assert_eq!(d.summary.mode, Mode::Apply);
    assert_eq!(d.summary.status, RunStatus::Failed);
    assert_eq!(d.summary.started_at, at(0, 123_456));
    let finished = d.summary.finished_at.expect("finished_at");
    assert!(finished >= before - chrono::Duration::milliseconds(1) && finished <= after);
    assert_eq!(d.options, json!({"keep_mailbox": true, "days": 30}));
    assert_eq!(d.report, json!({"failed": 1, "done": 1}));
    let expected_counts: BTreeMap<String, u64> =
        [("already_done".to_string(), 1), ("done".to_string(), 1), ("failed".to_string(), 1)].into();
    assert_eq!(d.summary.step_counts, expected_counts);

    let ids: Vec<&str> = d.steps.iter().map(|s| s.step.step_id.as_str()).collect();
    assert_eq!(ids, ["s001", "s002", "s000"]);

    let first = &d.steps[0];
    assert_eq!(first.step.action, "disable_account");
    assert_eq!(first.step.status, StepStatus::Done);
    assert_eq!(first.step.detail, "disabled");
    assert_eq!(first.step.prior, json!({"accountEnabled": true}));
    assert_eq!(first.step.observed_at, at(10, 5));
    assert_eq!(first.result, json!({"status": 204}));
    let intent = first.intent_at.expect("intent_at");
    let outcome = first.outcome_at.expect("outcome_at");
    assert!(intent <= outcome);

    let second = &d.steps[1];
    assert_eq!(second.step.target_kind, "group");
    assert!(!second.step.required);
    assert!(second.step.idempotent);
    assert_eq!(second.step.params, json!({"group": "g-7", "nested": [1, 2, {"x": null}]}));
    assert_eq!(second.step.prior, json!({"member": true}));
    assert_eq!(second.step.status, StepStatus::Failed);
    assert_eq!(second.step.detail, "403 Forbidden");
    assert_eq!(second.result, json!({"error": "denied"}));

    let third = &d.steps[2];
    assert_eq!(third.step.status, StepStatus::AlreadyDone);
    assert_eq!(third.step.detail, "no sessions");
    assert_eq!(third.intent_at, None);
    assert_eq!(third.outcome_at, None);
    assert_eq!(third.result, Value::Null);
}

pub(super) fn record_step_after_intent_keeps_intent_and_outcome(j: &dyn Journal) {
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create");
    j.record_step(&step("r1", "s001", "disable_account", "u-1")).expect("step");
    j.record_step(&step("r1", "s002", "disable_account", "u-2")).expect("step 2");
    j.record_intent("r1", "s001").expect("intent");

    let mut again = step("r1", "s001", "disable_account", "u-1");
    again.prior = json!({"accountEnabled": false});
    again.target_display = "renamed".to_string();
    again.observed_at = at(99, 0);
    j.record_step(&again).expect("re-record after intent");

    let d = j.get_run("r1").expect("get").expect("exists");
    let s = &d.steps[0];
    assert_eq!(s.step.step_id, "s001", "upsert keeps the original position");
    assert_eq!(s.step.status, StepStatus::Running);
    assert!(s.intent_at.is_some());
    assert_eq!(s.step.prior, json!({"accountEnabled": true}), "prior state captured before the write is kept");
    assert_eq!(s.step.observed_at, at(10, 5));
    assert_eq!(s.step.target_display, "renamed", "descriptive columns are replaced");

    j.record_outcome("r1", "s001", StepStatus::Done, "ok", &json!({"n": 1})).expect("outcome");
    j.record_step(&again).expect("re-record after outcome");
    let s = &j.get_run("r1").expect("get").expect("exists").steps[0];
    assert_eq!(s.step.status, StepStatus::Done);
    assert_eq!(s.step.detail, "ok");
    assert_eq!(s.result, json!({"n": 1}));
    assert!(s.intent_at.is_some() && s.outcome_at.is_some());

    // Without an intent, a re-record replaces status and prior.
    let mut s2 = step("r1", "s002", "disable_account", "u-2");
    s2.status = StepStatus::Skipped;
    s2.prior = json!({"accountEnabled": false});
    j.record_step(&s2).expect("replace s002");
    let d = j.get_run("r1").expect("get").expect("exists");
    assert_eq!(d.steps.len(), 2);
    assert_eq!(d.steps[1].step.status, StepStatus::Skipped);
    assert_eq!(d.steps[1].step.prior, json!({"accountEnabled": false}));
}

pub(super) fn missing_steps_and_runs_are_reported(j: &dyn Journal) {
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create");

    match j.record_intent("r1", "s404") {
        Err(JournalError::NoSuchStep { run_id, step_id }) => assert_eq!((run_id.as_str(), step_id.as_str()), ("r1", "s404")),
        other => panic!("expected NoSuchStep, got {other:?}"),
    }
    match j.record_outcome("r9", "s001", StepStatus::Done, "", &Value::Null) {
        Err(JournalError::NoSuchStep { run_id, step_id }) => assert_eq!((run_id.as_str(), step_id.as_str()), ("r9", "s001")),
        other => panic!("expected NoSuchStep, got {other:?}"),
    }
    match j.finish_run("r9", RunStatus::Succeeded, &Value::Null) {
        Err(JournalError::NoSuchRun(id)) => assert_eq!(id, "r9"),
        other => panic!("expected NoSuchRun, got {other:?}"),
    }
    match j.record_step(&step("r9", "s001", "disable_account", "u-1")) {
        Err(JournalError::NoSuchRun(id)) => assert_eq!(id, "r9"),
        other => panic!("expected NoSuchRun, got {other:?}"),
    }
    assert!(j.get_run("r9").expect("get").is_none());
    // A duplicate run id is a storage error, not a silent overwrite.
    match j.create_run(&new_run("r1", "other", Mode::Plan, 5)) {
        Err(JournalError::Storage { message, .. }) => assert!(message.contains("r1"), "{message}"),
        other => panic!("expected Storage, got {other:?}"),
    }
    assert_eq!(j.get_run("r1").expect("get").expect("exists").summary.tenant, "contoso");
}

pub(super) fn list_runs_newest_first_with_step_counts(j: &dyn Journal) {
    j.create_run(&new_run("old", "contoso", Mode::Plan, 0)).expect("old");
    j.create_run(&new_run("new", "contoso", Mode::Apply, 200)).expect("new");
    j.create_run(&new_run("mid", "fabrikam", Mode::Apply, 100)).expect("mid");
    for (i, status) in [StepStatus::Planned, StepStatus::Planned, StepStatus::Skipped].into_iter().enumerate() {
        let mut s = step("old", &format!("s{i:03}"), "disable_account", "u-1");
        s.status = status;
        j.record_step(&s).expect("step");
    }
    j.record_step(&step("new", "s001", "disable_account", "u-1")).expect("step");
    j.record_intent("new", "s001").expect("intent");
    j.finish_run("old", RunStatus::Planned, &json!({})).expect("finish");

    let runs = j.list_runs(10).expect("list");
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["new", "mid", "old"]);
    assert_eq!(runs[0].step_counts, BTreeMap::from([("running".to_string(), 1)]));
    assert!(runs[1].step_counts.is_empty());
    assert_eq!(runs[2].step_counts, BTreeMap::from([("planned".to_string(), 2), ("skipped".to_string(), 1)]));
    assert_eq!(runs[2].status, RunStatus::Planned);
    assert_eq!(runs[2].mode, Mode::Plan);
    assert_eq!(runs[1].tenant, "fabrikam");

    let two = j.list_runs(2).expect("list 2");
    assert_eq!(two.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(), ["new", "mid"]);
    assert!(j.list_runs(0).expect("list 0").is_empty());
}

/// The console's history filters: a user's text in any case (`%` and `_` are themselves) and
/// a range of start times (`until` excluded).
pub(super) fn runs_are_found_by_user_text_and_time_range(j: &dyn Journal) {
    for (id, secs, user) in [("r0", 0, "Jane.Doe@Contoso.com"), ("r1", 100, "lee_gu@contoso.com"), ("r2", 200, "jane.roe@contoso.com")] {
        j.create_run(&NewRun { user: user.into(), ..new_run(id, "contoso", Mode::Plan, secs) }).expect("create");
    }
    let ids =
        |q: RunQuery| -> Vec<String> { j.find_runs(&RunQuery { limit: 10, ..q }).expect("find").into_iter().map(|r| r.run_id).collect() };
    let text = |t: &str| RunQuery { user_contains: Some(t.into()), ..RunQuery::default() };
    assert_eq!(ids(text("JANE")), ["r2", "r0"]);
    assert_eq!(ids(text("doe@")), ["r0"]);
    assert_eq!(ids(text("_gu")), ["r1"]);
    assert!(ids(text("%")).is_empty(), "a % is no wildcard");
    assert!(ids(text("e_d")).is_empty(), "an _ is no wildcard");
    assert_eq!(ids(RunQuery { since: Some(at(100, 0)), until: Some(at(200, 0)), ..RunQuery::default() }), ["r1"]);
    assert_eq!(ids(RunQuery { until: Some(at(100, 123_457)), ..RunQuery::default() }), ["r1", "r0"]);
    assert_eq!(ids(RunQuery { until: Some(at(100, 123_456)), ..RunQuery::default() }), ["r0"], "until is excluded");
    assert_eq!(ids(RunQuery { since: Some(at(1, 0)), user_contains: Some("jane".into()), ..RunQuery::default() }), ["r2"]);
}

pub(super) fn last_write_finds_the_latest_apply_intent(j: &dyn Journal) {
    assert!(j.last_write("contoso", "u-1", "disable_account").expect("empty").is_none());

    // a1: an apply run with a finished write.
    j.create_run(&new_run("a1", "contoso", Mode::Apply, 0)).expect("a1");
    j.record_step(&step("a1", "s001", "disable_account", "u-1")).expect("step");
    j.record_intent("a1", "s001").expect("intent");
    j.record_outcome("a1", "s001", StepStatus::Done, "", &Value::Null).expect("outcome");
    let w = j.last_write("contoso", "u-1", "disable_account").expect("lw").expect("found");
    assert_eq!((w.run_id.as_str(), w.step_id.as_str(), w.status), ("a1", "s001", StepStatus::Done));
    assert!(w.outcome_at.is_some());

    // Later: a plan run (never counts, even with an intent) and an already_done step.
    j.create_run(&new_run("p1", "contoso", Mode::Plan, 10)).expect("p1");
    j.record_step(&step("p1", "s001", "disable_account", "u-1")).expect("step");
    j.record_intent("p1", "s001").expect("intent on plan run");
    j.create_run(&new_run("a2", "contoso", Mode::Apply, 20)).expect("a2");
    let mut done = step("a2", "s001", "disable_account", "u-1");
    done.status = StepStatus::AlreadyDone;
    j.record_step(&done).expect("already_done");
    // Another tenant, another action, another target: none count.
    j.create_run(&new_run("f1", "fabrikam", Mode::Apply, 30)).expect("f1");
    j.record_step(&step("f1", "s001", "disable_account", "u-1")).expect("step");
    j.record_intent("f1", "s001").expect("intent");
    j.record_step(&step("a2", "s002", "revoke_sessions", "u-1")).expect("step");
    j.record_intent("a2", "s002").expect("intent");
    j.record_step(&step("a2", "s003", "disable_account", "u-2")).expect("step");
    j.record_intent("a2", "s003").expect("intent");

    let w = j.last_write("contoso", "u-1", "disable_account").expect("lw").expect("found");
    assert_eq!((w.run_id.as_str(), w.step_id.as_str(), w.status), ("a1", "s001", StepStatus::Done));

    // a3: a newer write whose outcome never came back.
    j.create_run(&new_run("a3", "contoso", Mode::Apply, 40)).expect("a3");
    j.record_step(&step("a3", "s005", "disable_account", "u-1")).expect("step");
    j.record_intent("a3", "s005").expect("intent");
    let w = j.last_write("contoso", "u-1", "disable_account").expect("lw").expect("found");
    assert_eq!((w.run_id.as_str(), w.step_id.as_str(), w.status), ("a3", "s005", StepStatus::Running));
    assert_eq!(w.outcome_at, None);
    let a1_intent = j.get_run("a1").expect("get").expect("a1").steps[0].intent_at.expect("intent");
    assert!(w.intent_at >= a1_intent);

    let other = j.last_write("fabrikam", "u-1", "disable_account").expect("lw").expect("found");
    assert_eq!(other.run_id, "f1");
    assert!(j.last_write("contoso", "u-3", "disable_account").expect("lw").is_none());
}

pub(super) fn lock_is_exclusive_per_tenant_and_case_insensitive_user(j: &dyn Journal) {
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("r1");
    j.create_run(&new_run("r2", "contoso", Mode::Apply, 1)).expect("r2");
    let me = std::process::id();
    // Another live process (where no portable call names one, any other pid: SQLite then
    // assumes every holder alive, and PostgreSQL never looks at pids).
    #[cfg(unix)]
    let parent = std::os::unix::process::parent_id();
    #[cfg(not(unix))]
    let parent = me + 1;
    assert_ne!(me, parent);

    assert_eq!(j.acquire_lock("contoso", "Jane.Doe@Contoso.com", "r1", me).expect("first"), LockOutcome::Acquired);
    // Same run again: still ours.
    assert_eq!(j.acquire_lock("contoso", "jane.doe@contoso.com", "r1", me).expect("again"), LockOutcome::Acquired);
    // Another live process, same user in another case.
    assert_eq!(
        j.acquire_lock("contoso", "JANE.DOE@CONTOSO.COM", "r2", parent).expect("second"),
        LockOutcome::HeldBy { run_id: "r1".to_string(), pid: me }
    );
    // A live holder keeps the lock against another run even from the same pid.
    assert_eq!(
        j.acquire_lock("contoso", "jane.doe@contoso.com", "r2", me).expect("same pid"),
        LockOutcome::HeldBy { run_id: "r1".to_string(), pid: me }
    );
    // Tenants compare exactly: another tenant (or another case of it) is another lock.
    assert_eq!(j.acquire_lock("Contoso", "jane.doe@contoso.com", "r2", parent).expect("other tenant"), LockOutcome::Acquired);
    assert_eq!(j.acquire_lock("contoso", "john@contoso.com", "r2", parent).expect("other user"), LockOutcome::Acquired);

    // Release by the wrong run does nothing.
    j.release_lock("contoso", "jane.doe@contoso.com", "r2").expect("wrong release");
    assert_eq!(
        j.acquire_lock("contoso", "jane.doe@contoso.com", "r2", parent).expect("still held"),
        LockOutcome::HeldBy { run_id: "r1".to_string(), pid: me }
    );
    // Release by the holder frees it.
    j.release_lock("contoso", "JANE.DOE@contoso.com", "r1").expect("release");
    assert_eq!(j.acquire_lock("contoso", "jane.doe@contoso.com", "r2", parent).expect("free"), LockOutcome::Acquired);
    // r1 was released, not taken over: its stored status is untouched, so holding the lock again
    // it reads as running (a run recorded as interrupted would stay so).
    j.release_lock("contoso", "jane.doe@contoso.com", "r2").expect("release r2");
    assert_eq!(j.acquire_lock("contoso", "jane.doe@contoso.com", "r1", me).expect("r1 again"), LockOutcome::Acquired);
    assert_eq!(j.get_run("r1").expect("get").expect("exists").summary.status, RunStatus::Running);
}

pub(super) fn running_run_reads_as_running_only_while_its_lock_is_held_by_a_live_pid(j: &dyn Journal) {
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create");
    let d = j.get_run("r1").expect("get").expect("exists");
    assert_eq!(d.summary.status, RunStatus::Interrupted, "no lock: reported interrupted");
    assert_eq!(d.report, Value::Null);
    assert_eq!(d.summary.finished_at, None);

    let me = std::process::id();
    assert_eq!(j.acquire_lock("contoso", "jane.doe@contoso.com", "r1", me).expect("lock"), LockOutcome::Acquired);
    assert_eq!(j.get_run("r1").expect("get").expect("exists").summary.status, RunStatus::Running);
    assert_eq!(j.list_runs(10).expect("list")[0].status, RunStatus::Running);

    // The first read did not record the interruption: with the lock, the run reads as running.
}
