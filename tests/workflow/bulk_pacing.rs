//! Bulk runs paced at Graph's write quota: the simulator enforces a scaled-down quota, the
//! client is told the same quota in its configuration (never by the simulator), and a bulk that
//! needs several windows is sent without one quota 429, without losing a user, and applying each
//! user once.

use super::*;

/// A tenth of a tenth of the documented 3,000 per 150 s: 30 writes per 3 s.
const QUOTA: &str = "30/3";

/// A fresh home whose demo tenant tells the client `quota`, the tenant freshly seeded.
fn home_with_quota(quota: &str) -> Home {
    let home = Home::new();
    home.write("offboard-host.toml", &format!("[tenants.demo]\ndirectory = \"cloud\"\ndemo = true\ngraph_write_quota = \"{quota}\"\n"));
    assert_eq!(home.cmd(["demo", "reset"]).run().code, 0);
    home
}

/// Ordinary users after the teams: each in no group, with one licence and a mailbox, so each
/// needs exactly the same writes.
fn uniform_users(n: usize) -> Vec<(String, String)> {
    use offboard_host::demo::seed::{NAMED_USERS, TEAM_USERS};
    let seed = offboard_host::demo::seed::seed();
    seed.users[NAMED_USERS + TEAM_USERS..].iter().take(n).map(|u| (u.id.clone(), u.user_principal_name.clone())).collect()
}

#[test]
fn a_bulk_over_several_quota_windows_is_paced_under_the_quota_and_applies_each_user_once() {
    let home = home_with_quota(QUOTA);
    let users = uniform_users(12);
    home.write("users.csv", &format!("upn\n{}\n", users.iter().map(|(_, u)| u.as_str()).collect::<Vec<_>>().join("\n")));
    let o = home
        .cmd(["run", "default.rhai", "--users-file", "users.csv", "--yes", "--json"])
        .env("OFFBOARD_DEMO_GRAPH_WRITE_QUOTA", QUOTA)
        // The CLI's own conversion delay: users wait for their shared mailbox while others write.
        .env("OFFBOARD_DEMO_SHARED_DELAY_MS", "1500")
        .run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let doc = o.json();
    let results = doc["users"].as_array().unwrap();
    assert_eq!(results.len(), users.len());
    for r in results {
        assert_eq!(r["status"], "succeeded", "{r}");
    }
    let stats = home.stats();
    assert_eq!(stats.quota_throttled, 0, "the client went over the quota");
    assert!(stats.writes_applied > 30, "the bulk needs more than one window ({} writes)", stats.writes_applied);
    // Each user applied once: the same writes for each of these identical users, none twice.
    let per_user: Vec<u64> = users.iter().map(|(id, _)| stats.user_writes.get(id).copied().unwrap_or(0)).collect();
    assert!(per_user[0] > 0, "{per_user:?}");
    assert!(per_user.iter().all(|n| *n == per_user[0]), "{per_user:?}");
    let state = home.state();
    for (id, upn) in &users {
        assert_eq!(user_in(&state, id)["accountEnabled"], false, "{upn}");
        assert_eq!(apply_runs(&home, upn).len(), 1, "{upn}");
    }
}

#[test]
fn an_unknown_tenant_in_the_file_is_refused_before_anything_is_written() {
    let home = home_with_quota(QUOTA);
    let users = uniform_users(2);
    home.write("users.csv", &format!("upn,tenant\n{},demo\n{},globex\n", users[0].1, users[1].1));
    let o = home.cmd(["run", "default.rhai", "--users-file", "users.csv", "--yes", "--json"]).run();
    assert_ne!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("globex"), "{}", o.stderr);
    assert_eq!(home.stats().writes, 0, "a write was sent");
    assert!(apply_runs(&home, &users[0].1).is_empty());
}

#[test]
fn a_quota_that_is_not_writes_per_seconds_is_refused() {
    let home = home_with_quota("3000 per 150");
    let o = home.cmd(["plan", "default.rhai", "--user", CLOUD, "--json"]).run();
    assert_ne!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("graph_write_quota"), "{}", o.stderr);
}
