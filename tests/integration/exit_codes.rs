//! Every exit code in the table in `src/error.rs` is produced by some scenario.
//! (Codes 0, 2, 3, 4, 6, 7 and 9 are also covered with more detail in the other modules; 10 in tests/ad.rs.)

use std::collections::BTreeMap;

use crate::helpers::*;

/// The codes the table documents.
fn documented() -> Vec<i32> {
    let src = include_str!("../../src/error.rs");
    src.lines().filter_map(|l| l.strip_prefix("//! | ")).filter_map(|l| l.split(" |").next()?.trim().parse().ok()).collect()
}

/// Every send of the (non-idempotent) password reset gets a 503: read back shows it did not land,
/// it is sent again, up to 3 times, then fails. The required lock phase fails: exit 1.
fn one_when_a_step_fails(home: &Home) -> i32 {
    let o = home
        .cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"])
        .env("OFFBOARD_DEMO_FAULT_EVERY", "1")
        .env("OFFBOARD_DEMO_FAULT_MATCH", "passwordProfile")
        .env("OFFBOARD_DEMO_RETRY_BASE_MS", "10")
        .run();
    let r = o.json();
    assert_eq!(status_of(&r, "reset_password", CLOUD), "failed", "{r:#}");
    assert_eq!(r["error"]["code"], "required_step_failed", "{r:#}");
    // Nothing after the required phase ran.
    assert!(!steps(&r).iter().any(|s| s["phase"] == "cleanup"));
    o.code
}

fn unreachable_tenant(home: &Home) -> i32 {
    let cfg = home.write(
        "unreachable.toml",
        "[tenants.far]\ndirectory = \"cloud\"\n[tenants.far.graph]\ntenant_id = \"6f1c2a9e-4b7d-4c1e-9a53-2d8e0b7c4a10\"\n\
         client_id = \"x\"\nclient_secret_env = \"FAR_SECRET\"\nbase_url = \"http://127.0.0.1:9/v1.0\"\n\
         token_url = \"http://127.0.0.1:9/token\"\nmax_retries = 0\ntimeout_secs = 5\n",
    );
    let o =
        home.cmd(["plan", "default.rhai", "--user", CLOUD, "--config", cfg.to_str().unwrap()]).env("FAR_SECRET", "s3cret-far-away").run();
    assert!(o.stderr.contains("tenant 'far'"), "{}", o.stderr);
    assert!(!o.stderr.contains("s3cret-far-away"));
    o.code
}

fn unwritable_home() -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let o = Cmd::new(dir.path(), ["runs", "list"]).env("OFFBOARD_HOME", &file).run();
    assert!(o.stderr.contains("error"), "{}", o.stderr);
    o.code
}

fn locked() -> i32 {
    // Covered in full by interrupted::a_live_run_holds_the_lock_exit_7.
    let home = Home::new();
    let mut child = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes"]).env("OFFBOARD_DEMO_LATENCY_MS", "300").spawn();
    let start = std::time::Instant::now();
    loop {
        let o = home.cmd(["runs", "list", "--json"]).run();
        if o.code == 0 && o.json().as_array().is_some_and(|a| a.iter().any(|r| r["status"] == "running")) {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let code = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes"]).run().code;
    let _ = child.wait();
    code
}

#[test]
fn every_documented_exit_code_is_produced() {
    let table = documented();
    assert_eq!(table, (0..=10).collect::<Vec<_>>(), "the exit-code table changed: update this test");
    let mut seen: BTreeMap<i32, &str> = BTreeMap::new();
    let mut check = |want: i32, got: i32, what: &'static str| {
        assert_eq!(got, want, "{what}");
        seen.insert(got, what);
    };

    let home = Home::new();
    check(0, home.plan(CLOUD).0, "plan");
    check(2, home.cmd(["plan", "default.rhai", "--user", "not an email"]).run().code, "malformed user");
    check(2, home.cmd(["plan"]).run().code, "missing arguments (clap)");
    let bad = home.write("scripts/loop.rhai", "loop {}");
    check(3, home.cmd(["plan", bad.to_str().unwrap(), "--user", CLOUD]).run().code, "endless loop");
    check(4, home.plan("nobody@contoso.test").0, "unknown user");
    check(6, home.cmd(["run", "default.rhai", "--user", CLOUD]).run().code, "not confirmed");
    assert_eq!(home.stats().writes, 0);

    check(1, one_when_a_step_fails(&Home::new()), "failed required step");
    check(5, unreachable_tenant(&Home::new()), "unreachable tenant");
    check(7, locked(), "locked");
    check(8, unwritable_home(), "unwritable OFFBOARD_HOME");
    check(9, Home::new().plan(ids::LEAVER_ADMIN_UPN).0, "protected account (a Global Administrator)");

    // 10 (a synced user whose AD account does not match) needs an AD: produced in tests/ad.rs,
    // hybrid_synced_user_is_matched_by_immutable_id_and_a_mismatch_exits_10.
    let without_ad: Vec<i32> = table.iter().copied().filter(|c| *c != 10).collect();
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), without_ad, "{seen:?}");
}
