//! `runs list` / `runs show`: every run, every step, the prior state, intent and outcome.

use crate::helpers::*;

#[test]
fn runs_list_and_show() {
    let home = Home::new();
    let (code, plan) = home.plan(CLOUD);
    assert_eq!(code, 0);
    let (code, apply) = home.apply(CLOUD);
    assert_eq!(code, 0);
    let runs = home.runs();
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let find = |id: &serde_json::Value| runs.iter().find(|r| r["run_id"] == *id).unwrap_or_else(|| panic!("run {id} not listed")).clone();
    let p = find(&plan["run_id"]);
    assert_eq!(p["mode"], "plan");
    assert_eq!(p["status"], "planned");
    assert_eq!(p["user"], CLOUD);
    assert_eq!(p["tenant"], "demo");
    let a = find(&apply["run_id"]);
    assert_eq!(a["mode"], "apply");
    assert_eq!(a["status"], "succeeded");
    assert_eq!(a["step_counts"]["done"], CLEAN_DONE, "{a:#}");

    let d = home.run_detail(apply["run_id"].as_str().unwrap());
    assert_eq!(d["status"], "succeeded");
    let st = d["steps"].as_array().unwrap();
    assert_eq!(st.len(), steps(&apply).len());
    let by = |action: &str, target: &str| st.iter().find(|s| s["action"] == action && s["target_display"] == target).unwrap().clone();
    let disable = by("disable_account", CLOUD);
    assert_eq!(disable["prior"], serde_json::json!({"accountEnabled": true}));
    assert_eq!(disable["target_id"], ids::LEAVER_CLOUD_ID);
    assert_eq!(by("clear_employee_id", CLOUD)["prior"], serde_json::json!({"employeeId": "E1001"}));
    assert_eq!(by("remove_manager", CLOUD)["prior"]["managerId"], ids::MANAGER_ID);
    assert_eq!(by("remove_group_membership", "Sales Team")["prior"]["groupId"], ids::GROUP_SALES_TEAM);
    for s in st {
        match s["status"].as_str().unwrap() {
            "done" => {
                assert!(s["intent_at"].is_string() && s["outcome_at"].is_string(), "{s:#}");
                assert!(s["intent_at"].as_str().unwrap() <= s["outcome_at"].as_str().unwrap(), "{s:#}");
                assert!(!s["prior"].is_null(), "{s:#}");
            }
            "skipped" => assert!(s["intent_at"].is_null(), "a skipped step has an intent: {s:#}"),
            // Left to a person (the dynamic group): never sent, final at once.
            "needs_action" => assert!(s["intent_at"].is_null() && !s["detail"].as_str().unwrap().is_empty(), "{s:#}"),
            // The conversion is instant in these tests (see `Cmd::new`): nothing to wait for.
            "already_done" if s["action"] == "wait_for_shared_mailbox" => assert!(s["intent_at"].is_null(), "{s:#}"),
            other => panic!("unexpected status {other}: {s:#}"),
        }
    }
    // The plan run has its steps too, none with an intent.
    let dp = home.run_detail(plan["run_id"].as_str().unwrap());
    assert_eq!(dp["steps"].as_array().unwrap().len(), PLAN_STEPS);
    assert!(dp["steps"].as_array().unwrap().iter().all(|s| s["intent_at"].is_null()));

    // Human output works too.
    let o = home.cmd(["runs", "list"]).run();
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains(apply["run_id"].as_str().unwrap()));

    let o = home.cmd(["runs", "show", "nope"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no run with id 'nope'"), "{}", o.stderr);
}
