//! Behaviour of the client: tokens, retries, batching, paging, read-only, statistics.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;

use super::mock::{Call, Mock, Reply};
use crate::graph::{GraphClient, GraphError, GraphRequest};
use crate::secret::Secret;

fn hits(mock: &Mock, path: &str) -> usize {
    mock.log(|l| l.ops.iter().filter(|c| c.path == path).count())
}

/// A handler that answers `first` for the first `n` calls to anything, then 200 `{"ok":true}`.
fn first_n(n: usize, first: impl Fn() -> Reply + Send + Sync + 'static) -> impl Fn(&Call) -> Reply + Send + Sync {
    let count = AtomicUsize::new(0);
    move |_c: &Call| if count.fetch_add(1, Ordering::SeqCst) < n { first() } else { Reply::ok(json!({"ok": true})) }
}

#[tokio::test]
async fn token_is_cached_and_refreshed_after_401() {
    let mock = Mock::start(|c: &Call| {
        if c.path == "/users/x" && c.auth == "Bearer tok-1" {
            Reply::error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        } else {
            Reply::ok(json!({"auth": c.auth}))
        }
    })
    .await;
    let client = mock.client(false);
    for _ in 0..3 {
        assert_eq!(client.get("/me").await.expect("get /me")["auth"], "Bearer tok-1");
    }
    assert_eq!(mock.log(|l| l.token_hits), 1);
    let body = client.get("/users/x").await.expect("resent with a fresh token");
    assert_eq!(body["auth"], "Bearer tok-2");
    assert_eq!(mock.log(|l| l.token_hits), 2);
    assert_eq!(hits(&mock, "/users/x"), 2);
    // Every Graph call carried a request id; the re-send said it was one.
    let last = mock.log(|l| l.direct.last().cloned()).expect("a call");
    assert_eq!(last.retry_attempt.as_deref(), Some("1"));
}

#[tokio::test]
async fn bad_secret_is_auth_error_without_the_secret() {
    let mock = Mock::start(|_c: &Call| Reply::ok(json!({}))).await;
    let mut cfg = mock.config();
    cfg.client_secret = Secret::new("wrong-canary-42");
    let client = GraphClient::new(cfg).expect("client");
    let err = client.authenticate().await.expect_err("bad secret");
    assert!(matches!(err, GraphError::Auth { status: Some(401), .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("AADSTS7000215"), "{shown}");
    assert!(!shown.contains("canary"), "{shown}");
    // A Graph call fails the same way and sends nothing to Graph.
    let err = client.get("/me").await.expect_err("bad secret");
    assert!(matches!(err, GraphError::Auth { .. }));
    assert_eq!(mock.log(|l| l.ops.len()), 0);
}

#[tokio::test]
async fn throttled_429_waits_retry_after_then_succeeds() {
    let mock = Mock::start(first_n(1, || Reply::throttled("1"))).await;
    let client = mock.client(false);
    let started = Instant::now();
    client.get("/me").await.expect("retried after 429");
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After honoured");
    assert_eq!(hits(&mock, "/me"), 2);
    let s = client.stats();
    assert_eq!((s.throttled, s.retries, s.http_requests, s.operations), (1, 1, 3, 2));
    assert!(s.wait_ms >= 1000);
}

#[tokio::test]
async fn get_is_resent_after_503() {
    let mock = Mock::start(first_n(1, || Reply::error(503, "ServiceUnavailable", "try later"))).await;
    let client = mock.client(false);
    client.get("/me").await.expect("retried after 503");
    assert_eq!(hits(&mock, "/me"), 2);
}

#[tokio::test]
async fn non_idempotent_patch_is_not_resent_after_503() {
    let mock = Mock::start(first_n(1, || Reply::error(503, "ServiceUnavailable", "try later"))).await;
    let client = mock.client(false);
    let err = client.request(GraphRequest::patch("/users/u1", json!({"accountEnabled": false}))).await.expect_err("503");
    assert!(err.maybe_applied(), "{err:?}");
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("may have been applied"), "{err}");
    assert_eq!(hits(&mock, "/users/u1"), 1);
    assert_eq!(client.stats().writes, 1);
}

#[tokio::test]
async fn idempotent_patch_is_resent_after_503() {
    let mock = Mock::start(first_n(1, || Reply::error(504, "GatewayTimeout", "slow"))).await;
    let client = mock.client(false);
    let req = GraphRequest::patch("/users/u1", json!({"accountEnabled": false})).idempotent(true);
    client.request(req).await.expect("resent");
    assert_eq!(hits(&mock, "/users/u1"), 2);
    let bodies = mock.log(|l| l.direct.iter().map(|c| c.body.clone()).collect::<Vec<_>>());
    assert_eq!(bodies, vec![json!({"accountEnabled": false}); 2], "the same body both times");
    assert_eq!(client.stats().writes, 2);
}

#[tokio::test]
async fn retries_stop_at_max_retries() {
    let mock = Mock::start(|_c: &Call| Reply::throttled("0")).await;
    let mut cfg = mock.config();
    cfg.max_retries = 3;
    cfg.batching = false;
    let client = GraphClient::new(cfg).expect("client");
    let err = client.get("/me").await.expect_err("exhausted");
    assert!(matches!(err, GraphError::Exhausted { attempts: 4, status: Some(429), .. }), "{err:?}");
    assert!(!err.maybe_applied());
    assert_eq!(hits(&mock, "/me"), 4);

    // max_retries is clamped to 10.
    let mut cfg = mock.config();
    cfg.max_retries = 1000;
    cfg.batching = false;
    let client = GraphClient::new(cfg).expect("client");
    client.get("/you").await.expect_err("exhausted");
    assert_eq!(hits(&mock, "/you"), 11);
}

#[tokio::test]
async fn retries_stop_at_max_total_wait() {
    let mock = Mock::start(|c: &Call| if c.path == "/late" { Reply::throttled("3600") } else { Reply::throttled("1") }).await;
    let mut cfg = mock.config();
    cfg.max_total_wait = Duration::from_millis(1500);
    cfg.batching = false;
    let client = GraphClient::new(cfg).expect("client");
    let err = client.get("/me").await.expect_err("exhausted");
    // Waited 1 s once; a second 1 s wait would pass 1.5 s.
    assert!(matches!(err, GraphError::Exhausted { attempts: 2, waited_ms: 1000, .. }), "{err:?}");
    assert_eq!(hits(&mock, "/me"), 2);
    // A Retry-After beyond the cap gives up at once instead of sleeping an hour.
    let err = client.get("/late").await.expect_err("exhausted");
    assert!(matches!(err, GraphError::Exhausted { attempts: 1, .. }), "{err:?}");
    assert_eq!(hits(&mock, "/late"), 1);
}

#[tokio::test]
async fn http_date_retry_after_is_understood() {
    // A date in the past means "retry now"; an unparseable one would fall back to backoff.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(30)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let mock = Mock::start(first_n(1, move || Reply::throttled(&past))).await;
    let mut cfg = mock.config();
    cfg.retry_base_delay = Duration::from_secs(5); // backoff would make this test slow
    cfg.batching = false;
    let client = GraphClient::new(cfg).expect("client");
    let started = Instant::now();
    client.get("/me").await.expect("retried");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(hits(&mock, "/me"), 2);
}

#[tokio::test]
async fn timeout_on_non_idempotent_write_is_not_resent() {
    let mock = Mock::start(|_c: &Call| Reply::ok(json!({})).delay(Duration::from_millis(1500))).await;
    let mut cfg = mock.config();
    cfg.timeout = Duration::from_millis(200);
    let client = GraphClient::new(cfg).expect("client");
    let err = client.request(GraphRequest::post("/users/u1/revokeSignInSessions", json!({}))).await.expect_err("timeout");
    assert!(matches!(err, GraphError::Transport { maybe_applied: true, .. }), "{err:?}");
    assert!(err.maybe_applied());
    assert_eq!(hits(&mock, "/users/u1/revokeSignInSessions"), 1);
}

fn directory(c: &Call) -> Reply {
    match c.path.as_str() {
        "/users/u3" => Reply::error(404, "Request_ResourceNotFound", "Resource 'u3' does not exist."),
        p if c.method == "GET" => Reply::ok(json!({"id": p.trim_start_matches("/users/")})),
        _ => Reply::status(204, serde_json::Value::Null),
    }
}

#[tokio::test]
async fn five_concurrent_requests_share_one_batch() {
    let mock = Mock::start(directory).await;
    let client = mock.client(true);
    let mut reqs: Vec<GraphRequest> = (1..=4).map(|i| GraphRequest::get(format!("/users/u{i}"))).collect();
    reqs.push(GraphRequest::patch("/users/u9", json!({"accountEnabled": false})));
    let results = join_all(reqs.into_iter().map(|r| client.request(r))).await;

    assert_eq!(mock.log(|l| l.batches.len()), 1);
    assert_eq!(mock.log(|l| l.batches[0].len()), 5);
    assert_eq!(mock.log(|l| l.direct.len()), 0);
    for (i, r) in results.iter().enumerate().take(4) {
        let want = format!("u{}", i + 1);
        if i == 2 {
            let err = r.as_ref().expect_err("u3 is missing");
            assert!(err.is_not_found(), "{err:?}");
            assert_eq!(err.code(), Some("Request_ResourceNotFound"));
            assert!(err.to_string().starts_with("Graph GET /users/u3 failed: 404 Request_ResourceNotFound"), "{err}");
        } else {
            assert_eq!(r.as_ref().expect("ok").body["id"], want.as_str());
        }
    }
    let patch = results[4].as_ref().expect("patch ok");
    assert_eq!((patch.status, &patch.body), (204, &serde_json::Value::Null));

    // What went over the wire: relative urls, Content-Type only with a body.
    let sent = mock.log(|l| l.batches[0].iter().map(|c| c.raw.clone()).collect::<Vec<_>>());
    let get = sent.iter().find(|r| r["url"] == "/users/u1").expect("u1 sent");
    assert_eq!(get["method"], "GET");
    assert!(get.get("headers").is_none() && get.get("body").is_none());
    let patch = sent.iter().find(|r| r["method"] == "PATCH").expect("patch sent");
    assert_eq!(patch["headers"]["Content-Type"], "application/json");
    assert_eq!(patch["body"], json!({"accountEnabled": false}));

    let s = client.stats();
    assert_eq!((s.batches, s.operations, s.writes, s.http_requests), (1, 5, 1, 2));
    assert_eq!(s.round_trips, 2, "token, then one batch");
}

#[tokio::test]
async fn twenty_five_concurrent_requests_make_two_batches() {
    let mock = Mock::start(directory).await;
    let client = mock.client(true);
    let results = join_all((10..35).map(|i| client.get_owned(format!("/users/u{i}")))).await;
    assert!(results.iter().all(|r| r.is_ok()));
    let mut sizes = mock.log(|l| l.batches.iter().map(Vec::len).collect::<Vec<_>>());
    sizes.sort();
    assert_eq!(sizes, vec![5, 20]);
    assert_eq!(client.stats().batches, 2);
}

#[tokio::test]
async fn throttled_sub_request_is_retried() {
    let throttled_once = AtomicUsize::new(0);
    let mock = Mock::start(move |c: &Call| {
        if c.path == "/users/u2" && throttled_once.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::throttled("0")
        } else {
            directory(c)
        }
    })
    .await;
    let client = mock.client(true);
    let results = join_all([1, 2, 4, 5, 6].map(|i| client.get_owned(format!("/users/u{i}")))).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(hits(&mock, "/users/u2"), 2);
    let s = client.stats();
    assert_eq!((s.throttled, s.retries, s.operations), (1, 1, 6));
}

#[tokio::test]
async fn failed_envelope_resends_reads_but_not_unsafe_writes() {
    let mock = Mock::with_envelope(directory, |n| (n == 1).then(|| Reply::error(503, "ServiceUnavailable", "busy"))).await;
    let client = mock.client(true);
    let (read, write) =
        tokio::join!(client.get("/users/u1"), client.request(GraphRequest::post("/users/u1/revokeSignInSessions", json!({}))));
    assert_eq!(read.expect("read re-sent")["id"], "u1");
    let err = write.expect_err("write not re-sent");
    assert!(err.maybe_applied(), "{err:?}");
    assert_eq!(mock.log(|l| l.batches.len()), 1, "the read went alone, directly");
    assert_eq!(hits(&mock, "/users/u1"), 1);
    assert_eq!(hits(&mock, "/users/u1/revokeSignInSessions"), 0);
}

#[tokio::test]
async fn batching_off_sends_each_request_directly() {
    let mock = Mock::start(directory).await;
    let client = mock.client(false);
    let results = join_all((1..=5).map(|i| client.get_owned(format!("/users/u{i}")))).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 4);
    assert_eq!(mock.log(|l| (l.batches.len(), l.direct.len())), (0, 5));
    assert_eq!(mock.log(|l| l.token_hits), 1, "concurrent callers share one token fetch");
}

#[tokio::test]
async fn sequential_requests_count_round_trips() {
    let mock = Mock::start(directory).await;
    let client = mock.client(false);
    for i in 1..=3 {
        client.request(GraphRequest::delete(format!("/users/u{i}/manager/$ref"))).await.expect("delete");
    }
    let s = client.stats();
    assert_eq!((s.round_trips, s.http_requests, s.writes), (4, 4, 3));
}

#[tokio::test]
async fn get_all_follows_next_links() {
    let mock = Mock::start(|c: &Call| match c.path.as_str() {
        "/users?$top=2" => Reply::ok(json!({"value": [1, 2], "@odata.nextLink": "{base}/users?$skiptoken=a"})),
        "/users?$skiptoken=a" => Reply::ok(json!({"value": [3, 4], "@odata.nextLink": "{base}/users?$skiptoken=b"})),
        "/users?$skiptoken=b" => Reply::ok(json!({"value": [5]})),
        _ => Reply::error(404, "NotFound", "no"),
    })
    .await;
    let client = mock.client(true);
    let items = client.get_all("/users?$top=2").await.expect("all pages");
    assert_eq!(items, vec![json!(1), json!(2), json!(3), json!(4), json!(5)]);
    assert_eq!(mock.log(|l| l.direct.len()), 3);
}

#[tokio::test]
async fn get_all_refuses_a_next_link_to_another_host() {
    let elsewhere = Mock::start(|_c: &Call| Reply::ok(json!({"value": []}))).await;
    let link = format!("{}/users?$skiptoken=x", elsewhere.base);
    let mock = Mock::start(move |_c: &Call| Reply::ok(json!({"value": [1], "@odata.nextLink": link}))).await;
    let client = mock.client(false);
    let err = client.get_all("/users").await.expect_err("foreign nextLink");
    assert!(matches!(err, GraphError::Protocol { .. }), "{err:?}");
    assert_eq!(elsewhere.log(|l| (l.ops.len(), l.token_hits)), (0, 0));

    // Same host, other path prefix: refused too.
    let mock2 = Mock::start(|_c: &Call| Reply::ok(json!({"value": [1], "@odata.nextLink": "{base}/../beta/users"}))).await;
    let err = mock2.client(false).get_all("/users").await.expect_err("outside base path");
    assert!(matches!(err, GraphError::Protocol { .. }), "{err:?}");
}

#[tokio::test]
async fn read_only_refuses_writes_and_allows_reads() {
    let mock = Mock::start(directory).await;
    let mut cfg = mock.config();
    cfg.read_only = true;
    let client = GraphClient::new(cfg).expect("client");
    let err = client.request(GraphRequest::patch("/users/u1", json!({"accountEnabled": false}))).await.expect_err("refused");
    assert!(matches!(err, GraphError::WriteRefused { .. }), "{err:?}");
    assert!(!err.maybe_applied());
    assert_eq!(mock.log(|l| (l.ops.len(), l.token_hits)), (0, 0), "nothing sent, not even a token request");
    let (a, b) = tokio::join!(client.get("/users/u1"), client.get("/users/u2"));
    assert_eq!((a.expect("read")["id"].clone(), b.expect("read")["id"].clone()), (json!("u1"), json!("u2")));
    assert_eq!(client.stats().writes, 0);
}

#[tokio::test]
async fn escaped_paths_reach_the_server_intact() {
    let mock = Mock::start(|c: &Call| Reply::ok(json!({"path": c.path}))).await;
    let client = mock.client(false);
    let upn = "jo#EXT#@contoso.onmicrosoft.com";
    let body = client.get(&crate::graph::user_path(upn)).await.expect("get");
    assert_eq!(body["path"], "/users/jo%23EXT%23%40contoso.onmicrosoft.com");
    let filter = format!("mail eq {}", crate::graph::odata_string("o'brien@x.com"));
    let body = client.get(&format!("/users?$filter={}", crate::graph::query_value(&filter))).await.expect("get");
    assert_eq!(body["path"], "/users?$filter=mail%20eq%20%27o%27%27brien%40x.com%27");
}

/// An advanced query carries `ConsistencyLevel: eventual` on every page (inside a `$batch` as the
/// sub-request's header), and paging stops at the limit with `more` and Graph's count.
#[tokio::test]
async fn an_eventual_query_sends_its_header_on_every_page_and_stops_at_the_limit() {
    let base: Arc<std::sync::OnceLock<String>> = Arc::default();
    let b = base.clone();
    let mock = Mock::start(move |c: &Call| {
        let next = |n: u32| format!("{}/users?$count=true&$skiptoken={n}", b.get().unwrap());
        match c.path.rsplit_once("$skiptoken=").map(|(_, n)| n) {
            None => Reply::ok(json!({"@odata.count": 5, "value": [1, 2], "@odata.nextLink": next(1)})),
            Some("1") => Reply::ok(json!({"value": [3, 4], "@odata.nextLink": next(2)})),
            _ => Reply::ok(json!({"value": [5]})),
        }
    })
    .await;
    base.set(mock.config().base_url.trim_end_matches('/').to_string()).unwrap();
    let client = mock.client(true);
    let req = GraphRequest { eventual: true, ..GraphRequest::get("/users?$count=true") };
    let page = client.get_pages(req.clone(), 3).await.expect("pages");
    assert_eq!(page.items, vec![json!(1), json!(2), json!(3)]);
    assert!(page.more);
    assert_eq!(page.count, Some(5));
    let calls = mock.log(|l| l.ops.clone());
    assert_eq!(calls.len(), 2, "the third page is not read: {:?}", calls.iter().map(|c| &c.path).collect::<Vec<_>>());
    assert!(calls.iter().all(|c| c.consistency.as_deref() == Some("eventual")), "{calls:?}");
    // Without a limit: every page, and a plain GET carries no header.
    let all = client.get_pages(req, usize::MAX).await.expect("pages");
    assert_eq!((all.items.len(), all.more), (5, false));
    client.get("/users").await.expect("get");
    assert_eq!(mock.log(|l| l.ops.last().cloned()).unwrap().consistency, None);
    // Concurrent ones go in one $batch: the header is the sub-request's.
    let eventual = |p: &str| client.request(GraphRequest { eventual: true, ..GraphRequest::get(p) });
    let (a, b) = tokio::join!(eventual("/users?$count=true"), eventual("/groups?$count=true"));
    assert!(a.is_ok() && b.is_ok());
    let batch = mock.log(|l| l.batches.last().cloned()).expect("a batch");
    assert_eq!(batch.len(), 2);
    assert!(batch.iter().all(|c| c.raw["headers"]["ConsistencyLevel"] == "eventual"), "{batch:?}");
}

impl GraphClient {
    /// `get` with an owned path, for building many futures in a closure.
    async fn get_owned(&self, path: String) -> Result<serde_json::Value, GraphError> {
        self.get(&path).await
    }
}
