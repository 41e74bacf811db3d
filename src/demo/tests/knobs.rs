//! Fault injection: throttling, faults, hangs, latency.

use super::*;

#[tokio::test]
async fn throttling_hits_direct_and_batch_operations() {
    let t = start_with(Knobs { throttle_every: 2, retry_after_secs: 7, ..Knobs::default() }).await;
    let (s1, _, _) = t.call("GET", &format!("/users/{MANAGER_ID}"), None).await;
    let (s2, v2, h2) = t.call("GET", &format!("/users/{MANAGER_ID}"), None).await;
    assert_eq!((s1, s2), (200, 429));
    assert_eq!(h2.get("retry-after").expect("Retry-After"), "7");
    assert_eq!(v2["error"]["code"], "TooManyRequests");
    assert_eq!(v2["error"]["message"], "Please retry again later.");

    let reqs: Vec<Value> =
        (0..4).map(|i| json!({"id": i.to_string(), "method": "GET", "url": format!("/users/{MANAGER_ID}?$select=id")})).collect();
    let (s, v, _) = t.call("POST", "/$batch", Some(json!({"requests": reqs}))).await;
    assert_eq!(s, 200);
    let statuses: Vec<u64> = v["responses"].as_array().expect("r").iter().map(|r| r["status"].as_u64().expect("s")).collect();
    assert_eq!(statuses, vec![200, 429, 200, 429]);
    assert_eq!(v["responses"][1]["headers"]["Retry-After"], "7");
    assert_eq!(t.server.stats().throttled, 3);
}

#[tokio::test]
async fn faults_are_not_applied() {
    let t = start_with(Knobs { fault_every: 1, ..Knobs::default() }).await;
    let (s, v, h) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"accountEnabled": false}))).await;
    assert_eq!(s, 503);
    assert_eq!(v["error"]["code"], "ServiceUnavailable");
    assert!(h.get("retry-after").is_none());
    t.set_knobs(json!({})).await;
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=accountEnabled")).await;
    assert_eq!(u["accountEnabled"], true);
    let st = t.server.stats();
    assert_eq!((st.faults, st.writes, st.writes_applied), (1, 1, 0));
}

#[tokio::test]
async fn hang_applies_the_write_then_delays_the_answer() {
    let t = start_with(Knobs { hang_every: 1, hang_ms: 1500, ..Knobs::default() }).await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let began = Instant::now();
    let res = client
        .patch(t.url(&format!("/users/{LEAVER_CLOUD_ID}")))
        .bearer_auth(&t.token)
        .json(&json!({"accountEnabled": false}))
        .send()
        .await;
    assert!(res.is_err_and(|e| e.is_timeout()), "the client times out");
    assert!(began.elapsed() < Duration::from_millis(1400));
    // The write landed even though the client never saw an answer, and it is on disk before the
    // held-back answer would have gone out (writing a thousand users can outlast the client's
    // 300 ms in a debug build, so the file is read until then).
    let on_disk = || {
        let file = store::load(&state_path(&t.dir)).expect("state file");
        !file.users.iter().find(|u| u.id == LEAVER_CLOUD_ID).expect("user").account_enabled
    };
    while !on_disk() {
        assert!(began.elapsed() < Duration::from_millis(1500), "the write was not on disk before its answer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.set_knobs(json!({})).await;
    assert_eq!(t.server.stats().writes_applied, 1);
}

#[tokio::test]
async fn latency_is_added_per_http_request() {
    let t = start_with(Knobs { latency_ms: 150, ..Knobs::default() }).await;
    let began = Instant::now();
    let (s, _) = t.get(&format!("/users/{MANAGER_ID}")).await;
    assert_eq!(s, 200);
    assert!(began.elapsed() >= Duration::from_millis(150));
}

#[test]
fn knobs_from_env_defaults_retry_after_to_one() {
    // Only unset-variable behaviour is checked: setting env vars would race other tests.
    if std::env::var_os("OFFBOARD_DEMO_RETRY_AFTER").is_none() {
        assert_eq!(Knobs::from_env().retry_after_secs, 1);
    }
}
