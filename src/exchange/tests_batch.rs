//! The Exchange `$batch` path and the concurrency limit, client and simulator together: cmdlets
//! in flight together travel in one batch and each gets its own answer; a throttled sub-response
//! is retried alone; a write whose sub-response is unclear is not re-sent; the simulator refuses
//! what the real service refuses; the client never has more requests in flight than Exchange allows.

use serde_json::{json, Value};

use super::tests::{start, LEAVER};
use super::*;
use crate::demo::ids::*;
use crate::demo::{Knobs, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID};

#[tokio::test]
async fn cmdlets_in_flight_together_travel_in_one_batch() {
    let t = start(Knobs::default()).await;
    let exo = t.exo();
    exo.authenticate().await.expect("token");
    let before = t.server.stats();
    let (mb, full, send_as, rules, devices) = tokio::join!(
        exo.get_mailbox(LEAVER),
        exo.mailbox_permissions(LEAVER),
        exo.recipient_permissions(LEAVER),
        exo.inbox_rules(LEAVER),
        exo.mobile_devices(LEAVER),
    );
    assert_eq!(mb.expect("mailbox").expect("has one").upn.to_ascii_lowercase(), LEAVER);
    full.expect("full access");
    send_as.expect("send as");
    assert!(!rules.expect("rules").is_empty(), "the leaver has seeded inbox rules");
    assert!(!devices.expect("devices").is_empty(), "the leaver has seeded devices");
    let s = exo.stats();
    assert_eq!((s.batches, s.operations), (1, 5), "{s:?}");
    let sim = t.server.stats();
    assert_eq!(sim.http_requests - before.http_requests, 1, "one HTTP request for five cmdlets");
    assert_eq!(sim.exo_operations - before.exo_operations, 5);
    assert_eq!(sim.round_trips - before.round_trips, 1);
}

#[tokio::test]
async fn a_throttled_sub_response_is_retried_and_a_write_applied_once() {
    let t = start(Knobs { throttle_every: 2, retry_after_secs: 0, ..Knobs::default() }).await;
    let exo = t.exo();
    let (a, b, c, w) =
        tokio::join!(exo.get_mailbox(LEAVER), exo.inbox_rules(LEAVER), exo.mobile_devices(LEAVER), exo.add_send_as(LEAVER, MANAGER_UPN),);
    assert!(a.expect("read survives").is_some());
    b.expect("read survives");
    c.expect("read survives");
    w.expect("a throttled write did not run: re-sent");
    let s = exo.stats();
    assert!(s.batches >= 1 && s.retries >= 1 && s.throttled >= 1, "{s:?}");
    assert_eq!(t.mailbox(LEAVER).await["sendAs"], json!([MANAGER_UPN]), "applied exactly once");
}

#[tokio::test]
async fn an_unclear_write_in_a_batch_is_not_resent() {
    let t = start(Knobs { fault_every: 1, fault_match: Some("Add-RecipientPermission".into()), ..Knobs::default() }).await;
    let exo = t.exo();
    let (read, write) = tokio::join!(exo.get_mailbox(LEAVER), exo.add_send_as(LEAVER, MANAGER_UPN));
    assert!(read.expect("the read beside it is answered").is_some());
    let e = write.expect_err("503");
    assert!(e.maybe_applied(), "{e:?}");
    assert_eq!(exo.stats().batches, 1);
    assert_eq!(t.server.stats().exo_writes, 1, "sent once");
}

async fn token(t: &super::tests::T) -> String {
    let form =
        [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", EXO_SCOPE)];
    let v: Value = reqwest::Client::new().post(t.server.token_url()).form(&form).send().await.expect("token").json().await.expect("json");
    v["access_token"].as_str().expect("token").to_string()
}

#[tokio::test]
async fn the_simulator_refuses_what_exchange_refuses_in_a_batch() {
    let t = start(Knobs::default()).await;
    let token = token(&t).await;
    let base = t.server.exchange_base_url();
    let invoke = format!("{base}/adminapi/beta/{DEMO_TENANT_ID}/InvokeCommand");
    let sub = |id: usize, method: &str, url: &str, identity: &str| {
        json!({"id": id.to_string(), "method": method, "url": url,
               "headers": {"X-AnchorMailbox": format!("UPN:{LEAVER}"), "Content-Type": "application/json"},
               "body": {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": identity}}}})
    };
    let post = |body: Vec<u8>| {
        let url = format!("{base}/adminapi/beta/{DEMO_TENANT_ID}/$batch");
        let token = token.clone();
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let envelope = |reqs: Vec<Value>| serde_json::to_vec(&json!({"requests": reqs})).expect("json");

    let eleven = (1..=11).map(|i| sub(i, "POST", &invoke, LEAVER)).collect();
    assert_eq!(post(envelope(eleven)).await.0, 400, "more than 10");
    let other_tenant = format!("{base}/adminapi/beta/other.onmicrosoft.com/InvokeCommand");
    let graph = format!("{base}/v1.0/users");
    for (what, bad) in [
        ("GET", sub(2, "GET", &invoke, LEAVER)),
        ("another tenant", sub(2, "POST", &other_tenant, LEAVER)),
        ("not InvokeCommand", sub(2, "POST", &graph, LEAVER)),
        ("a relative url", sub(2, "POST", "InvokeCommand", LEAVER)),
    ] {
        let (status, _) = post(envelope(vec![sub(1, "POST", &invoke, LEAVER), bad])).await;
        assert_eq!(status, 400, "{what}");
    }
    assert_eq!(post(b"{not json".to_vec()).await.0, 400, "malformed body");
    assert_eq!(post(serde_json::to_vec(&json!({"requests": "x"})).expect("json")).await.0, 400, "requests not an array");
    let before = t.server.stats().exo_operations;
    assert_eq!(before, 0, "nothing refused above ran");

    // A valid batch: each sub-request has its own status and body.
    let (status, body) = post(envelope(vec![sub(1, "POST", &invoke, LEAVER), sub(2, "POST", &invoke, "nobody@contoso.test")])).await;
    assert_eq!(status, 200);
    let by_id = |id: &str| body["responses"].as_array().expect("responses").iter().find(|r| r["id"] == id).expect("response").clone();
    assert_eq!(by_id("1")["status"], 200);
    assert_eq!(by_id("1")["body"]["value"][0]["UserPrincipalName"].as_str().map(str::to_ascii_lowercase).as_deref(), Some(LEAVER));
    assert_eq!(by_id("2")["status"], 404);
    assert!(by_id("2")["body"]["error"]["details"][0]["message"].as_str().expect("message").contains("ManagementObjectNotFoundException"));
}

#[tokio::test]
async fn the_concurrency_limit_is_enforced_and_the_client_stays_under_it() {
    // Enforced: more than the limit in flight at once (held there by the latency) are refused.
    let t = start(Knobs { latency_ms: 150, exo_concurrency: Some(2), ..Knobs::default() }).await;
    let token = token(&t).await;
    let url = format!("{}/adminapi/beta/{DEMO_TENANT_ID}/InvokeCommand", t.server.exchange_base_url());
    let one = || {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let body = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": LEAVER}}});
            let r = reqwest::Client::new().post(url).bearer_auth(token).header("X-AnchorMailbox", format!("UPN:{LEAVER}")).json(&body);
            let r = r.send().await.expect("send");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    let answers = futures::future::join_all((0..4).map(|_| one())).await;
    let refused: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert_eq!(refused.len(), 2, "{answers:?}");
    assert!(refused.iter().all(|(_, body)| batch::is_busy(&Value::String(body.clone()))), "{refused:?}");
    assert_eq!(t.server.stats().exo_concurrency_refused, 2);

    // The client: 40 cmdlets at once, from two clients of the same tenant, one at a time each
    // (no batching, the worst case): never more than the limit in flight, so none refused.
    let t = start(Knobs { latency_ms: 20, exo_concurrency: Some(MAX_CONCURRENT as u64), ..Knobs::default() }).await;
    let mut cfg = t.cfg();
    cfg.batching = false;
    let (a, b) = (
        InvokeCommandExchange::client(cfg.clone(), DEMO_TENANT_ID, 1000).expect("client"),
        InvokeCommandExchange::client(cfg, DEMO_TENANT_ID, 1000).expect("client"),
    );
    let reads = (0..20).flat_map(|_| [a.get_mailbox(LEAVER), b.get_mailbox(LEAVER)]);
    for r in futures::future::join_all(reads).await {
        assert!(r.expect("answered").is_some());
    }
    let sim = t.server.stats();
    assert_eq!((sim.exo_concurrency_refused, sim.exo_operations), (0, 40), "{sim:?}");
    assert_eq!(a.stats().retries + b.stats().retries, 0);
}
