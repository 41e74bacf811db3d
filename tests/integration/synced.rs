//! A user synced from AD: the steps that belong on premises say so.

use crate::helpers::*;

#[test]
fn synced_user_plan_names_what_belongs_in_ad_and_reapply_sends_nothing() {
    let home = Home::new();
    let (code, r) = home.plan(SYNCED);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(home.stats().writes, 0);
    // No AD access for this client: what is mastered in AD is left to a person.
    for a in ["reset_password", "remove_manager", "clear_employee_id"] {
        let s = step(&r, a, SYNCED);
        assert_eq!(s["status"], "needs_action", "{s}");
        assert!(s["detail"].as_str().unwrap().contains("AD"), "{s}");
    }
    let d = step(&r, "disable_account", SYNCED);
    assert_eq!(d["status"], "planned");
    assert!(d["detail"].as_str().unwrap().contains("sync re-enables"), "{d}");
    let hq = step(&r, "remove_group_membership", "HQ-FileShare-RW");
    assert_eq!(hq["status"], "needs_action");
    assert!(r["messages"].as_array().unwrap().iter().any(|m| m.as_str().unwrap().contains("synced from on-premises AD")), "{r:#}");

    let (code, r) = home.apply(SYNCED);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["status"], "succeeded");
    assert_eq!(status_of(&r, "disable_account", SYNCED), "done");
    let u = home.user(ids::LEAVER_SYNCED_ID);
    let seed = user_in(&seed_state(), ids::LEAVER_SYNCED_ID);
    assert_eq!(u["accountEnabled"], false);
    // Mastered in AD: left alone.
    assert_eq!(u["employeeId"], "E1002");
    assert_eq!(u["managerId"], ids::MANAGER_ID);
    assert_eq!(u["lastPasswordChangeDateTime"].as_str().unwrap()[..10], seed["lastPasswordChangeDateTime"].as_str().unwrap()[..10]);
    assert!(u["passwordSha256"].is_null());
    assert!(home.stats().writes > 0);
    assert_rerun_sends_nothing(&home, SYNCED);
}
