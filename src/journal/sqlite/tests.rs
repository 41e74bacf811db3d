//! Tests of what only the SQLite journal has: its file (persistence, pragmas, a removed or
//! replaced file), sharing one file between handles, pid-based takeover and its migrations. The
//! rest of the journal's behaviour is the suite every back end runs (`journal::suite`).

use super::*;
use crate::journal::suite::runs::{at, new_run, step};
use serde_json::json;
use std::collections::BTreeMap;

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("dir").join("journal.db");
    (dir, path)
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
    assert_eq!(version, 8);
    let tables: Vec<String> = {
        let conn = j2.conn();
        let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").expect("prepare");
        let rows = st.query_map([], |r| r.get(0)).expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    };
    assert_eq!(tables, ["audit", "console_sessions", "locks", "psa_outbox", "request_keys", "runs", "steps", "workflow"]);
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
