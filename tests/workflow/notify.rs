//! `notify_supervisor` is `done` only when the message is in the sender's Sent Items (found by
//! the marker the tool sets); a 503 that was not applied is sent again, an answer that was lost
//! is not; a crash after `remove_manager` still mails the manager the journal recorded.

use super::*;

const NOTIFY: &str = r#"
[tenants.demo]
directory = "cloud"
demo = true
[tenants.demo.defaults]
notify_supervisor = true
mail_sender = "alex.adams@contoso.test"
"#;

fn notify_home() -> Home {
    let home = Home::new();
    home.write("offboard-host.toml", NOTIFY);
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    home
}

fn apply_env(home: &Home, env: &[(&str, &str)]) -> (i32, Value) {
    let mut c = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json"]);
    for (k, v) in env {
        c = c.env(k, v);
    }
    let o = c.run();
    (o.code, o.json())
}

#[test]
fn the_mail_is_done_only_when_sent_items_hold_it() {
    let home = notify_home();
    let (code, r) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r:#}");
    let s = step(&r, "notify_supervisor", CLOUD);
    assert_eq!(s["status"], "done", "{s:#}");
    assert!(s["detail"].as_str().unwrap().contains("Sent Items"), "{s:#}");
    let mail = sent_mail(&home);
    assert_eq!(mail.len(), 1);
    // The marker is on the message, naming this user.
    let props = mail[0]["singleValueExtendedProperties"].as_array().expect("marker");
    assert!(props[0]["value"].as_str().unwrap().ends_with(ids::LEAVER_CLOUD_ID), "{props:?}");
}

#[test]
fn a_mail_that_never_arrives_is_unconfirmed_and_the_next_run_sends_it() {
    let home = notify_home();
    let (code, r) = apply_env(&home, &[("OFFBOARD_DEMO_MAIL_LOST", "1")]);
    assert_eq!(code, 0, "{r:#}");
    let s = step(&r, "notify_supervisor", CLOUD);
    assert_eq!(s["status"], "unconfirmed", "{s:#}");
    assert!(s["detail"].as_str().unwrap().contains("does not show it"), "{s:#}");
    assert!(sent_mail(&home).is_empty());
    // Not "done", so not closed as if it were: the report counts it apart.
    assert_eq!(r["steps"].as_array().unwrap().iter().filter(|s| s["status"] == "unconfirmed").count(), 1);
    // The next run looks in Sent Items, does not find it, and sends it (once).
    let (code, r2) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r2:#}");
    let s = step(&r2, "notify_supervisor", CLOUD);
    assert_eq!(s["status"], "done", "{s:#}");
    assert_eq!(sent_mail(&home).len(), 1);
    let (_, r3) = home.apply(CLOUD);
    assert_eq!(status_of(&r3, "notify_supervisor", CLOUD), "already_done");
    assert_eq!(sent_mail(&home).len(), 1);
}

#[test]
fn a_503_that_was_not_applied_is_sent_again_and_a_lost_answer_is_not() {
    // The first sendMail answers 503 (not applied): the read-back finds nothing, so it is resent.
    let home = notify_home();
    let env = [("OFFBOARD_DEMO_FAULT_FIRST", "1"), ("OFFBOARD_DEMO_FAULT_MATCH", "sendMail"), ("OFFBOARD_DEMO_RETRY_BASE_MS", "10")];
    let (code, r) = apply_env(&home, &env);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(home.stats().faults, 1, "the first send met the 503");
    assert_eq!(status_of(&r, "notify_supervisor", CLOUD), "done");
    assert_eq!(sent_mail(&home).len(), 1, "one mail, not two");

    // The send lands but its answer is held back past the client's timeout: found in Sent Items.
    let home = notify_home();
    let env = [
        ("OFFBOARD_DEMO_HANG_EVERY", "1"),
        ("OFFBOARD_DEMO_HANG_MS", "1500"),
        ("OFFBOARD_DEMO_FAULT_MATCH", "sendMail"),
        ("OFFBOARD_DEMO_CLIENT_TIMEOUT_MS", "400"),
        ("OFFBOARD_DEMO_RETRY_BASE_MS", "10"),
    ];
    let (code, r) = apply_env(&home, &env);
    assert_eq!(code, 0, "{r:#}");
    let s = step(&r, "notify_supervisor", CLOUD);
    assert_eq!(s["status"], "done", "{s:#}");
    assert_eq!(sent_mail(&home).len(), 1, "the lost answer was not taken for a lost mail");
}

#[test]
fn after_a_failed_send_the_rerun_still_knows_the_manager() {
    // The send fails for good (every sendMail 503) after remove_manager has run.
    let home = notify_home();
    let env = [("OFFBOARD_DEMO_FAULT_EVERY", "1"), ("OFFBOARD_DEMO_FAULT_MATCH", "sendMail"), ("OFFBOARD_DEMO_RETRY_BASE_MS", "10")];
    let (code, r) = apply_env(&home, &env);
    assert_ne!(code, 0, "{r:#}");
    assert_eq!(status_of(&r, "notify_supervisor", CLOUD), "failed");
    assert!(user_in(&home.state(), ids::LEAVER_CLOUD_ID)["managerId"].is_null(), "the manager was removed");
    assert!(sent_mail(&home).is_empty());
    // The live user has no manager now; the journal's remove_manager prior names it.
    let (code, r2) = home.apply(CLOUD);
    assert_eq!(code, 0, "{r2:#}");
    assert_eq!(status_of(&r2, "notify_supervisor", CLOUD), "done", "{r2:#}");
    let mail = sent_mail(&home);
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["to"], serde_json::json!([ids::MANAGER_UPN]));
    assert!(mail[0]["body"].as_str().unwrap().contains("Morgan Manager"), "{}", mail[0]["body"]);
}
