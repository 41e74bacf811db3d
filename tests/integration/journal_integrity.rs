//! A journal that goes away or stays busy mid-run: the run stops with exit 8 (journal), before
//! its next write, instead of succeeding into a file nobody reads (or reporting a tenant error).

use std::process::Child;
use std::time::{Duration, Instant};

use crate::helpers::*;

/// Start a slow apply and wait until its lock phase has landed (the account is blocked). The
/// answer to the lock's writes is held back a while after they landed, so the test acts before
/// the run records their outcome (the run reads ahead, so nothing else slows it down there).
fn slow_run_past_the_lock_phase(home: &Home) -> Child {
    let mut child = home
        .cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"])
        .env("OFFBOARD_DEMO_LATENCY_MS", "150")
        .env("OFFBOARD_DEMO_HANG_EVERY", "1")
        .env("OFFBOARD_DEMO_HANG_MS", "1000")
        .env("OFFBOARD_DEMO_FAULT_MATCH", "accountEnabled")
        .spawn();
    let start = Instant::now();
    loop {
        let blocked = std::fs::read(home.state_path())
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|s| user_in(&s, ids::LEAVER_CLOUD_ID)["accountEnabled"] == false);
        if blocked {
            return child;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run finished before the test could act");
        assert!(start.elapsed() < Duration::from_secs(30), "the lock phase never landed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn the_rest_did_not_land(home: &Home) {
    let u = user_in(&home.state(), ids::LEAVER_CLOUD_ID);
    assert!(!u["managerId"].is_null(), "the run went on writing to the end");
}

#[test]
fn a_journal_removed_mid_run_stops_it_with_exit_8() {
    let home = Home::new();
    let child = slow_run_past_the_lock_phase(&home);
    std::fs::remove_file(home.journal_path()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(stderr.contains("removed"), "{stderr}");
    the_rest_did_not_land(&home);
}

#[test]
fn a_journal_busy_mid_run_is_exit_8_not_5() {
    let home = Home::new();
    let child = slow_run_past_the_lock_phase(&home);
    // Another process holds the write lock longer than the run's busy timeout (5 s),
    // then lets go: the run's next write fails, and the run can still record that it stopped.
    let db = rusqlite::Connection::open(home.journal_path()).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    std::thread::sleep(Duration::from_secs(8));
    db.execute_batch("ROLLBACK").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    the_rest_did_not_land(&home);
}
