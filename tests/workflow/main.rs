//! Workflow control end to end: the binary against the demo tenant, each test in its own
//! `OFFBOARD_HOME`. Approval gating, scheduled runs and the worker, bulk runs.
//!
//! Time is moved with `OFFBOARD_NOW` (honoured by debug builds only, which is what `cargo test`
//! builds): nothing here sleeps. Every test checks the simulator's own write counter or state,
//! so none of them passes against a tenant that was never touched.

/// Bulk runs paced at Graph's write quota (issue "Speed").
mod bulk_pacing;
/// `run --users-file --at`: many leavers scheduled at once.
mod bulk_schedule;
#[path = "../integration/helpers.rs"]
mod helpers;
/// `run --last-day`: the due time from the client's defaults.
mod last_day;
/// Scheduled items under a worker's lease.
mod lease;
/// The supervisor's mail: read back from Sent Items.
mod notify;
/// The same on the PostgreSQL journal, shared by workers.
mod postgres;
/// Four workers, a thousand scheduled runs, workers killed at random (issue "Scale-out").
mod scale;
/// What binds an approval, and the journal's integrity (issue "Trust").
mod trust;

use chrono::{Duration, Utc};
use helpers::*;
use serde_json::Value;

const APPROVAL: &str = r#"
[tenants.demo]
directory = "cloud"
demo = true
[tenants.demo.approval]
approvers = ["alice@msp.test", "Bob"]
expiry_hours = 24
"#;

fn later(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339()
}

/// The run id a gated or scheduled `run --json` printed.
fn run_id(o: &Output) -> String {
    o.json()["run_id"].as_str().expect("run_id").to_string()
}

fn apply_runs(home: &Home, user: &str) -> Vec<Value> {
    let o = home.cmd(["runs", "list", "--json", "--limit", "100000"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.json().as_array().unwrap().iter().filter(|r| r["mode"] == "apply" && r["user"] == user).cloned().collect()
}

fn assert_untouched(home: &Home) {
    assert_eq!(home.stats().writes, 0, "a write was sent");
    let (state, seed) = (home.state(), seed_state());
    let (u, s) = (user_in(&state, ids::LEAVER_CLOUD_ID), user_in(&seed, ids::LEAVER_CLOUD_ID));
    assert_eq!(u["accountEnabled"], true);
    assert_eq!(u["managerId"], s["managerId"]);
    // Timestamps in the seed are relative to now: compare what is assigned, and who is in which group.
    assert_eq!(skus_of(&u), skus_of(&s));
    for g in seed["groups"].as_array().unwrap() {
        let gid = g["id"].as_str().unwrap();
        assert!(group_members_in(&state, gid) == group_members_in(&seed, gid), "members of {gid} changed");
    }
}

#[test]
fn approval_cannot_be_bypassed() {
    let home = Home::new();
    home.write("offboard-host.toml", APPROVAL);
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    // --yes does not apply: the run stops after the plan, exit 6, nothing written.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("awaiting approval"), "{}", o.stderr);
    assert_eq!(o.json()["mode"], "plan");
    let id = run_id(&o);
    assert_untouched(&home);
    // Not approved yet: apply is refused.
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("awaiting approval"), "{}", o.stderr);
    // Someone not on the list.
    let o = home.cmd(["approve", &id, "--by", "mallory@msp.test"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("not an approver"), "{}", o.stderr);
    assert_untouched(&home);
    assert!(apply_runs(&home, CLOUD).is_empty());
    // An approver (case-insensitive); a second decision is refused.
    let o = home.cmd(["approve", &id, "--by", "ALICE@msp.test", "--reason", "HR ticket 12"]).env("OFFBOARD_OS_USER", "alice").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = home.cmd(["reject", &id, "--by", "bob"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert_untouched(&home);
    // Applied once, exactly the approved plan.
    let o = home.cmd(["apply", &id, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["status"], "succeeded");
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_eq!(home.stats().writes, CLEAN_WRITES);
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("already applied"), "{}", o.stderr);
    assert_eq!(apply_runs(&home, CLOUD).len(), 1);
    // `plan` stays available without approval and writes nothing.
    let o = home.cmd(["plan", "default.rhai", "--user", ids::MANAGER_UPN, "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(home.stats().writes, CLEAN_WRITES);
    // Bulk and scheduled runs have no approval step: refused for a gated tenant.
    home.write("users.csv", &format!("upn\n{}\n", ids::MANAGER_UPN));
    let o = home.cmd(["run", "default.rhai", "--users-file", "users.csv", "--yes"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    let o = home.cmd(["run", "default.rhai", "--user", ids::MANAGER_UPN, "--at", &later(1)]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    // Nor can the REPL write, or a restore undo without approval.
    let o = home.cmd(["repl", "--allow-writes"]).stdin(b"graph::disable_account(graph::get_user(\"manager@contoso.test\"));\n").run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    let applied = apply_runs(&home, CLOUD)[0]["run_id"].as_str().unwrap().to_string();
    assert_eq!(home.cmd(["restore", &applied, "--yes"]).run().code, 2);
    assert_eq!(home.stats().writes, CLEAN_WRITES);
}

#[test]
fn a_changed_script_or_tenant_invalidates_the_approval() {
    let home = Home::new();
    home.write("offboard-host.toml", APPROVAL);
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let script = home.write("mine.rhai", offboard_host::run::DEFAULT_SCRIPT);
    let ask = |home: &Home| {
        let o = home.cmd(["run", script.to_str().unwrap(), "--user", CLOUD, "--json"]).run();
        assert_eq!(o.code, 6, "{}", o.stderr);
        let id = run_id(&o);
        assert_eq!(home.cmd(["approve", &id, "--by", "bob"]).env("OFFBOARD_OS_USER", "bob").run().code, 0);
        id
    };
    // The script changes after the approval (even only a comment): refused, nothing written.
    let id = ask(&home);
    std::fs::write(&script, format!("{}\n// edited after approval\n", offboard_host::run::DEFAULT_SCRIPT)).unwrap();
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("script or its stdlib changed") && o.stderr.contains("new approval"), "{}", o.stderr);
    assert_untouched(&home);

    // The tenant changes so that the plan differs: refused, and the change is named.
    let id = ask(&home);
    let mut state = home.state();
    for g in state["groups"].as_array_mut().unwrap() {
        if g["id"] == ids::GROUP_PROJECT_FALCON {
            g["members"].as_array_mut().unwrap().retain(|m| m != ids::LEAVER_CLOUD_ID);
        }
    }
    std::fs::write(home.state_path(), serde_json::to_vec(&state).unwrap()).unwrap();
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("- remove_group_membership") && o.stderr.contains(ids::GROUP_PROJECT_FALCON), "{}", o.stderr);
    assert_eq!(home.stats().writes, 0);
    assert!(apply_runs(&home, CLOUD).is_empty());

    // A new approval of the new plan applies.
    let id = ask(&home);
    let o = home.cmd(["apply", &id, "--yes"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(user_in(&home.state(), ids::LEAVER_CLOUD_ID)["accountEnabled"], false);
}

#[test]
fn an_expired_approval_is_refused() {
    let home = Home::new();
    home.write("offboard-host.toml", APPROVAL);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--json"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    let id = run_id(&o);
    let o = home.cmd(["approve", &id, "--by", "bob"]).env("OFFBOARD_NOW", later(25)).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("expired"), "{}", o.stderr);
    // Expired for good, also back at the real time.
    let o = home.cmd(["approve", &id, "--by", "bob"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert_eq!(home.cmd(["apply", &id, "--yes"]).run().code, 6);
    assert_untouched(&home);
}

/// SIGKILL `child` (a worker or an `apply` offboarding the cloud leaver) once the account is
/// blocked and before the run ends, so nothing after the block is recorded; returns its pid.
fn kill_once_blocked(home: &Home, mut child: std::process::Child, who: &str) -> u32 {
    let start = std::time::Instant::now();
    while !std::fs::read(home.state_path())
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|s| user_in(&s, ids::LEAVER_CLOUD_ID)["accountEnabled"] == false)
    {
        assert!(child.try_wait().unwrap().is_none(), "the {who} finished before it could be killed");
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "the {who} never blocked the account");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pid = child.id();
    child.kill().unwrap(); // SIGKILL: no chance to record anything
    child.wait().unwrap();
    assert!(!user_in(&home.state(), ids::LEAVER_CLOUD_ID)["managerId"].is_null(), "the {who} was not killed mid-way");
    pid
}

/// Reset the demo tenant and schedule the cloud leaver an hour from now; the item's id.
fn schedule_cloud_leaver(home: &Home) -> String {
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--at", &later(1), "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    run_id(&o)
}

fn schedules(home: &Home) -> Vec<Value> {
    let o = home.cmd(["schedule", "list", "--all", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    o.json().as_array().unwrap().clone()
}

#[test]
fn a_scheduled_run_fires_once_also_after_a_worker_restart() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    // In the past: refused.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--at", "2020-01-01T09:00:00+01:00"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("in the past"), "{}", o.stderr);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--at", "tomorrow"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(schedules(&home).is_empty());

    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--at", &later(1), "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["mode"], "plan");
    let id = run_id(&o);
    assert_untouched(&home);
    // Not due yet.
    let o = home.cmd(["worker", "--once", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.json()["runs"].as_array().unwrap().is_empty());
    assert_untouched(&home);
    // The worker was down when it came due; the next one (a restart) runs it.
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(3)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["id"], id.as_str());
    assert_eq!(runs[0]["status"], "done");
    assert!(runs[0]["note"].as_str().unwrap().contains("plan unchanged"), "{runs:?}");
    assert_cloud_offboarded(&home.state(), &seed_state());
    let writes = home.stats().writes;
    // Again, and later still: nothing more.
    for h in [3, 48] {
        let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(h)).run();
        assert!(o.json()["runs"].as_array().unwrap().is_empty(), "{}", o.stdout);
    }
    assert_eq!(home.stats().writes, writes);
    let applied = apply_runs(&home, CLOUD);
    assert_eq!(applied.len(), 1);
    let s = schedules(&home);
    assert_eq!((s[0]["status"].as_str(), s[0]["applied_run_id"].as_str()), (Some("done"), applied[0]["run_id"].as_str()));
    // A done run cannot be cancelled.
    assert_eq!(home.cmd(["schedule", "cancel", &id]).run().code, 2);
}

#[test]
fn a_changed_plan_is_noted_and_a_cancelled_run_never_fires() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--at", &later(1), "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o2 = home.cmd(["run", "default.rhai", "--user", ids::MANAGER_UPN, "--at", &later(1), "--yes", "--json"]).run();
    let cancelled = run_id(&o2);
    assert_eq!(home.cmd(["schedule", "cancel", &cancelled]).run().code, 0);
    // Someone disables the account by hand meanwhile.
    let mut state = home.state();
    for u in state["users"].as_array_mut().unwrap() {
        if u["id"] == ids::LEAVER_CLOUD_ID {
            u["accountEnabled"] = false.into();
        }
    }
    std::fs::write(home.state_path(), serde_json::to_vec(&state).unwrap()).unwrap();
    let o = home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1, "the cancelled run fired: {runs:?}");
    let note = runs[0]["note"].as_str().unwrap();
    assert!(note.contains("plan changed") && note.contains("disable_account"), "{note}");
    assert!(apply_runs(&home, ids::MANAGER_UPN).is_empty());
    assert_eq!(user_in(&home.state(), ids::MANAGER_ID)["accountEnabled"], true);
}

#[test]
fn two_workers_run_each_scheduled_run_once() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let users = ordinary_users();
    let picked: Vec<&String> = users.iter().take(4).collect();
    for u in &picked {
        let o = home.cmd(["run", "default.rhai", "--user", u.as_str(), "--at", &later(1), "--yes"]).run();
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    let now = later(2);
    let workers: Vec<_> = (0..2).map(|_| home.cmd(["worker", "--once", "--json"]).env("OFFBOARD_NOW", &now).spawn()).collect();
    let mut fired = 0;
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        fired += v["runs"].as_array().unwrap().len();
    }
    assert_eq!(fired, picked.len(), "each scheduled run is carried out by exactly one worker");
    for u in &picked {
        assert_eq!(apply_runs(&home, u).len(), 1, "{u}");
    }
    assert!(schedules(&home).iter().all(|s| s["status"] == "done"));
}

/// The seed's ordinary users in teams: not the named ones, not a directory role holder (an
/// administrator is refused without `--allow-privileged`), and not the ordinary users after
/// `TEAM_USERS` (the bulk tests here run over the teams; pacing a thousand is `bulk_pacing`'s).
fn ordinary_users() -> Vec<String> {
    use offboard_host::demo::seed::{NAMED_USERS, TEAM_USERS};
    let seed = offboard_host::demo::seed::seed();
    let admin = |id: &str| seed.directory_roles.iter().any(|r| r.members.iter().any(|m| m == id));
    seed.users[NAMED_USERS..NAMED_USERS + TEAM_USERS].iter().filter(|u| !admin(&u.id)).map(|u| u.user_principal_name.clone()).collect()
}

#[test]
fn bulk_offboards_every_ordinary_user_under_throttling() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let users = ordinary_users();
    assert!(users.len() >= 200, "{}", users.len());
    let unknown = "nobody.here@contoso.test";
    home.write("users.csv", &format!("upn\n{}\n{unknown}\n", users.join("\n")));
    let o = home
        .cmd(["run", "default.rhai", "--users-file", "users.csv", "--yes", "--json"])
        .env("OFFBOARD_DEMO_THROTTLE_EVERY", "25")
        .env("OFFBOARD_DEMO_RETRY_AFTER", "0")
        .run();
    assert_eq!(o.code, 1, "one unknown user makes the bulk run fail: {}", o.stderr);
    let doc = o.json();
    assert_eq!(doc["total"], users.len() + 1);
    assert_eq!(doc["failed"], 1);
    let results = doc["users"].as_array().unwrap();
    for (r, u) in results.iter().zip(users.iter().chain([&unknown.to_string()])) {
        assert_eq!(r["user"], u.as_str(), "results keep the file's order");
    }
    let bad = results.iter().find(|r| r["user"] == unknown).unwrap();
    assert!(bad["error"].as_str().unwrap().contains("not found"), "{bad}");
    let state = home.state();
    for r in results.iter().filter(|r| r["user"] != unknown) {
        assert_eq!(r["status"], "succeeded", "{r}");
        assert!(r["changes"].as_u64().unwrap() > 0, "{r}");
        let u = state["users"].as_array().unwrap().iter().find(|x| x["userPrincipalName"] == r["user"]).unwrap();
        assert_eq!(u["accountEnabled"], false, "{r}");
    }
    assert!(home.stats().throttled > 0, "throttling never happened");
    // Each user is its own journalled run.
    let o = home.cmd(["runs", "list", "--json", "--limit", "100000"]).run();
    let runs = o.json().as_array().unwrap().clone();
    assert_eq!(runs.iter().filter(|r| r["mode"] == "apply").count(), users.len() + 1);
}

#[test]
fn bulk_plan_writes_nothing_and_lists_each_user() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let users = ordinary_users();
    home.write("users.csv", &format!("name,upn\nA,{}\nB,{}\nC,{CLOUD}\n", users[0], users[1]));
    let o = home.cmd(["plan", "default.rhai", "--users-file", "users.csv", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc = o.json();
    assert_eq!(doc["mode"], "plan");
    let results = doc["users"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["status"] == "planned" && r["changes"].as_u64().unwrap() > 0), "{doc:#}");
    assert_untouched(&home);
    // Without a terminal and without --yes nothing is applied.
    let o = home.cmd(["run", "default.rhai", "--users-file", "users.csv"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert_untouched(&home);
}

#[test]
fn bulk_rows_carry_their_own_settings_and_other_columns_are_named() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let users = ordinary_users();
    let (keep, reset) = (&users[0], &users[1]);
    // As an HR export: a BOM, CRLF, a quoted name with a comma, header case of its own, extra columns.
    home.write(
        "users.csv",
        &format!("\u{feff}Name,UPN,Department,Reset_Password,cost_center\r\n\"Smith, Jo\",{keep},IT,false,42\r\n\"Doe, Al\",{reset},Sales,,7\r\n"),
    );
    // --set applies to every user; the first row's cell overrides it for that user.
    let o = home.cmd(["run", "default.rhai", "--users-file", "users.csv", "--set", "reset_password=true", "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stderr.matches("ignored columns: Name, Department, cost_center").count(), 1, "{}", o.stderr);
    let doc = o.json();
    assert!(doc["users"].as_array().unwrap().iter().all(|r| r["status"] == "succeeded"), "{doc:#}");
    let (state, seed) = (home.state(), seed_state());
    let by_upn = |v: &Value, upn: &str| v["users"].as_array().unwrap().iter().find(|u| u["userPrincipalName"] == upn).cloned().unwrap();
    for upn in [keep, reset] {
        assert_eq!(by_upn(&state, upn)["accountEnabled"], false, "{upn} not disabled");
    }
    // The simulator keeps a hash of a password it was sent (seed timestamps move with the clock).
    assert!(by_upn(&seed, keep)["passwordSha256"].is_null() && by_upn(&seed, reset)["passwordSha256"].is_null());
    assert!(by_upn(&state, keep)["passwordSha256"].is_null(), "the row with reset_password=false had its password reset");
    assert!(by_upn(&state, reset)["passwordSha256"].is_string(), "the other row's password was not reset");
    // Each run's journal keeps the settings it was given.
    let sets = |upn: &str| home.run_detail(apply_runs(&home, upn)[0]["run_id"].as_str().unwrap())["options"]["set"].clone();
    assert_eq!(sets(keep), serde_json::json!(["reset_password=false"]));
    assert_eq!(sets(reset), serde_json::json!(["reset_password=true"]));
    // A bad cell stops the file before anything runs, naming line and column.
    let writes = home.stats().writes;
    home.write("bad.csv", &format!("upn,reset_password\n{}\n{},later\n", users[2], users[3]));
    let o = home.cmd(["run", "default.rhai", "--users-file", "bad.csv", "--yes", "--json"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("line 3, column reset_password"), "{}", o.stderr);
    assert_eq!(home.stats().writes, writes);
}

fn sent_mail(home: &Home) -> Vec<Value> {
    home.state()["sentMail"].as_array().cloned().unwrap_or_default()
}

#[test]
fn notify_supervisor_mails_the_manager_once() {
    let home = Home::new();
    home.write(
        "offboard-host.toml",
        r#"
[tenants.demo]
directory = "cloud"
demo = true
[tenants.demo.defaults]
notify_supervisor = true
mail_sender = "alex.adams@contoso.test"
supervisor_subject = "Leaver: {display_name} (ticket {ticket})"
"#,
    );
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let (code, plan) = home.plan(CLOUD);
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(status_of(&plan, "notify_supervisor", CLOUD), "planned");
    assert!(sent_mail(&home).is_empty(), "plan sent a mail");
    let (code, r) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(status_of(&r, "notify_supervisor", CLOUD), "done");
    let mail = sent_mail(&home);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["from"], "alex.adams@contoso.test");
    assert_eq!(mail[0]["to"], serde_json::json!([ids::MANAGER_UPN]));
    assert_eq!(mail[0]["subject"], "Leaver: Lee Cloud (ticket none)");
    let body = mail[0]["body"].as_str().unwrap();
    // Written after the manager was removed, with what was done.
    assert!(body.contains("Morgan Manager") && body.contains("disable account") && body.contains("remove manager"), "{body}");
    assert!(body.contains(r["run_id"].as_str().unwrap()), "{body}");
    assert!(user_in(&home.state(), ids::LEAVER_CLOUD_ID)["managerId"].is_null());
    // A mail is not idempotent: the journal says it was sent, so a second run sends nothing.
    let (code, r2) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r2:#}");
    assert_eq!(status_of(&r2, "notify_supervisor", CLOUD), "already_done");
    assert_eq!(sent_mail(&home).len(), 1);

    // A manager without a mailbox: skipped, saying so.
    let mut state = home.state();
    for u in state["users"].as_array_mut().unwrap() {
        if u["id"] == ids::MANAGER_ID {
            u["mail"] = Value::Null;
        }
    }
    std::fs::write(home.state_path(), serde_json::to_vec(&state).unwrap()).unwrap();
    let lead = ordinary_users().into_iter().next().unwrap(); // a team lead: managed by the manager
    let (code, r3) = home.apply(&lead);
    assert_eq!(code, 0, "{r3:#}");
    let s = step(&r3, "notify_supervisor", &lead);
    assert_eq!(s["status"], "skipped", "{s}");
    assert!(s["detail"].as_str().unwrap().contains("no mailbox"), "{s}");
    assert_eq!(sent_mail(&home).len(), 1);
}

#[test]
fn restore_returns_the_user_to_the_seeded_state_except_what_cannot_be_put_back() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    // A client with a PSA, so the run deactivates the user's contact too.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--tenant", "demo-halo", "--yes", "--json"]).run();
    let (code, r) = (o.code, o.json());
    assert_eq!(code, 0, "{r:#}");
    let seed = seed_state();
    assert_cloud_offboarded(&home.state(), &seed);
    let mailbox_in =
        |st: &Value| st["exchange"]["mailboxes"].as_array().unwrap().iter().find(|m| m["userId"] == ids::LEAVER_CLOUD_ID).cloned().unwrap();
    let contact_in = |st: &Value| {
        st["psa"]["halo"]["contacts"].as_array().unwrap().iter().find(|c| c["email"] == CLOUD && c["company_id"] == 12).cloned().unwrap()
    };
    let done = |action: &str| steps(&r).iter().any(|s| s["action"] == action && s["status"] == "done");
    for a in [
        "clear_forwarding",
        "grant_mailbox_permission",
        "convert_to_shared_mailbox",
        "hide_from_gal",
        "disable_psa_contact",
        "remove_distribution_group_membership",
    ] {
        assert!(done(a), "the run did not {a}: {r:#}");
    }
    let (m, c) = (mailbox_in(&home.state()), contact_in(&home.state()));
    assert_eq!((m["typeDetails"].as_str(), m["hidden"].as_bool(), c["active"].as_bool()), (Some("SharedMailbox"), Some(true), Some(false)));
    let id = r["run_id"].as_str().unwrap().to_string();
    // Without a terminal and without --yes: refused, nothing written.
    let writes = home.stats().writes;
    let o = home.cmd(["restore", &id]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert_eq!(home.stats().writes, writes);

    // The seeded leaver forwarded to an outside address: asked for explicitly, it comes back too.
    let o = home.cmd(["restore", &id, "--yes", "--json", "--include-external-forwarding"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rr = o.json();
    assert_eq!(rr["status"], "succeeded");
    assert_eq!(rr["script"], format!("restore {id}"));
    // Cloud: account, 3 groups, manager, employee id, 2 licences; Exchange: forwarding, the
    // FullAccess granted, hidden flag, 2 distribution lists, mailbox type; PSA: the contact.
    assert_eq!(steps(&rr).iter().filter(|s| s["status"] == "done").count(), 15, "{rr:#}");
    let listed = rr["messages"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect::<Vec<_>>().join("\n");
    assert!(listed.contains("reset_password") && listed.contains("revoke_sessions"), "{listed}");
    // Retired Intune devices stay retired: listed, not reversed.
    assert_eq!(listed.matches("retire_managed_device").count(), 2, "{listed}");
    assert!(!listed.contains("remove_distribution_group_membership"), "{listed}");
    // The mailbox goes back to a user mailbox only after the licences are back (a later phase).
    let at = |action: &str| steps(&rr).iter().position(|s| s["action"] == action).unwrap_or_else(|| panic!("no {action}: {rr:#}"));
    assert!(at("add_license") < at("convert_to_user_mailbox"));
    assert_eq!(steps(&rr)[at("convert_to_user_mailbox")]["phase"], "restore_mailbox_type");
    assert!(steps(&rr)[at("convert_to_user_mailbox")]["detail"].as_str().unwrap().contains("licence"), "{rr:#}");

    // Back to the seed, except the password and the sessions (and licence timestamps).
    let state = home.state();
    let strip = |u: &Value| {
        let mut u = u.as_object().unwrap().clone();
        // createdDateTime: the seed is dated relative to now.
        for k in [
            "createdDateTime",
            "lastPasswordChangeDateTime",
            "signInSessionsValidFromDateTime",
            "passwordSha256",
            "passwordProfile",
            "licenseAssignmentStates",
        ] {
            u.remove(k);
        }
        u
    };
    let (now, was) = (user_in(&state, ids::LEAVER_CLOUD_ID), user_in(&seed, ids::LEAVER_CLOUD_ID));
    assert_eq!(strip(&now), strip(&was));
    let mut a = skus_of(&now);
    let mut b = skus_of(&was);
    a.sort();
    b.sort();
    assert_eq!(a, b, "licences");
    // The mailbox: type, forwarding, hidden flag and permissions as seeded. The mobile devices
    // and the inbox rule removed stay removed (listed as not reversible).
    let (mb, mb_seed) = (mailbox_in(&state), mailbox_in(&seed));
    for k in [
        "typeDetails",
        "pendingType",
        "hidden",
        "forwardingAddress",
        "forwardingSmtpAddress",
        "deliverToMailboxAndForward",
        "fullAccess",
        "sendAs",
    ] {
        assert_eq!(mb[k], mb_seed[k], "mailbox {k}");
    }
    assert!(listed.contains("remove_mobile_device") && listed.contains("remove_inbox_rule"), "{listed}");
    // The PSA contact is active again.
    assert_eq!(contact_in(&state), contact_in(&seed));
    // Group memberships, distribution lists included (order aside: a re-added member comes last).
    for g in seed["groups"].as_array().unwrap() {
        let gid = g["id"].as_str().unwrap();
        let mut now_members = group_members_in(&state, gid);
        let mut seeded = group_members_in(&seed, gid);
        now_members.sort();
        seeded.sort();
        assert!(now_members == seeded, "members of {} differ from the seed", g["displayName"]);
    }
    assert_ne!(now["lastPasswordChangeDateTime"], was["lastPasswordChangeDateTime"], "the password cannot come back");

    // The restore is a run of its own; a second one changes nothing.
    let runs = home.runs();
    assert!(runs.iter().any(|x| x["run_id"] == rr["run_id"] && x["mode"] == "apply"));
    let writes = home.stats().writes;
    let o = home.cmd(["restore", &id, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(home.stats().writes, writes);
    // A plan run has nothing to restore.
    let (_, p) = home.plan(CLOUD);
    assert_eq!(home.cmd(["restore", p["run_id"].as_str().unwrap(), "--yes"]).run().code, 2);
}

#[test]
fn the_approval_request_is_mailed_to_the_approvers_and_changes_nothing_else() {
    let home = Home::new();
    home.write(
        "offboard-host.toml",
        r#"
[tenants.demo]
directory = "cloud"
demo = true
[tenants.demo.defaults]
mail_sender = "alex.adams@contoso.test"
[tenants.demo.approval]
approvers = ["alice@msp.test", "Bob"]
email = true
[console]
issuer_url = "https://login.msp.example/v2.0"
client_id = "offboard-console"
client_secret_env = "OFFBOARD_CONSOLE_SECRET"
public_url = "https://offboard.msp.example/"
"#,
    );
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    let id = run_id(&o);
    let mail = sent_mail(&home);
    assert_eq!(mail.len(), 1, "only the approver with an address: {mail:?}");
    assert_eq!(mail[0]["to"], serde_json::json!(["alice@msp.test"]));
    let body = mail[0]["body"].as_str().unwrap();
    assert!(body.contains(&format!("offboard-host approve {id}")) && body.contains("disable account"), "{body}");
    // With a console, the mail links to the request's page there.
    assert!(body.contains(&format!("https://offboard.msp.example/approvals/{id}\n")), "{body}");
    // The mail is the only write: the user is untouched.
    assert_eq!(home.stats().writes_applied, 1);
    let u = user_in(&home.state(), ids::LEAVER_CLOUD_ID);
    assert_eq!(u["accountEnabled"], true);
    assert_eq!(u["managerId"], ids::MANAGER_ID);
}

#[test]
fn with_a_psa_the_request_and_the_decision_are_noted_on_the_ticket_the_apply_continues() {
    let home = Home::new();
    home.write(
        "offboard-host.toml",
        r#"
[tenants.acme]
directory = "cloud"
demo = true
[tenants.acme.psa]
kind = "halo"
company = "12"
secret_env = "OFFBOARD_DEMO_PSA_SECRET"
client_id = "offboard-host-demo"
[tenants.acme.approval]
approvers = ["alice"]
"#,
    );
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--json"]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    let id = run_id(&o);
    assert_eq!(home.stats().writes, 0, "no Graph write before approval");
    let tickets = |home: &Home| home.state()["psa"]["halo"]["tickets"].as_array().cloned().unwrap_or_default();
    let t = tickets(&home);
    assert_eq!(t.len(), 1, "{t:?}");
    let notes = |t: &Value| t["notes"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(notes(&t[0]).iter().any(|n| n.contains("Approval requested") && n.contains(&id)), "{t:?}");
    assert_eq!(home.cmd(["approve", &id, "--by", "alice", "--reason", "HR confirmed"]).env("OFFBOARD_OS_USER", "alice").run().code, 0);
    assert!(notes(&tickets(&home)[0]).iter().any(|n| n.contains("approved by alice: HR confirmed")));
    let o = home.cmd(["apply", &id, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    let t = tickets(&home);
    assert_eq!(t.len(), 1, "the apply continues the request's ticket");
    assert_eq!(r["ticket"], t[0]["id"].to_string().as_str());
    assert!(notes(&t[0]).iter().any(|n| n.contains(r["run_id"].as_str().unwrap())), "no note of the apply run");
}

/// Forwarding to an address outside the tenant is the prior state restore must not bring back
/// by default: it may be the very leak the offboarding stopped. The plan says why, and the flag
/// puts it back.
#[test]
fn restore_leaves_external_forwarding_off_unless_asked() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let id = o.json()["run_id"].as_str().unwrap().to_string();
    let forwarding = |home: &Home| {
        let st = home.state();
        let m = st["exchange"]["mailboxes"].as_array().unwrap().iter().find(|m| m["userId"] == ids::LEAVER_CLOUD_ID).cloned().unwrap();
        m["forwardingSmtpAddress"].clone()
    };
    assert_eq!(forwarding(&home), Value::Null, "the offboarding cleared the forwarding");

    let o = home.cmd(["restore", &id, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rr = o.json();
    let s = steps(&rr).iter().find(|s| s["action"] == "restore_forwarding").cloned().unwrap_or_else(|| panic!("{rr:#}"));
    assert_eq!(s["status"], "skipped", "{s}");
    let why = s["detail"].as_str().unwrap();
    assert!(why.contains("gmail.example") && why.contains("--include-external-forwarding") && why.contains("contoso.test"), "{why}");
    assert_eq!(forwarding(&home), Value::Null, "not put back");
    // The rest was restored.
    assert_eq!(home.user(ids::LEAVER_CLOUD_ID)["accountEnabled"], true);

    let o = home.cmd(["restore", &id, "--yes", "--json", "--include-external-forwarding"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(forwarding(&home), "smtp:lee.cloud@gmail.example");
}
