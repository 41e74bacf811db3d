//! The state file: restart, reset, read_stats, and the seed itself.

use super::*;

#[tokio::test]
async fn state_persists_across_restart_and_reset_restores_the_seed() {
    let t = start().await;
    let (s, _, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"employeeId": null}))).await;
    assert_eq!(s, 204);
    let addr = t.server.addr();
    let path = state_path(&t.dir);
    t.server.shutdown().await;

    let stats = read_stats(&path).expect("read_stats");
    assert_eq!((stats.token_requests, stats.writes, stats.writes_applied, stats.http_requests), (1, 1, 1, 2));

    let server = DemoServer::start(DemoConfig { state_path: path.clone(), knobs: Knobs::default() }, "127.0.0.1:0".parse().expect("a"))
        .await
        .expect("restart");
    assert_ne!(server.addr(), addr);
    assert_eq!(server.stats(), stats, "stats carry over");
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &server).await;
    let u: Value = http
        .get(format!("{}/users/{LEAVER_CLOUD_ID}?$select=employeeId", server.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(u["employeeId"], Value::Null);

    // Reset over HTTP reseeds in place and zeroes the stats.
    let r = http.post(format!("http://{}/_sim/reset", server.addr())).send().await.expect("reset");
    assert_eq!(r.status(), 200);
    assert_eq!(server.stats(), SimStats::default());
    let u: Value = http
        .get(format!("{}/users/{LEAVER_CLOUD_ID}?$select=employeeId", server.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(u["employeeId"], "E1001");
    server.shutdown().await;
    assert_eq!(read_stats(&path).expect("stats").operations, 1);

    // The file-level reset does the same for a tenant nobody is serving.
    reset(&path).expect("reset");
    assert_eq!(read_stats(&path).expect("stats"), SimStats::default());
    let st = store::load(&path).expect("load");
    assert_eq!(st.users.len(), seed::NAMED_USERS + seed::ORDINARY_USERS);
}

#[test]
fn seed_is_deterministic_and_consistent() {
    let a = seed::seed();
    let b = seed::seed();
    let ids = |s: &model::State| s.users.iter().map(|u| (u.id.clone(), u.user_principal_name.clone())).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert!(a.users.len() >= 223);
    let mut upns: Vec<&str> = a.users.iter().map(|u| u.user_principal_name.as_str()).collect();
    upns.sort();
    upns.dedup();
    assert_eq!(upns.len(), a.users.len(), "UPNs are unique");
    for u in &a.users {
        if let Some(m) = &u.manager_id {
            assert!(a.user_index(m).is_some(), "manager of {} exists", u.user_principal_name);
        }
        for s in &u.license_assignment_states {
            if let Some(g) = &s.assigned_by_group {
                let g = &a.groups[a.group_index(g).expect("group")];
                assert!(g.members.contains(&u.id), "{} holds a licence from a group it is in", u.user_principal_name);
            }
        }
    }
    for s in &a.skus {
        assert!(a.consumed_units(&s.sku_id) <= s.enabled_units, "{} not oversubscribed", s.sku_part_number);
    }
    assert_eq!(a.directory_roles[0].members.len(), 1);
}

/// A larger tenant holds the default one unchanged, and the ordinary users of a tenant seeded
/// with N are all in it (the scale test takes a thousand from the default tenant).
#[test]
fn a_larger_seed_extends_the_default_one_and_ordinary_users_are_in_their_seed() {
    let (small, large) = (seed::seed(), seed::seed_with(1200));
    assert_eq!(large.users.len(), small.users.len() + 200);
    let upns = |s: &model::State| s.users.iter().map(|u| u.user_principal_name.clone()).collect::<Vec<_>>();
    assert_eq!(upns(&large)[..small.users.len()], upns(&small)[..]);
    for (n, tenant) in [(seed::ORDINARY_USERS, &small), (1200, &large)] {
        let users = super::super::ordinary_users(n);
        assert_eq!(users.len(), n - 1, "all but the role holder");
        assert!(users.iter().all(|u| tenant.users.iter().any(|t| &t.user_principal_name == u)), "{n}");
    }
}
