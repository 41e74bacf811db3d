//! The worked client examples in `scripts/clients/`, layered on the default script as a client's
//! `overrides`, each run against the demo tenant.

use serde_json::Value;

use crate::helpers::*;
use offboard_host::demo::ids;

fn config(home: &Home) -> String {
    let scripts = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts");
    let cfg = home.write(
        "offboard-host.toml",
        &format!(
            "scripts_dir = \"{scripts}\"\n\
             [tenants.lawfirm]\ndirectory = \"cloud\"\ndemo = true\noverrides = \"clients/legal-hold.rhai\"\n\
             [tenants.fabrikam]\ndirectory = \"hybrid-synced\"\ndemo = true\noverrides = \"clients/block-sign-in-no-ad.rhai\"\n\
             [tenants.plain-hybrid]\ndirectory = \"hybrid-synced\"\ndemo = true\n"
        ),
    );
    cfg.to_str().unwrap().to_string()
}

fn run(home: &Home, cfg: &str, tenant: &str, upn: &str) -> (i32, Value) {
    let o = home.cmd(["run", "default.rhai", "--user", upn, "--tenant", tenant, "--config", cfg, "--yes", "--json"]).run();
    (o.code, o.json())
}

fn mailbox(home: &Home, upn: &str) -> Value {
    home.state()["exchange"]["mailboxes"].as_array().unwrap().iter().find(|m| m["upn"] == upn).unwrap().clone()
}

#[test]
fn legal_hold_keeps_licences_and_forwards_to_the_shared_mailbox() {
    let home = Home::new();
    let cfg = config(&home);
    let (code, r) = run(&home, &cfg, "lawfirm", CLOUD);
    assert_eq!(code, 0, "{r:#}");
    let messages = r["messages"].to_string();
    assert!(
        messages.contains("script layers: default.rhai, then clients/legal-hold.rhai (overrides: mailbox_policy, step_licenses)"),
        "{messages}"
    );
    assert!(messages.contains("legal hold: licences and licence groups are kept"), "{messages}");
    // The rest of the offboarding happened.
    let user = home.user(ids::LEAVER_CLOUD_ID);
    assert_eq!(user["accountEnabled"], false);
    assert!(!home.group_members(ids::GROUP_SALES_TEAM).contains(&ids::LEAVER_CLOUD_ID.to_string()));
    // No licence step at all, and every licence still assigned (direct and through the group).
    // (The manager's reference is removed in the same phase, and is no licence step.)
    assert!(
        steps(&r).iter().all(|s| s["action"] != "remove_license" && (s["phase"] != "licenses" || s["action"] == "remove_manager")),
        "{r:#}"
    );
    let seed = seed_state();
    let mut now = skus_of(&user);
    let mut was = skus_of(&user_in(&seed, ids::LEAVER_CLOUD_ID));
    now.sort();
    was.sort();
    assert_eq!(now, was);
    assert!(home.group_members(ids::GROUP_VISIO_LICENCE).contains(&ids::LEAVER_CLOUD_ID.to_string()));
    // Mail goes to the legal team's shared mailbox, a copy kept; the mailbox itself is shared.
    let m = mailbox(&home, CLOUD);
    assert_eq!(m["typeDetails"], "SharedMailbox", "{m:#}");
    assert!(m["forwardingAddress"].to_string().to_lowercase().contains("legal"), "{m:#}");
    assert!(m["forwardingSmtpAddress"].is_null(), "the user's own forwarding is replaced: {m:#}");
    assert_eq!(m["deliverToMailboxAndForward"], true, "{m:#}");

    // A second run changes nothing.
    let before = home.stats().writes;
    let (code, r2) = run(&home, &cfg, "lawfirm", CLOUD);
    assert_eq!(code, 0, "{r2:#}");
    assert_eq!(r2["stats"]["writes"], 0, "{r2:#}");
    assert_eq!(home.stats().writes, before);
}

#[test]
fn a_client_without_managed_ad_stays_in_the_cloud_and_blocks_sign_in_through_a_group() {
    let home = Home::new();
    let cfg = config(&home);
    // Without the overrides, a hybrid-synced tenant with no AD configured cannot offboard a synced user.
    let (code, r) = run(&home, &cfg, "plain-hybrid", SYNCED);
    assert_ne!(code, 0, "{r:#}");
    assert_eq!(home.stats().writes, 0);

    let (code, r) = run(&home, &cfg, "fabrikam", SYNCED);
    assert_eq!(code, 0, "{r:#}");
    let messages = r["messages"].to_string();
    assert!(
        messages.contains("then clients/block-sign-in-no-ad.rhai (overrides: adjust_settings, before_disable, directory_mode)"),
        "{messages}"
    );
    assert!(messages.contains("runs as cloud-only here"), "{messages}");
    assert!(steps(&r).iter().all(|s| s["directory"] != "ad"), "no AD step: {r:#}");
    // The group add runs in the required lock phase, and the user is in the group.
    let add = step(&r, "add_group_membership", "CA - Block sign-in");
    assert_eq!((add["phase"].as_str(), add["status"].as_str()), (Some("lock"), Some("done")), "{add}");
    assert!(home.group_members(ids::GROUP_BLOCK_SIGN_IN).contains(&ids::LEAVER_SYNCED_ID.to_string()));
    assert_eq!(home.user(ids::LEAVER_SYNCED_ID)["accountEnabled"], false);

    let before = home.stats().writes;
    let (code, r2) = run(&home, &cfg, "fabrikam", SYNCED);
    assert_eq!(code, 0, "{r2:#}");
    assert_eq!(r2["stats"]["writes"], 0, "{r2:#}");
    assert_eq!(home.stats().writes, before);
    assert!(home.group_members(ids::GROUP_BLOCK_SIGN_IN).contains(&ids::LEAVER_SYNCED_ID.to_string()), "kept in the block group");
}

/// A bulk run loads the client's overrides like a one-user run: the legal hold holds for every
/// kind of run (bulk, scheduled and approved runs all start from the same session).
#[test]
fn bulk_runs_keep_the_clients_overrides() {
    let home = Home::new();
    let cfg = config(&home);
    let file = home.write("leavers.csv", &format!("upn\n{CLOUD}\n"));
    let o = home
        .cmd(["run", "default.rhai", "--users-file", file.to_str().unwrap(), "--tenant", "lawfirm", "--config", &cfg, "--yes", "--json"])
        .run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let user = home.user(ids::LEAVER_CLOUD_ID);
    assert_eq!(user["accountEnabled"], false, "the offboarding ran");
    let seed = seed_state();
    let mut now = skus_of(&user);
    let mut was = skus_of(&user_in(&seed, ids::LEAVER_CLOUD_ID));
    now.sort();
    was.sort();
    assert_eq!(now, was, "the legal hold keeps every licence in a bulk run too");
}
