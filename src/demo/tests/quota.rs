//! Graph's write quota over HTTP (the window arithmetic itself is tested in `quota.rs`), and the
//! seeded random fault knobs.

use super::*;

fn patch(id: &str, enabled: bool) -> (String, Value) {
    (format!("/users/{id}"), json!({"accountEnabled": enabled}))
}

#[tokio::test]
async fn the_write_quota_refuses_direct_and_batched_writes_with_retry_after() {
    let quota = crate::demo::quota::WriteQuota { writes: 3, secs: 2 };
    let t = start_with(Knobs { graph_write_quota: Some(quota), ..Knobs::default() }).await;
    for _ in 0..2 {
        let (path, body) = patch(MANAGER_ID, true);
        assert_eq!(t.call("PATCH", &path, Some(body)).await.0, 204);
    }
    // Reads do not count against a write quota.
    for _ in 0..5 {
        assert_eq!(t.call("GET", &format!("/users/{MANAGER_ID}"), None).await.0, 200);
    }
    // A batch of three writes: the first fills the window, the other two come back 429 inside
    // the 200 envelope, each with the window's Retry-After, and are not applied.
    let reqs: Vec<Value> = [LEAVER_CLOUD_ID, LEAVER_SYNCED_ID, LEAVER_ADMIN_ID]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({"id": i.to_string(), "method": "PATCH", "url": format!("/users/{id}"),
                "headers": {"Content-Type": "application/json"}, "body": {"accountEnabled": false}})
        })
        .collect();
    let (s, v, _) = t.call("POST", "/$batch", Some(json!({"requests": reqs}))).await;
    assert_eq!(s, 200);
    let r = v["responses"].as_array().expect("responses");
    let statuses: Vec<u64> = r.iter().map(|r| r["status"].as_u64().expect("status")).collect();
    assert_eq!(statuses, vec![204, 429, 429]);
    for sub in &r[1..] {
        assert_eq!(sub["body"]["error"]["code"], "TooManyRequests");
        assert_eq!(sub["headers"]["x-ms-throttle-information"], "WriteLimitExceeded");
        let secs: u64 = sub["headers"]["Retry-After"].as_str().expect("Retry-After").parse().expect("seconds");
        assert!((1..=2).contains(&secs), "the oldest write leaves a 2 s window within 2 s: {secs}");
    }
    // A direct write is refused too, with the header on the HTTP answer.
    let (path, body) = patch(MANAGER_ID, true);
    let (s, v, h) = t.call("PATCH", &path, Some(body.clone())).await;
    assert_eq!((s, v["error"]["code"].as_str()), (429, Some("TooManyRequests")));
    let secs: u64 = h.get("retry-after").expect("Retry-After").to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&secs), "{secs}");
    let st = t.server.stats();
    assert_eq!((st.writes, st.writes_applied, st.quota_throttled, st.throttled), (6, 3, 3, 3));
    for id in [LEAVER_SYNCED_ID, LEAVER_ADMIN_ID] {
        let (_, u) = t.get(&format!("/users/{id}?$select=accountEnabled")).await;
        assert_eq!(u["accountEnabled"], true, "a throttled write was applied");
    }
    // The window renews: after the Retry-After the write is admitted.
    tokio::time::sleep(Duration::from_secs(secs)).await;
    assert_eq!(t.call("PATCH", &path, Some(body)).await.0, 204);
    assert_eq!(t.server.stats().quota_throttled, 3);
}

#[tokio::test]
async fn the_documented_quota_is_the_default_and_the_knob_reads_writes_per_seconds() {
    assert_eq!(Knobs::default().write_quota(), crate::demo::quota::WriteQuota { writes: 3000, secs: 150 });
    assert_eq!(Knobs::default().app_write_quota(), crate::demo::quota::WriteQuota { writes: 70_000, secs: 300 });
    // Through /_sim/knobs, as a test in another process sets it.
    let t = start().await;
    t.set_knobs(json!({"graph_write_quota": {"writes": 1, "secs": 60}})).await;
    let (path, body) = patch(MANAGER_ID, true);
    assert_eq!(t.call("PATCH", &path, Some(body.clone())).await.0, 204);
    let (s, _, h) = t.call("PATCH", &path, Some(body)).await;
    assert_eq!(s, 429);
    let secs: u64 = h.get("retry-after").expect("Retry-After").to_str().expect("ascii").parse().expect("seconds");
    assert!((59..=60).contains(&secs), "{secs}");
}

/// Which of 200 reads a seeded random throttle hits.
async fn throttled_reads(seed: u64) -> Vec<usize> {
    let t = start_with(Knobs { fault_seed: Some(seed), throttle_rate: 0.1, ..Knobs::default() }).await;
    let mut hit = Vec::new();
    for i in 0..200 {
        if t.call("GET", &format!("/users/{MANAGER_ID}?$select=id"), None).await.0 == 429 {
            hit.push(i);
        }
    }
    assert_eq!(t.server.stats().throttled, hit.len() as u64);
    hit
}

#[tokio::test]
async fn seeded_random_faults_are_reproducible() {
    let a = throttled_reads(42).await;
    // About a tenth, not every Nth.
    assert!((8..=35).contains(&a.len()), "{a:?}");
    let gaps: Vec<usize> = a.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().any(|g| *g != gaps[0]), "evenly spaced: {a:?}");
    assert_eq!(throttled_reads(42).await, a, "the same seed hits the same operations");
    assert_ne!(throttled_reads(7).await, a, "another seed hits others");
    // A rate without a seed is off.
    let t = start_with(Knobs { fault_rate: 1.0, ..Knobs::default() }).await;
    assert_eq!(t.call("GET", &format!("/users/{MANAGER_ID}"), None).await.0, 200);
    t.set_knobs(json!({"fault_seed": 1, "fault_rate": 1.0})).await;
    assert_eq!(t.call("GET", &format!("/users/{MANAGER_ID}"), None).await.0, 503);
}
