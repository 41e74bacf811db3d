//! What binds an approval: every parameter of every step, the expiry, the policy it was asked
//! under, four eyes; and `run --at` asks like `run` does.

use super::*;

/// Someone else's OS account, as the debug build lets a test play it.
const OTHER: &str = "OFFBOARD_OS_USER";

/// A gated demo tenant with one request (by the OS account "requester") awaiting approval.
fn requested() -> (Home, String) {
    let home = Home::new();
    home.write("offboard-host.toml", APPROVAL);
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--json"]).env(OTHER, "requester").run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    let id = run_id(&o);
    (home, id)
}

fn approve(home: &Home, id: &str) {
    let o = home.cmd(["approve", id, "--by", "bob"]).env(OTHER, "bob").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
}

fn set_manager(home: &Home, manager_id: &str) {
    let mut state = home.state();
    for u in state["users"].as_array_mut().unwrap() {
        if u["id"] == ids::LEAVER_CLOUD_ID {
            u["managerId"] = manager_id.into();
        }
    }
    std::fs::write(home.state_path(), serde_json::to_vec(&state).unwrap()).unwrap();
}

#[test]
fn an_approval_covers_each_parameter_of_each_step() {
    let (home, id) = requested();
    approve(&home, &id);
    // The manager changes after the approval: the FullAccess grant would go to someone else.
    let seed = offboard_host::demo::seed::seed();
    let other =
        seed.users.iter().find(|u| ![ids::MANAGER_ID, ids::LEAVER_CLOUD_ID, ids::LEAVER_SYNCED_ID].contains(&u.id.as_str())).unwrap();
    set_manager(&home, &other.id);
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("grant_mailbox_permission") && o.stderr.contains("new approval"), "{}", o.stderr);
    assert!(o.stderr.contains(ids::MANAGER_UPN) && o.stderr.contains(&other.user_principal_name), "{}", o.stderr);
    assert_eq!(home.stats().writes, 0, "a write was sent");
    assert!(apply_runs(&home, CLOUD).is_empty());
}

#[test]
fn an_approved_request_expires_too() {
    let (home, id) = requested();
    approve(&home, &id);
    let o = home.cmd(["apply", &id, "--yes"]).env("OFFBOARD_NOW", later(25)).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("expired"), "{}", o.stderr);
    // Expired for good, also back at the real time.
    assert_eq!(home.cmd(["apply", &id, "--yes"]).run().code, 6);
    assert_untouched(&home);
}

#[test]
fn an_approval_is_bound_to_the_policy_it_was_asked_under() {
    let (home, id) = requested();
    // Another configuration that names mallory as an approver is another policy.
    let other = home.write("other.toml", &APPROVAL.replace("\"Bob\"", "\"Bob\", \"mallory\""));
    let o = home.cmd(["--config", other.to_str().unwrap(), "approve", &id, "--by", "mallory"]).env(OTHER, "mallory").run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("policy"), "{}", o.stderr);
    approve(&home, &id);
    // Applied under that other configuration, or one without [approval] at all: refused.
    let o = home.cmd(["--config", other.to_str().unwrap(), "apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("policy"), "{}", o.stderr);
    let open = home.write("open.toml", "[tenants.demo]\ndirectory = \"cloud\"\ndemo = true\n");
    let o = home.cmd(["apply", &id, "--yes"]).env("OFFBOARD_CONFIG", &open).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("no [approval]"), "{}", o.stderr);
    assert_untouched(&home);
    // Under the configuration it was asked under, it applies.
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(apply_runs(&home, CLOUD).len(), 1);
}

#[test]
fn the_requester_cannot_approve_their_own_request() {
    let (home, id) = requested();
    // The same OS account, whatever name it gives with --by.
    let o = home.cmd(["approve", &id, "--by", "bob"]).env(OTHER, "requester").run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("someone else"), "{}", o.stderr);
    let o = home.cmd(["approve", &id, "--by", "bob"]).env(OTHER, "bob").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("bob@"), "the approver's OS account is named: {}", o.stdout);
    assert_untouched(&home);
}

#[test]
fn scheduling_asks_for_confirmation_like_run() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    // No terminal and no --yes: nothing scheduled, exit 6.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--at", &later(1)]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert!(schedules(&home).is_empty());
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--at", &later(1), "--yes"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(schedules(&home).len(), 1);
    assert_untouched(&home);
}

/// A request, approved, whose apply is SIGKILLed once the account is blocked.
fn approved_apply_killed_part_way() -> (Home, String) {
    let (home, id) = requested();
    approve(&home, &id);
    let child = home.cmd(["apply", &id, "--yes", "--json"]).env("OFFBOARD_DEMO_LATENCY_MS", "150").spawn();
    kill_once_blocked(&home, child, "apply");
    (home, id)
}

/// An approved apply whose process is killed part-way is not stuck `applying`: the next `apply`
/// continues it (the interrupted run's writes done, the rest exactly as approved), every write
/// once; then the approval is used up.
#[test]
fn an_approved_apply_killed_part_way_is_continued_by_the_next_apply() {
    let (home, id) = approved_apply_killed_part_way();
    let first = apply_runs(&home, CLOUD);
    assert_eq!(first.len(), 1, "{first:?}");
    let o = home.cmd(["apply", &id, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("was interrupted") && o.stderr.contains("continuing it"), "{}", o.stderr);
    assert_eq!(o.json()["status"], "succeeded");
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
    assert_eq!(apply_runs(&home, CLOUD).len(), 2);
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("already applied"), "{}", o.stderr);
}

/// Continuing an interrupted approved apply writes nothing the approval did not cover: with the
/// manager changed in between, the grant (and the rest) would go to someone else, so it is refused.
#[test]
fn continuing_an_interrupted_apply_refuses_what_the_approval_did_not_cover() {
    let (home, id) = approved_apply_killed_part_way();
    let seed = offboard_host::demo::seed::seed();
    let other =
        seed.users.iter().find(|u| ![ids::MANAGER_ID, ids::LEAVER_CLOUD_ID, ids::LEAVER_SYNCED_ID].contains(&u.id.as_str())).unwrap();
    set_manager(&home, &other.id);
    let writes = home.stats().writes;
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("was not approved") && o.stderr.contains("new approval"), "{}", o.stderr);
    assert_eq!(home.stats().writes, writes, "a write was sent beyond the approval");
}
