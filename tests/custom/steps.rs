//! The stdlib steps (`stdlib/steps.rhai`), each switched on with `--set` in the default
//! offboarding: planned without a write, applied with the change visible in the simulator, and
//! already done on a re-run with no write.

use super::*;

const LEAVER: &str = ids::LEAVER_CLOUD_ID;

/// Plan, apply, re-run the default offboarding with `set`; `check` looks at the state after the
/// apply. Returns the apply's report.
fn plan_apply_rerun(set: &[&str], actions: &[&str], check: impl Fn(&Value)) -> Value {
    plan_apply_rerun_in(set, actions, check).1
}

/// [`plan_apply_rerun`], keeping the home for what follows.
fn plan_apply_rerun_in(set: &[&str], actions: &[&str], check: impl Fn(&Value)) -> (Home, Value) {
    let home = Home::new();
    let mut base = vec!["default.rhai", "--user", CLOUD, "--json"];
    for s in set {
        base.extend(["--set", s]);
    }
    let plan = home.cmd([&["plan"][..], &base].concat()).run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan = plan.json();
    assert_eq!(home.stats().writes, 0, "the plan wrote");
    for a in actions {
        let planned: Vec<&Value> = steps(&plan).iter().filter(|s| s["action"] == *a).collect();
        assert!(!planned.is_empty() && planned.iter().all(|s| s["status"] == "planned"), "{a}: {planned:#?}");
    }
    let o = home.cmd([&["run"][..], &base, &["--yes"]].concat()).run();
    let r = o.json();
    assert_eq!(o.code, 0, "{}\n{r:#}", o.stderr);
    for a in actions {
        let done: Vec<&Value> = steps(&r).iter().filter(|s| s["action"] == *a).collect();
        assert!(done.iter().all(|s| s["status"] == "done"), "{a}: {done:#?}");
    }
    check(&home.state());
    let writes = home.stats().writes;
    let o = home.cmd([&["run"][..], &base, &["--yes"]].concat()).run();
    let r2 = o.json();
    assert_eq!(o.code, 0, "{}", o.stderr);
    for a in actions {
        let again: Vec<&Value> = steps(&r2).iter().filter(|s| s["action"] == *a).collect();
        assert!(again.iter().all(|s| s["status"] == "already_done"), "{a} on the re-run: {again:#?}");
    }
    assert_eq!(home.stats().writes, writes, "the re-run wrote");
    (home, r)
}

fn of_leaver<'a>(st: &'a Value, list: &str, key: &str) -> Vec<&'a Value> {
    st[list].as_array().map(|a| a.iter().filter(|x| x[key] == LEAVER).collect()).unwrap_or_default()
}

fn mailbox<'a>(st: &'a Value, upn: &str) -> &'a Value {
    st["exchange"]["mailboxes"].as_array().unwrap().iter().find(|m| m["upn"] == upn).expect("mailbox")
}

#[test]
fn authentication_methods_consents_and_app_roles_are_removed() {
    let seed = seed_state();
    assert!(of_leaver(&seed, "authMethods", "userId").len() >= 7, "the seed has every method type");
    let (home, r) = plan_apply_rerun_in(
        &["remove_auth_methods=true", "revoke_app_access=true"],
        &["remove_auth_methods", "revoke_oauth_grants", "remove_app_role_assignments"],
        |st| {
            assert!(of_leaver(st, "authMethods", "userId").is_empty(), "{:#?}", of_leaver(st, "authMethods", "userId"));
            assert!(of_leaver(st, "oauth2PermissionGrants", "principalId").is_empty());
            assert!(of_leaver(st, "appRoleAssignments", "principalId").is_empty());
            // An admin's consent for every user is not the leaver's to revoke.
            let all = st["oauth2PermissionGrants"].as_array().unwrap().iter().filter(|g| g["consentType"] == "AllPrincipals").count();
            assert!(all >= 1);
        },
    );
    // Restore puts the consents and the app roles back (the methods cannot be: it says so).
    let o = home.cmd(["restore", r["run_id"].as_str().unwrap(), "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}\n{}", o.stderr, o.stdout);
    let st = home.state();
    let count = |st: &Value, list: &str| of_leaver(st, list, "principalId").len();
    assert_eq!(count(&st, "oauth2PermissionGrants"), count(&seed, "oauth2PermissionGrants"), "{}", o.stdout);
    assert_eq!(count(&st, "appRoleAssignments"), count(&seed, "appRoleAssignments"), "{}", o.stdout);
    assert!(o.stdout.contains("remove_auth_methods"), "listed as not reversible: {}", o.stdout);
}

#[test]
fn the_manager_gets_the_onedrive_and_the_groups_only_the_leaver_owned() {
    plan_apply_rerun(&["onedrive_to_manager=true", "transfer_group_ownership=true"], &["grant_onedrive_access"], |st| {
        let drive = st["drives"].as_array().unwrap().iter().find(|d| d["userId"] == LEAVER).expect("drive");
        let p = drive["permissions"].as_array().unwrap();
        assert!(p.iter().any(|p| p["userId"] == ids::MANAGER_ID && p["roles"] == serde_json::json!(["write"])), "{p:#?}");
        let owners = |gid: &str| -> Vec<String> {
            let g = st["groups"].as_array().unwrap().iter().find(|g| g["id"] == gid).expect("group");
            g["owners"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_string()).collect()
        };
        assert!(owners(ids::GROUP_SALES_PIPELINE_TEAM).contains(&ids::MANAGER_ID.to_string()), "the Team the leaver alone owned");
    });
}

#[test]
fn meetings_protocols_and_rights_elsewhere_are_handled_in_exchange() {
    let seed = seed_state();
    let before = mailbox(&seed, CLOUD)["meetings"].as_array().unwrap().clone();
    assert!(!before.is_empty());
    plan_apply_rerun(
        &["cancel_meetings=true", "disable_mailbox_protocols=true", "remove_mailbox_rights_elsewhere=true"],
        &["cancel_meetings", "disable_mailbox_protocols", "remove_rights_on_mailbox"],
        |st| {
            let m = mailbox(st, CLOUD);
            let meetings = m["meetings"].as_array().unwrap();
            let (from, to) = (chrono::Utc::now().date_naive(), chrono::Utc::now().date_naive() + chrono::Duration::days(730));
            let mut cancelled = 0;
            for (b, a) in before.iter().zip(meetings) {
                let start = chrono::DateTime::parse_from_rfc3339(b["start"].as_str().unwrap()).unwrap().date_naive();
                let should = !b["attendees"].as_array().unwrap().is_empty() && start >= from && start < to;
                assert_eq!(!a["cancelledAt"].is_null(), should, "{a}");
                cancelled += usize::from(should);
            }
            assert!(cancelled >= 1, "the seed has a meeting to cancel: {before:#?}");
            assert_eq!(m["protocolsOff"].as_array().unwrap().len(), 6, "{}", m["protocolsOff"]);
            for other in st["exchange"]["mailboxes"].as_array().unwrap().iter().filter(|x| x["upn"] != CLOUD) {
                assert!(!other["fullAccess"].as_array().unwrap().iter().any(|f| f["user"] == CLOUD), "{}", other["upn"]);
                assert!(!other["sendAs"].as_array().unwrap().iter().any(|t| t == CLOUD), "{}", other["upn"]);
                assert!(!other["sendOnBehalf"].as_array().unwrap().iter().any(|t| t == "leaver.cloud"), "{}", other["upn"]);
            }
        },
    );
}

#[test]
fn the_display_name_is_prefixed_and_the_mailbox_held() {
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let set = ["display_name_prefix=zz-Left {month}", "litigation_hold=true", "litigation_hold_days=365", "remove_aliases=true"];
    let r = plan_apply_rerun(&set, &["prefix_display_name", "litigation_hold", "remove_aliases"], |st| {
        assert_eq!(user_in(st, LEAVER)["displayName"], format!("zz-Left {month} Lee Cloud"));
        assert_eq!(user_in(st, LEAVER)["proxyAddresses"], serde_json::json!([format!("SMTP:{CLOUD}")]));
        let m = mailbox(st, CLOUD);
        assert_eq!((m["litigationHold"].clone(), m["litigationHoldDays"].clone()), (Value::Bool(true), Value::from(365)));
    });
    // On hold, the mailbox keeps the licence that carries it.
    assert_eq!(status_of(&r, "remove_license", "SPE_E3"), "needs_action", "{r:#}");
}
