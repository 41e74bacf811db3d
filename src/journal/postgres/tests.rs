//! What only the PostgreSQL journal has: several journals (processes, machines) on one database,
//! session-based takeover and fencing, and the sync bridge on the runtimes the callers use. The
//! behaviour both back ends share is `journal::suite`. Skipped without a test database, failed
//! without one under `OFFBOARD_TEST_PG_REQUIRED=1` (see `suite.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use super::*;
use crate::journal::suite::outbox::pending_schedule;
use crate::journal::suite::runs::{new_run, step};
use crate::journal::suite::{fresh_schema, pg_journal, pg_journal_in};

impl PgJournal {
    /// Run one statement of a test's own (to age a session, read a stored column).
    fn exec(&self, sql: &'static str, arg: &str) -> u64 {
        let (pool, arg) = (self.pool(), arg.to_string());
        self.call("test statement", async move { Ok(sqlx::query(sql).bind(arg).execute(&pool).await?.rows_affected()) })
            .expect("test statement")
    }

    fn stored_status(&self, run_id: &str) -> String {
        let (pool, id) = (self.pool(), run_id.to_string());
        self.call(
            "test read",
            async move { sqlx::query_scalar("SELECT status FROM runs WHERE run_id = $1").bind(id).fetch_one(&pool).await },
        )
        .expect("stored status")
    }
}

/// Two journals on one database (two workers), each with threads racing for the same user's
/// lock: never two holders at once, and both journals get it at some point.
#[test]
fn two_journals_never_both_hold_one_users_lock() {
    let schema = fresh_schema();
    let Some(a) = pg_journal_in(&schema) else { return };
    let b = pg_journal_in(&schema).expect("second journal");
    let journals: Vec<Arc<PgJournal>> = vec![Arc::new(a), Arc::new(b)];
    for (j, journal) in journals.iter().enumerate() {
        for t in 0..3 {
            journal.create_run(&new_run(&format!("r{j}{t}"), "contoso", Mode::Apply, 0)).expect("run");
        }
    }
    let holders = Arc::new(AtomicUsize::new(0));
    let wins: Arc<Vec<AtomicUsize>> = Arc::new((0..2).map(|_| AtomicUsize::new(0)).collect());
    let threads: Vec<_> = (0..6)
        .map(|n| {
            let (journal, holders, wins) = (journals[n % 2].clone(), holders.clone(), wins.clone());
            let run = format!("r{}{}", n % 2, n / 2);
            std::thread::spawn(move || {
                for _ in 0..30 {
                    match journal.acquire_lock("contoso", "Jane@Contoso.com", &run, 1000 + n as u32).expect("acquire") {
                        LockOutcome::Acquired => {
                            assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "{run} got the lock while another run held it");
                            wins[n % 2].fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            holders.fetch_sub(1, Ordering::SeqCst);
                            journal.release_lock("contoso", "jane@contoso.com", &run).expect("release");
                        }
                        LockOutcome::HeldBy { run_id, .. } => assert_ne!(run_id, run, "held by itself means acquired"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let wins: Vec<usize> = wins.iter().map(|w| w.load(Ordering::SeqCst)).collect();
    assert!(wins.iter().all(|&w| w > 0), "both journals took the lock at some point: {wins:?}");
}

/// Two workers claiming the same due schedule at the same moment: exactly one wins, 20 times.
#[test]
fn of_two_claims_of_one_schedule_exactly_one_wins() {
    let schema = fresh_schema();
    let Some(a) = pg_journal_in(&schema) else { return };
    let b = pg_journal_in(&schema).expect("second journal");
    let journals = [Arc::new(a), Arc::new(b)];
    let now = Utc::now();
    for i in 0..20 {
        let id = format!("sched{i}");
        journals[0].create_run(&new_run(&id, "contoso", Mode::Plan, 0)).expect("plan run");
        journals[0].work_add(&pending_schedule(&id, now)).expect("schedule");
    }
    assert_eq!(journals[1].work_due(now).expect("due").len(), 20);
    for i in 0..20 {
        let barrier = Arc::new(Barrier::new(2));
        let claims: Vec<_> = (0..2)
            .map(|w| {
                let (j, barrier, id) = (journals[w].clone(), barrier.clone(), format!("sched{i}"));
                std::thread::spawn(move || {
                    barrier.wait();
                    j.work_claim(&id, &format!("worker{w}"), now, now + chrono::Duration::seconds(60)).expect("claim")
                })
            })
            .collect();
        let won: Vec<bool> = claims.into_iter().map(|c| c.join().expect("thread")).collect();
        assert_eq!(won.iter().filter(|w| **w).count(), 1, "schedule {i}: {won:?}");
        let item = journals[0].work_get(&format!("sched{i}")).expect("get").expect("item");
        let winner = format!("worker{}", won.iter().position(|w| *w).expect("a winner"));
        assert_eq!((item.status.as_str(), item.claimed_by.as_deref()), ("running", Some(winner.as_str())));
    }
    assert!(journals[0].work_due(now).expect("due").is_empty(), "all claimed, leases running");
}

/// "Gone" across machines: a holder whose session ended (closed journal) or stopped beating (a
/// machine that died) is taken over and its run marked interrupted; a live one keeps the lock.
/// A worker that was only cut off finds its run fenced: no new intent.
#[test]
fn a_gone_session_is_taken_over_and_its_run_fenced() {
    let schema = fresh_schema();
    let Some(a) = pg_journal_in(&schema) else { return };
    let b = pg_journal_in(&schema).expect("second journal");
    for id in ["a1", "b1", "b2"] {
        b.create_run(&new_run(id, "contoso", Mode::Apply, 0)).expect("run");
    }
    b.record_step(&step("a1", "s001", "disable_account", "u-1")).expect("step");
    assert_eq!(a.acquire_lock("contoso", "jane@contoso.com", "a1", 11).expect("a"), LockOutcome::Acquired);
    assert_eq!(b.get_run("a1").expect("get").expect("a1").summary.status, RunStatus::Running, "a's session beats");
    assert_eq!(
        b.acquire_lock("contoso", "jane@contoso.com", "b1", 22).expect("b"),
        LockOutcome::HeldBy { run_id: "a1".into(), pid: 11 },
        "a live session keeps its lock whatever the pid"
    );

    // a's machine stops beating: once its heartbeat is older than the TTL it is gone.
    a.exec("UPDATE journal_sessions SET heartbeat_at = now() - interval '1 hour' WHERE session_id = $1", &a.session);
    assert_eq!(b.get_run("a1").expect("get").expect("a1").summary.status, RunStatus::Interrupted);
    assert_eq!(b.acquire_lock("contoso", "jane@contoso.com", "b1", 22).expect("takeover"), LockOutcome::Acquired);
    assert_eq!(b.stored_status("a1"), "interrupted", "the takeover records the interruption");
    let e = a.record_intent("a1", "s001").expect_err("a's run is fenced");
    assert!(e.to_string().contains("taken over"), "{e}");
    let e = a.record_intents("a1", &["s001".into()]).expect_err("a's wave is fenced too");
    assert!(e.to_string().contains("taken over"), "{e}");

    // A journal that is closed ends its session: its lock is free at once, not after the TTL.
    assert_eq!(b.acquire_lock("contoso", "bob@contoso.com", "b1", 22).expect("b bob"), LockOutcome::Acquired);
    drop(b);
    let c = pg_journal_in(&schema).expect("third journal");
    assert_eq!(c.acquire_lock("contoso", "bob@contoso.com", "b2", 33).expect("after close"), LockOutcome::Acquired);
    assert_eq!(c.stored_status("b1"), "interrupted");
}

/// The sync bridge on the runtime `#[tokio::test]` uses (current-thread), where
/// `block_in_place` would panic: calls work, and dropping the journal inside the runtime too.
#[tokio::test]
async fn works_from_a_current_thread_runtime_and_drops_inside_it() {
    let Some(j) = pg_journal() else { return };
    j.create_run(&new_run("r1", "contoso", Mode::Apply, 0)).expect("create");
    j.record_step(&step("r1", "s001", "disable_account", "u-1")).expect("step");
    j.record_intent("r1", "s001").expect("intent");
    tokio::task::yield_now().await;
    assert_eq!(j.get_run("r1").expect("get").expect("r1").steps[0].step.status, StepStatus::Running);
    drop(j);
}

/// Reopening applies nothing twice; the tables are the ones the migration names.
#[test]
fn migrations_apply_once() {
    let schema = fresh_schema();
    let Some(a) = pg_journal_in(&schema) else { return };
    a.create_run(&new_run("r1", "contoso", Mode::Plan, 0)).expect("create");
    drop(a);
    let b = pg_journal_in(&schema).expect("reopen");
    let (pool, s) = (b.pool(), schema.clone());
    let (applied, tables): (i64, Vec<String>) = b
        .call("test read", async move {
            let applied = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(&pool).await?;
            let tables =
                sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name")
                    .bind(s)
                    .fetch_all(&pool)
                    .await?;
            Ok((applied, tables))
        })
        .expect("read");
    assert_eq!(applied, MIGRATOR.iter().count() as i64);
    assert_eq!(
        tables,
        [
            "_sqlx_migrations",
            "audit",
            "console_sessions",
            "journal_sessions",
            "lane_pacer",
            "locks",
            "psa_outbox",
            "request_keys",
            "runs",
            "steps",
            "workflow"
        ]
    );
    assert_eq!(b.list_runs(5).expect("list").len(), 1);
}
