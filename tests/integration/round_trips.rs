//! Issue #15: one cloud offboarding of the leaver near its minimum of sequential round trips, as
//! the simulator counts them (`SimStats::round_trips`, the true critical path; the client's own
//! figures are not the measure). A change that adds a round trip to plan, apply or a re-run with
//! nothing to do fails here.

use offboard_host::demo::ids::LEAVER_CLOUD_UPN;

use crate::helpers::*;

/// The most sequential round trips each run may take (issue #15's targets).
const PLAN_MAX: u64 = 6;
const APPLY_MAX: u64 = 12;
const RERUN_MAX: u64 = 4;

/// Every request is held this long at the server, so requests a client sends together overlap
/// there and count once, as they would against a tenant some distance away.
const LATENCY_MS: &str = "50";

#[test]
fn one_offboarding_takes_few_round_trips() {
    let home = Home::new();
    let run = |args: &[&str]| {
        // No state file yet: the first run seeds the tenant, from zero.
        let before = if home.state_path().exists() { home.stats().round_trips } else { 0 };
        let o = home.cmd(args).env("OFFBOARD_DEMO_LATENCY_MS", LATENCY_MS).run();
        assert_eq!(o.code, 0, "{:?}: {}\n{}", args, o.stdout, o.stderr);
        for l in o.stderr.lines().filter(|l| l.starts_with("TRIP")) {
            eprintln!("{l}");
        }
        eprintln!("----");
        (home.stats().round_trips - before, o.json())
    };
    let (plan, planned) = run(&["plan", "default.rhai", "--user", LEAVER_CLOUD_UPN, "--json"]);
    let (apply, applied) = run(&["run", "default.rhai", "--user", LEAVER_CLOUD_UPN, "--yes", "--json"]);
    let (rerun, again) = run(&["run", "default.rhai", "--user", LEAVER_CLOUD_UPN, "--yes", "--json"]);
    eprintln!("sequential round trips (simulator): plan {plan}, apply {apply}, re-run {rerun}");
    // The figures mean something only if the runs did their work.
    assert!(steps(&planned).iter().any(|s| s["status"] == "planned"), "{planned}");
    assert!(steps(&applied).iter().filter(|s| s["status"] == "done").count() > 10, "{applied}");
    assert!(steps(&again).iter().all(|s| s["status"] != "done"), "{again}");
    assert!(plan <= PLAN_MAX, "plan took {plan} sequential round trips, more than {PLAN_MAX}");
    assert!(apply <= APPLY_MAX, "apply took {apply} sequential round trips, more than {APPLY_MAX}");
    assert!(rerun <= RERUN_MAX, "a re-run took {rerun} sequential round trips, more than {RERUN_MAX}");
    let sim = home.stats();
    assert_eq!(sim.exo_concurrency_refused, 0, "Exchange's concurrency limit was exceeded: {sim:?}");
    assert!(sim.exo_operations > 10, "{sim:?}");
}

/// A bulk of 4 ordinary users runs them side by side, each with its own clients: together they
/// still never have more Exchange requests in flight than Exchange allows.
#[test]
fn a_bulk_stays_under_exchanges_concurrency_limit() {
    let home = Home::new();
    let users = offboard_host::demo::ordinary_users(4);
    assert_eq!(users.len(), 4);
    let file = home.write("leavers.csv", &format!("upn\n{}\n", users.join("\n")));
    let o = home
        .cmd(["run", "default.rhai", "--users-file", file.to_str().unwrap(), "--yes", "--json"])
        .env("OFFBOARD_DEMO_LATENCY_MS", LATENCY_MS)
        .run();
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let sim = home.stats();
    assert!(sim.exo_writes >= 4, "the mailboxes were offboarded: {sim:?}");
    assert_eq!(sim.exo_concurrency_refused, 0, "{sim:?}");
}
