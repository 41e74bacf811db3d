//! plan sends nothing; apply performs each primitive; a second apply sends nothing; demo reset.

use crate::helpers::*;

#[test]
fn plan_writes_nothing() {
    let home = Home::new();
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    let before = home.state();
    let (code, r) = home.plan(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    // The directory is exactly as it was (only the simulator's counters moved).
    let after = home.state();
    for k in ["users", "groups", "skus", "directoryRoles", "exchange", "managedDevices"] {
        assert!(after[k] == before[k], "plan changed {k}");
    }
    assert_eq!(r["mode"], "plan");
    assert_eq!(r["status"], "planned");
    assert_eq!(r["stats"]["writes"], 0);
    assert_eq!(steps(&r).len(), PLAN_STEPS);
    let planned = steps(&r).iter().filter(|s| s["status"] == "planned").count();
    assert_eq!(planned, PLAN_PLANNED, "{r:#}");
    for s in steps(&r) {
        assert!(s["status"] == "planned" || s["status"] == "skipped" || s["status"] == "needs_action", "{s}");
    }
    let stats = home.stats();
    assert_eq!(stats.writes, 0);
    assert_eq!(stats.writes_applied, 0);
    assert!(stats.operations > 0, "plan must read live state");
    let state = home.state();
    let seed = seed_state();
    let (u, s) = (user_in(&state, ids::LEAVER_CLOUD_ID), user_in(&seed, ids::LEAVER_CLOUD_ID));
    assert_eq!(u["accountEnabled"], true);
    assert_eq!(u["employeeId"], "E1001");
    assert_eq!(u["managerId"], ids::MANAGER_ID);
    assert_eq!(u["licenseAssignmentStates"].as_array().unwrap().len(), 3);
    // Timestamps are seeded relative to now: compare to the day.
    let day = |v: &serde_json::Value| v.as_str().unwrap()[..10].to_string();
    assert_eq!(day(&u["lastPasswordChangeDateTime"]), day(&s["lastPasswordChangeDateTime"]));
    assert_eq!(day(&u["signInSessionsValidFromDateTime"]), day(&s["signInSessionsValidFromDateTime"]));
    for g in [ids::GROUP_SALES_TEAM, ids::GROUP_PROJECT_FALCON, ids::GROUP_VISIO_LICENCE] {
        assert!(group_members_in(&state, g).contains(&ids::LEAVER_CLOUD_ID.to_string()));
    }
}

#[test]
fn apply_performs_each_primitive() {
    let home = Home::new();
    let (code, r) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    for k in ["run_id", "tenant", "user", "mode", "status", "steps", "stats"] {
        assert!(!r[k].is_null(), "report has no {k}");
    }
    assert_eq!(r["tenant"], "demo");
    assert_eq!(r["user"], CLOUD);
    assert_eq!(r["mode"], "apply");
    assert_eq!(r["status"], "succeeded");
    assert!(r["run_id"].as_str().unwrap().len() > 10);
    for s in steps(&r) {
        for k in ["id", "phase", "action", "target", "status", "detail"] {
            assert!(s[k].is_string(), "step without {k}: {s}");
        }
    }
    let expect_done = [
        ("revoke_sessions", CLOUD),
        ("disable_account", CLOUD),
        ("reset_password", CLOUD),
        ("remove_group_membership", "Sales Team"),
        ("remove_group_membership", "Project Falcon"),
        ("remove_group_membership", "Licence - Visio Users"),
        ("remove_manager", CLOUD),
        ("clear_employee_id", CLOUD),
        ("remove_license", "SPE_E3"),
        ("remove_license", "POWER_BI_PRO"),
        ("remove_mobile_device", "Lee's iPhone (ApplF17XK2Q1N3P4)"),
        ("remove_mobile_device", "Pixel 8 (androidc1873361249)"),
        ("remove_inbox_rule", "leaver.cloud@contoso.test: Copy invoices home"),
        ("clear_forwarding", CLOUD),
        ("grant_mailbox_permission", "leaver.cloud@contoso.test → manager@contoso.test"),
        ("convert_to_shared_mailbox", CLOUD),
        ("hide_from_gal", CLOUD),
        ("remove_distribution_group_membership", "Finance Approvers"),
        ("remove_distribution_group_membership", "sales-dl"),
    ];
    for (a, t) in expect_done {
        assert_eq!(status_of(&r, a, t), "done", "{a} {t}");
    }
    let revokes: Vec<_> = steps(&r).iter().filter(|s| s["action"] == "revoke_sessions").collect();
    assert_eq!(revokes.len(), 2);
    assert_eq!(revokes[0]["phase"], "cut_off");
    assert_eq!(revokes[1]["phase"], "final");
    assert!(revokes.iter().all(|s| s["status"] == "done"));
    // Exchange's step removes the mail-enabled ones (skipped here); nothing in this run can
    // change a dynamic group or, without AD access, a synced one: a person must (needs_action).
    for (g, why, status) in [
        ("All Sales (dynamic)", "dynamic", "needs_action"),
        ("Finance Approvers", "mail-enabled", "skipped"),
        ("sales-dl", "distribution list", "skipped"),
        ("HQ-FileShare-RW", "on-premises AD (offboard-host has no AD access", "needs_action"),
    ] {
        let s = step(&r, "remove_group_membership", g);
        assert_eq!(s["status"], status, "{s}");
        assert!(s["detail"].as_str().unwrap().contains(why), "{s}");
    }
    let visio = step(&r, "remove_license", "VISIOCLIENT");
    assert_eq!(visio["status"], "needs_action");
    assert!(visio["detail"].as_str().unwrap().contains("in Entra ID: remove"), "{visio}");
    assert!(visio["detail"].as_str().unwrap().contains("Licence - Visio Users"));
    // The to-dos are listed on their own in --json.
    let todos: Vec<&str> = r["todos"].as_array().unwrap().iter().map(|t| t["target"].as_str().unwrap()).collect();
    assert!(todos.contains(&"All Sales (dynamic)") && todos.contains(&"VISIOCLIENT") && todos.contains(&"HQ-FileShare-RW"), "{todos:?}");
    assert_eq!(steps(&r).iter().filter(|s| s["status"] == "done").count(), CLEAN_DONE);

    assert_eq!(r["stats"]["writes"], CLEAN_WRITES);
    assert!(r["stats"]["requests"].as_u64().unwrap() > 0);
    assert!(r["stats"]["elapsed_ms"].is_u64());
    let stats = home.stats();
    assert_eq!(stats.writes, CLEAN_WRITES);
    assert_eq!(stats.writes_applied, CLEAN_WRITES);

    let state = home.state();
    assert_cloud_offboarded(&state, &seed_state());
    // Still in the dynamic group (its rule still matches).
    assert!(group_members_in(&state, ids::GROUP_ALL_SALES_DYNAMIC).contains(&ids::LEAVER_CLOUD_ID.to_string()));
    // Other users untouched.
    let m = user_in(&state, ids::MANAGER_ID);
    assert_eq!(m["accountEnabled"], true);
    assert!(group_members_in(&state, ids::GROUP_SALES_TEAM).contains(&ids::MANAGER_ID.to_string()));
}

#[test]
fn second_apply_sends_no_write() {
    let home = Home::new();
    let (code, r) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(home.stats().writes, CLEAN_WRITES);
    assert_rerun_sends_nothing(&home, CLOUD);
    assert_eq!(home.stats().writes, CLEAN_WRITES);

    // Without --yes and no terminal: nothing to change, so nothing to confirm.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("nothing to change"), "{}", o.stderr);
    assert_eq!(home.stats().writes, CLEAN_WRITES);
}

#[test]
fn demo_reset_restores_the_seed() {
    let home = Home::new();
    assert_eq!(home.apply(CLOUD).0, 0);
    assert_eq!(home.user(ids::LEAVER_CLOUD_ID)["accountEnabled"], false);
    let o = home.cmd(["demo", "reset"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("demo tenant reset"));
    let u = home.user(ids::LEAVER_CLOUD_ID);
    assert_eq!(u["accountEnabled"], true);
    assert_eq!(u["employeeId"], "E1001");
    assert_eq!(home.stats(), offboard_host::demo::SimStats::default());
    let (code, r) = home.plan(CLOUD);
    assert_eq!(code, 0);
    assert_eq!(steps(&r).iter().filter(|s| s["status"] == "planned").count(), PLAN_PLANNED, "{r:#}");
}
