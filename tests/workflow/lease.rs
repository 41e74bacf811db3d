//! A worker killed mid-run: its item stays visible, is taken over once its lease runs out (each
//! write at most once), or can be cancelled.

use super::*;

/// Schedule the cloud leaver, start a slow worker at `now`, kill it once the account is
/// blocked (well before the end of the run). Returns the item's id.
fn kill_worker_mid_run(home: &Home, now: &str) -> String {
    let id = schedule_cloud_leaver(home);
    let child = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", now).env("OFFBOARD_DEMO_LATENCY_MS", "150").spawn();
    kill_once_blocked(home, child, "worker");
    id
}

fn listed(home: &Home, now: &str) -> Vec<Value> {
    let o = home.cmd(["schedule", "list", "--json"]).env("OFFBOARD_NOW", now).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.json().as_array().unwrap().clone()
}

#[test]
fn a_dead_workers_item_is_taken_over_once_its_lease_runs_out() {
    let home = Home::new();
    let id = kill_worker_mid_run(&home, &later(2));
    // Shown (not hidden as finished), still running.
    let l = listed(&home, &later(2));
    assert_eq!((l.len(), l[0]["status"].as_str()), (1, Some("running")), "{l:?}");
    // While the lease may still be renewed, no other worker touches it.
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).run();
    assert!(o.json()["runs"].as_array().unwrap().is_empty(), "{}", o.stdout);
    // Once it ran out: taken over and finished, every write sent once over both workers.
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(3)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0]["id"].as_str(), runs[0]["status"].as_str()), (Some(id.as_str()), Some("done")));
    assert!(runs[0]["note"].as_str().unwrap().contains("taken over"), "{runs:?}");
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(48)).run();
    assert!(o.json()["runs"].as_array().unwrap().is_empty(), "{}", o.stdout);
    assert!(listed(&home, &later(48)).is_empty());
}

#[test]
fn a_dead_workers_item_can_be_cancelled() {
    let home = Home::new();
    let id = kill_worker_mid_run(&home, &later(2));
    // Its worker might still be alive: not yet.
    let o = home.cmd(["schedule", "cancel", &id]).env("OFFBOARD_NOW", later(2)).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    let o = home.cmd(["schedule", "cancel", &id]).env("OFFBOARD_NOW", later(3)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let writes = home.stats().writes;
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(4)).run();
    assert!(o.json()["runs"].as_array().unwrap().is_empty(), "{}", o.stdout);
    assert_eq!(home.stats().writes, writes);
    assert_eq!(schedules(&home)[0]["status"], "cancelled");
}

#[test]
fn a_worker_that_died_after_its_run_succeeded_is_not_run_again() {
    let home = Home::new();
    let id = schedule_cloud_leaver(&home);
    // The run succeeds; the worker dies before it marks the item done.
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).env("OFFBOARD_TEST_DIE_BEFORE_ITEM_DONE", "1").run();
    assert_eq!(o.code, 137, "{}", o.stderr);
    assert_cloud_offboarded(&home.state(), &seed_state());
    let l = listed(&home, &later(2));
    assert_eq!(l[0]["status"], "running", "{l:?}");
    let applies = |home: &Home| apply_runs(home, CLOUD).iter().map(|r| r["run_id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let before = applies(&home);
    assert_eq!(before.len(), 1, "{before:?}");
    // Taken over: the item is done with the dead worker's run, and no second apply starts.
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(3)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0]["id"].as_str(), runs[0]["status"].as_str()), (Some(id.as_str()), Some("done")), "{runs:?}");
    assert_eq!(runs[0]["run_id"].as_str(), Some(before[0].as_str()), "{runs:?}");
    assert!(runs[0]["note"].as_str().unwrap().contains("had already succeeded: not run again"), "{runs:?}");
    assert_eq!(applies(&home), before, "a second apply run was journalled");
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
    let item = &schedules(&home)[0];
    assert_eq!((item["status"].as_str(), item["applied_run_id"].as_str()), (Some("done"), Some(before[0].as_str())), "{item}");
}
