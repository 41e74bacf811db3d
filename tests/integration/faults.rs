//! Throttling, 503s and hanging writes are survived; nothing is lost or applied twice.

use crate::helpers::*;

fn apply_with(home: &Home, env: &[(&str, &str)], extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["run", "default.rhai", "--user", CLOUD, "--yes", "--json"];
    args.extend_from_slice(extra);
    let mut cmd = home.cmd(args);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let o = cmd.run();
    (o.code, o.json())
}

fn assert_all_done(r: &serde_json::Value) {
    assert_eq!(r["status"], "succeeded", "{r:#}");
    assert_eq!(steps(r).iter().filter(|s| s["status"] == "done").count(), CLEAN_DONE, "{r:#}");
    let waited = |s: &serde_json::Value| s["action"] == "wait_for_shared_mailbox" && s["status"] == "already_done";
    assert!(
        steps(r).iter().all(|s| s["status"] == "done" || s["status"] == "skipped" || s["status"] == "needs_action" || waited(s)),
        "{r:#}"
    );
}

#[test]
fn throttling_is_survived() {
    let home = Home::new();
    let (code, r) = apply_with(&home, &[("OFFBOARD_DEMO_THROTTLE_EVERY", "3"), ("OFFBOARD_DEMO_RETRY_AFTER", "0")], &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_all_done(&r);
    assert!(r["stats"]["throttled"].as_u64().unwrap() > 0, "{r:#}");
    let stats = home.stats();
    assert!(stats.throttled > 0);
    assert_eq!(stats.writes_applied, CLEAN_WRITES, "{stats:?}");
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_rerun_sends_nothing(&home, CLOUD);
}

#[test]
fn service_unavailable_is_survived() {
    // FAULT_EVERY=4 lines up with the 4-operation cycle "write + read back (3 reads)" and makes
    // every re-send of reset_password fail (see exit_codes::one_when_a_step_fails); 5 does not.
    let home = Home::new();
    let pw = home.path().join("passwords.txt");
    let (code, r) = apply_with(
        &home,
        &[
            ("OFFBOARD_DEMO_FAULT_EVERY", "5"),
            ("OFFBOARD_DEMO_RETRY_BASE_MS", "10"),
            ("OFFBOARD_DEMO_RECORD_PASSWORDS", pw.to_str().unwrap()),
        ],
        &[],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_all_done(&r);
    let stats = home.stats();
    assert!(stats.faults > 0, "{stats:?}");
    assert!(r["stats"]["retries"].as_u64().unwrap() > 0);
    assert_eq!(stats.writes_applied, CLEAN_WRITES, "{stats:?}");
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_rerun_sends_nothing(&home, CLOUD);
}

#[test]
fn service_unavailable_is_survived_one_call_at_a_time() {
    let home = Home::new();
    let (code, r) =
        apply_with(&home, &[("OFFBOARD_DEMO_FAULT_EVERY", "3"), ("OFFBOARD_DEMO_RETRY_BASE_MS", "10")], &["--concurrency", "1"]);
    assert_eq!(code, 0, "{r:#}");
    assert_all_done(&r);
    assert!(home.stats().faults > 0);
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES);
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_rerun_sends_nothing(&home, CLOUD);
}

const HANG: [(&str, &str); 3] =
    [("OFFBOARD_DEMO_HANG_MS", "2000"), ("OFFBOARD_DEMO_CLIENT_TIMEOUT_MS", "500"), ("OFFBOARD_DEMO_RETRY_BASE_MS", "10")];

#[test]
fn hanging_password_write_is_read_back_not_resent() {
    // The reset_password PATCH is applied, its answer is held back past the client timeout, and
    // the executor reads back instead of re-sending.
    let home = Home::new();
    let pw = home.path().join("passwords.txt");
    let mut env = HANG.to_vec();
    env.push(("OFFBOARD_DEMO_HANG_EVERY", "1"));
    env.push(("OFFBOARD_DEMO_FAULT_MATCH", "passwordProfile"));
    env.push(("OFFBOARD_DEMO_RECORD_PASSWORDS", pw.to_str().unwrap()));
    let (code, r) = apply_with(&home, &env, &["--concurrency", "1"]);
    assert_eq!(code, 0, "{r:#}");
    assert_all_done(&r);
    let reset = step(&r, "reset_password", CLOUD);
    assert!(reset["detail"].as_str().unwrap().contains("confirmed by reading back"), "{reset}");
    assert_eq!(recorded_passwords(&pw).len(), 1, "the password was set more than once");
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES);
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_rerun_sends_nothing(&home, CLOUD);
    assert_eq!(recorded_passwords(&pw).len(), 1);
}

#[test]
fn hanging_batched_writes_are_applied_once() {
    let home = Home::new();
    let pw = home.path().join("passwords.txt");
    let mut env = HANG.to_vec();
    // Every second DELETE (the group removals travel in one batch with the other writes of their
    // wave) is applied and its answer held back: the whole batch times out. Only writes: a hung
    // read would hang its whole batch again on every retry when each batch holds a multiple of
    // the count (the reads of a resolve do).
    env.push(("OFFBOARD_DEMO_HANG_EVERY", "2"));
    env.push(("OFFBOARD_DEMO_FAULT_MATCH", "DELETE"));
    env.push(("OFFBOARD_DEMO_RECORD_PASSWORDS", pw.to_str().unwrap()));
    let (code, r) = apply_with(&home, &env, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_all_done(&r);
    assert!(r["stats"]["retries"].as_u64().unwrap() > 0, "no write timed out: {r:#}");
    // Idempotent writes may be re-sent after a timeout; the one that is not (the password) is not.
    assert_eq!(recorded_passwords(&pw).len(), 1);
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_rerun_sends_nothing(&home, CLOUD);
}
