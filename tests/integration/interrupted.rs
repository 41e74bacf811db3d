//! A run killed mid-way: the next run takes the lock over and finishes, each write done once.

use std::time::{Duration, Instant};

use crate::helpers::*;

fn state_if_readable(home: &Home) -> Option<serde_json::Value> {
    let bytes = std::fs::read(home.state_path()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[test]
fn killed_run_is_finished_by_the_next_with_each_write_once() {
    let home = Home::new();
    let mut child = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"]).env("OFFBOARD_DEMO_LATENCY_MS", "150").spawn();
    // Kill it once the lock phase has landed (account blocked), well before the end.
    let start = Instant::now();
    loop {
        if let Some(s) = state_if_readable(&home) {
            if user_in(&s, ids::LEAVER_CLOUD_ID)["accountEnabled"] == false {
                break;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        assert!(start.elapsed() < Duration::from_secs(20), "the lock phase never landed");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mid = home.state();
    // Mid-run: the cleanup and licence phases had not all landed.
    let u = user_in(&mid, ids::LEAVER_CLOUD_ID);
    let rest_pending =
        !u["managerId"].is_null() || group_members_in(&mid, ids::GROUP_VISIO_LICENCE).contains(&ids::LEAVER_CLOUD_ID.to_string());
    assert!(rest_pending, "the run was not killed mid-way");

    let runs = home.runs();
    assert_eq!(runs.len(), 1);
    let first = runs[0]["run_id"].as_str().unwrap().to_string();
    assert!(runs[0]["status"] == "interrupted" || runs[0]["status"] == "running", "{:#}", runs[0]);

    // Re-run without latency: not refused by the dead process's lock.
    let (code, r) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["status"], "succeeded");
    for s in steps(&r) {
        assert!(["done", "already_done", "skipped", "needs_action"].contains(&s["status"].as_str().unwrap()), "{s}");
    }
    assert!(steps(&r).iter().any(|s| s["status"] == "already_done"), "nothing was already done: {r:#}");
    assert_cloud_offboarded(&home.state(), &seed_state());

    let runs = home.runs();
    assert_eq!(runs.len(), 2);
    let first_now = runs.iter().find(|x| x["run_id"] == first.as_str()).unwrap();
    assert_eq!(first_now["status"], "interrupted", "{first_now:#}");
    let detail = home.run_detail(&first);
    assert_eq!(detail["status"], "interrupted");
    let second = runs.iter().find(|x| x["run_id"] != first.as_str()).unwrap();
    assert_eq!(second["status"], "succeeded");

    // Together the two runs applied what one clean run applies.
    let clean = Home::new();
    assert_eq!(clean.apply(CLOUD).0, 0);
    let clean_applied = clean.stats().writes_applied;
    assert_eq!(clean_applied, CLEAN_WRITES);
    assert_eq!(home.stats().writes_applied, clean_applied, "{:?}", home.stats());
    assert_rerun_sends_nothing(&home, CLOUD);
}

#[test]
fn a_live_run_holds_the_lock_exit_7() {
    let home = Home::new();
    let mut child = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"]).env("OFFBOARD_DEMO_LATENCY_MS", "300").spawn();
    let start = Instant::now();
    // Wait until the first run has the lock (its run is in the journal as running).
    loop {
        let o = home.cmd(["runs", "list", "--json"]).run();
        if o.code == 0 && o.json().as_array().is_some_and(|a| a.iter().any(|r| r["status"] == "running")) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "first run ended too soon");
        assert!(start.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes"]).run();
    let first = child.wait_with_output().unwrap();
    assert_eq!(o.code, 7, "stdout {}\nstderr {}", o.stdout, o.stderr);
    assert!(o.stderr.contains("already offboarding"), "{}", o.stderr);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
}
