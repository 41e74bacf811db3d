//! Tests of the SQLite journal: lifecycle, upsert rules, errors, `last_write`, persistence,
//! sharing between handles, the writer lock and migrations.

use super::*;
use chrono::TimeZone;
use serde_json::json;
use std::collections::BTreeMap;

fn at(secs: i64, micros: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + secs, micros * 1000).single().expect("valid timestamp")
}

fn new_run(run_id: &str, tenant: &str, mode: Mode, started_secs: i64) -> NewRun {
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

fn step(run_id: &str, step_id: &str, action: &str, target_id: &str) -> StepRecord {
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

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("dir").join("journal.db");
    (dir, path)
}

#[test]
fn full_lifecycle_round_trips_everything_in_order() {
    let j = SqliteJournal::open_in_memory().expect("open");
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

#[test]
fn running_run_reads_as_running_only_while_its_lock_is_held_by_a_live_pid() {
    let j = SqliteJournal::open_in_memory().expect("open");
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create");
    let d = j.get_run("r1").expect("get").expect("exists");
    assert_eq!(d.summary.status, RunStatus::Interrupted, "no lock: reported interrupted");
    assert_eq!(d.report, Value::Null);
    assert_eq!(d.summary.finished_at, None);

    let me = std::process::id();
    assert_eq!(j.acquire_lock("contoso", "jane.doe@contoso.com", "r1", me).expect("lock"), LockOutcome::Acquired);
    assert_eq!(j.get_run("r1").expect("get").expect("exists").summary.status, RunStatus::Running);
    assert_eq!(j.list_runs(10).expect("list")[0].status, RunStatus::Running);

    // The read did not rewrite the table.
    let stored: String = j.conn().query_row("SELECT status FROM runs WHERE run_id = 'r1'", [], |r| r.get(0)).expect("status");
    assert_eq!(stored, "running");
}

#[test]
fn record_step_after_intent_keeps_intent_and_outcome() {
    let j = SqliteJournal::open_in_memory().expect("open");
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

#[test]
fn missing_steps_and_runs_are_reported() {
    let j = SqliteJournal::open_in_memory().expect("open");
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
        Err(JournalError::Storage { path, message }) => {
            assert_eq!(path, ":memory:");
            assert!(message.contains("r1"), "{message}");
        }
        other => panic!("expected Storage, got {other:?}"),
    }
    assert_eq!(j.get_run("r1").expect("get").expect("exists").summary.tenant, "contoso");
}

#[test]
fn list_runs_newest_first_with_step_counts() {
    let j = SqliteJournal::open_in_memory().expect("open");
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

#[test]
fn last_write_finds_the_latest_apply_intent() {
    let j = SqliteJournal::open_in_memory().expect("open");
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

#[test]
fn data_survives_reopening_the_file() {
    let (_dir, path) = temp_db();
    {
        let j = SqliteJournal::open(&path).expect("open");
        j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create");
        j.record_step(&step("r1", "s001", "disable_account", "u-1")).expect("step");
        j.record_intent("r1", "s001").expect("intent");
    }
    assert!(path.exists());
    let j = SqliteJournal::open(&path).expect("reopen");
    let d = j.get_run("r1").expect("get").expect("exists");
    assert_eq!(d.steps.len(), 1);
    assert_eq!(d.steps[0].step.status, StepStatus::Running);
    assert!(d.steps[0].intent_at.is_some());
    let w = j.last_write("contoso", "u-1", "disable_account").expect("lw").expect("found");
    assert_eq!(w.status, StepStatus::Running);

    let mode: String = j.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("journal_mode");
    assert_eq!(mode, "wal");
    let sync: i64 = j.conn().query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("synchronous");
    assert_eq!(sync, 2, "FULL");
    let fk: i64 = j.conn().query_row("PRAGMA foreign_keys", [], |r| r.get(0)).expect("foreign_keys");
    assert_eq!(fk, 1);
}

#[test]
fn two_handles_on_one_file_see_each_others_writes() {
    let (_dir, path) = temp_db();
    let a = SqliteJournal::open(&path).expect("open a");
    let b = SqliteJournal::open(&path).expect("open b");
    a.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create via a");
    b.record_step(&step("r1", "s001", "disable_account", "u-1")).expect("step via b");
    a.record_intent("r1", "s001").expect("intent via a");
    b.record_outcome("r1", "s001", StepStatus::Done, "ok", &json!(true)).expect("outcome via b");
    a.finish_run("r1", RunStatus::Succeeded, &json!({"ok": true})).expect("finish via a");

    let d = b.get_run("r1").expect("get via b").expect("exists");
    assert_eq!(d.summary.status, RunStatus::Succeeded);
    assert_eq!(d.steps[0].step.status, StepStatus::Done);
    assert_eq!(d.steps[0].result, json!(true));
    assert_eq!(a.list_runs(5).expect("list via a")[0].step_counts, BTreeMap::from([("done".to_string(), 1)]));

    // The lock is shared too.
    let me = std::process::id();
    assert_eq!(a.acquire_lock("contoso", "u@x.com", "r1", me).expect("a lock"), LockOutcome::Acquired);
    assert_eq!(b.acquire_lock("contoso", "U@X.COM", "r2", 1).expect("b lock"), LockOutcome::HeldBy { run_id: "r1".to_string(), pid: me });
}

/// A pid that is certainly dead: a child that has exited and been reaped.
#[cfg(target_os = "linux")]
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait");
    assert!(!pid_alive(pid), "reaped child {pid} should be gone");
    pid
}

#[cfg(unix)]
#[test]
fn lock_is_exclusive_per_tenant_and_case_insensitive_user() {
    let j = SqliteJournal::open_in_memory().expect("open");
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("r1");
    j.create_run(&new_run("r2", "contoso", Mode::Apply, 1)).expect("r2");
    let me = std::process::id();
    let parent = std::os::unix::process::parent_id();
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
    // r1 was released, not taken over: its status is untouched.
    let stored: String = j.conn().query_row("SELECT status FROM runs WHERE run_id = 'r1'", [], |r| r.get(0)).expect("status");
    assert_eq!(stored, "running");
}

#[cfg(target_os = "linux")]
#[test]
fn dead_holder_is_taken_over_and_its_run_marked_interrupted() {
    let (_dir, path) = temp_db();
    let j = SqliteJournal::open(&path).expect("open");
    j.create_run(&new_run("crashed", "contoso", Mode::Apply, 0)).expect("crashed");
    j.create_run(&new_run("finished", "contoso", Mode::Apply, 1)).expect("finished");
    j.create_run(&new_run("next", "contoso", Mode::Apply, 2)).expect("next");
    let dead = dead_pid();
    let me = std::process::id();

    assert_eq!(j.acquire_lock("contoso", "jane@contoso.com", "crashed", dead).expect("dead holder"), LockOutcome::Acquired);
    assert_eq!(j.get_run("crashed").expect("get").expect("exists").summary.status, RunStatus::Interrupted);
    assert_eq!(j.acquire_lock("contoso", "jane@contoso.com", "next", me).expect("takeover"), LockOutcome::Acquired);
    let stored: String = j.conn().query_row("SELECT status FROM runs WHERE run_id = 'crashed'", [], |r| r.get(0)).expect("status");
    assert_eq!(stored, "interrupted", "takeover records the interruption");
    let (holder, pid): (String, u32) = j
        .conn()
        .query_row("SELECT run_id, pid FROM locks WHERE tenant = 'contoso' AND user = 'jane@contoso.com'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("lock row");
    assert_eq!((holder.as_str(), pid), ("next", me));
    assert_eq!(j.get_run("next").expect("get").expect("exists").summary.status, RunStatus::Running);

    // A finished run that left its lock behind keeps its status on takeover.
    j.finish_run("finished", RunStatus::Succeeded, &json!({})).expect("finish");
    assert_eq!(j.acquire_lock("contoso", "bob@contoso.com", "finished", dead).expect("stale"), LockOutcome::Acquired);
    assert_eq!(j.acquire_lock("contoso", "bob@contoso.com", "next", me).expect("takeover 2"), LockOutcome::Acquired);
    assert_eq!(j.get_run("finished").expect("get").expect("exists").summary.status, RunStatus::Succeeded);
}

#[test]
fn migrations_are_idempotent() {
    let (_dir, path) = temp_db();
    let j = SqliteJournal::open(&path).expect("open");
    j.create_run(&new_run("r1", "contoso", Mode::Plan, 0)).expect("create");
    drop(j);
    let j = SqliteJournal::open(&path).expect("open again");
    let j2 = SqliteJournal::open(&path).expect("open a third time alongside");
    let version: i64 = j.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    assert_eq!(version, i64::try_from(schema::MIGRATIONS.len()).expect("len"));
    assert_eq!(version, 6);
    let tables: Vec<String> = {
        let conn = j2.conn();
        let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").expect("prepare");
        let rows = st.query_map([], |r| r.get(0)).expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    };
    assert_eq!(tables, ["audit", "locks", "psa_outbox", "runs", "steps", "workflow"]);
    assert_eq!(j2.list_runs(10).expect("list").len(), 1);
}

#[test]
fn newer_schema_is_refused() {
    let (_dir, path) = temp_db();
    drop(SqliteJournal::open(&path).expect("open"));
    {
        let conn = Connection::open(&path).expect("raw open");
        conn.execute_batch("PRAGMA user_version = 99").expect("bump");
    }
    match SqliteJournal::open(&path) {
        Err(JournalError::Storage { path: p, message }) => {
            assert_eq!(p, path.display().to_string());
            assert!(message.contains("99"), "{message}");
        }
        other => panic!("expected Storage error, got {other:?}"),
    }
}

#[test]
fn timestamps_sort_lexicographically() {
    let early = ts(&at(0, 9));
    let late = ts(&at(0, 10));
    assert_eq!(early, "2026-09-21T14:13:20.000009Z");
    assert!(early < late);
    assert!(ts(&at(-1, 999_999)) < early);
}

#[test]
fn a_removed_or_replaced_journal_file_refuses_the_next_write() {
    for replace in [false, true] {
        let (_dir, path) = temp_db();
        let j = SqliteJournal::open(&path).expect("open");
        j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create_run");
        j.record_step(&step("r1", "s001", "disable_account", "u-1")).expect("record_step");
        std::fs::remove_file(&path).expect("remove");
        if replace {
            // Another journal at the same path (a restore, a sync tool): another inode.
            drop(SqliteJournal::open(&path).expect("a new file"));
        }
        let e = j.record_intent("r1", "s001").expect_err("the write must be refused");
        let want = if replace { "replaced" } else { "removed" };
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[test]
fn console_actions_are_kept_newest_first() {
    let (_dir, path) = temp_db();
    let j = SqliteJournal::open(&path).expect("open");
    let event = |action: &str, sub: &str| AuditEvent {
        at: at(9, 0),
        action: action.into(),
        issuer: "https://issuer.test".into(),
        subject: sub.into(),
        email: Some(format!("{sub}@msp.test")),
        detail: serde_json::json!({"roles": {"contoso": ["request"]}}),
    };
    j.record_audit(&event("sign_in", "a")).expect("record");
    j.record_audit(&event("sign_in_refused", "b")).expect("record");
    drop(j);
    let j = SqliteJournal::open(&path).expect("reopen");
    let got = j.audit_events(10).expect("read");
    assert_eq!(got, vec![event("sign_in_refused", "b"), event("sign_in", "a")]);
    assert_eq!(j.audit_events(1).expect("read").len(), 1);
}
