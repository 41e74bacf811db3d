//! The JSON API: API tokens (no token, an unknown one, another client's: refused, nothing
//! recorded), request keys (a retry is one run; the same key for another request is refused),
//! the OpenAPI document against the routes, and the audit log naming the token.

use super::*;
use offboard_host::console::demo::{DEMO_API_TOKEN, DEMO_API_TOKEN_NAME};
use serde_json::Value;

pub const OFFBOARDINGS: &str = "/api/v1/offboardings";
pub const USER: &str = offboard_host::demo::ids::LEAVER_CLOUD_UPN;

pub fn bearer() -> String {
    format!("Bearer {DEMO_API_TOKEN}")
}

/// The runs, audit events and request keys the journal holds, to see that nothing was recorded.
fn recorded(f: &Fixture) -> (usize, usize) {
    let runs = f.journal.list_runs(1000).expect("runs").len();
    let audit = f.journal.audit_events(1000).expect("audit").len();
    (runs, audit)
}

pub async fn post(f: &Fixture, auth: Option<&str>, key: Option<&str>, body: &Value) -> (u16, Value, bool) {
    let mut r = reqwest::Client::new().post(f.url(OFFBOARDINGS)).json(body);
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    if let Some(k) = key {
        r = r.header("idempotency-key", k);
    }
    let resp = r.send().await.expect("post");
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null), replayed)
}

pub async fn get_json(f: &Fixture, path: &str, auth: Option<&str>) -> (u16, Value) {
    let mut r = reqwest::Client::new().get(f.url(path));
    if let Some(a) = auth {
        r = r.header("authorization", a);
    }
    let resp = r.send().await.expect("get");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn plan_of(client: &str) -> Value {
    json!({"client": client, "user": USER, "action": "plan", "settings": {"remove_licenses": false}})
}

#[tokio::test]
async fn no_token_a_wrong_token_or_another_clients_token_is_refused_and_nothing_is_recorded() {
    let f = fixture().await;
    let before = recorded(&f);
    for (auth, want) in [(None, 401), (Some("Bearer not-the-token-but-long-enough-to-be-one"), 401), (Some("Basic Zm9vOmJhcg=="), 401)] {
        let (status, body, _) = post(&f, auth, Some("k-refused"), &plan_of("demo")).await;
        assert_eq!(status, want, "{auth:?}: {body}");
        assert!(body["error"].is_string(), "a JSON error: {body}");
        assert_eq!(get_json(&f, "/api/v1/runs", auth).await.0, want);
    }
    let r = reqwest::Client::new().get(f.url("/api/v1/runs")).send().await.expect("get");
    assert_eq!(r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer realm=\"offboard-host\""));
    // The demo token may request for `demo` only.
    let (status, body, _) = post(&f, Some(&bearer()), Some("k-refused"), &plan_of("demo-halo")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("demo-halo"), "{body}");
    // A client that does not exist is as refused as one of another MSP's clients.
    assert_eq!(post(&f, Some(&bearer()), Some("k-refused"), &plan_of("nope")).await.0, 403);
    assert_eq!(recorded(&f), before, "no run, no audit event");
    // Nor was the key kept: under it, the same token's next (allowed) request is done.
    let (status, body, replayed) = post(&f, Some(&bearer()), Some("k-refused"), &plan_of("demo")).await;
    assert_eq!((status, replayed), (201, false), "{body}");
}

#[tokio::test]
async fn the_api_takes_no_session_cookie_and_the_pages_take_no_token() {
    let f = fixture().await;
    let b = Browser::new();
    super::flow::sign_in(&f, &b, "staff-tech-a").await;
    let cookie = b.session(&f.base()).expect("signed in");
    let r = b.http.get(f.url("/api/v1/runs")).send().await.expect("get");
    assert_eq!(r.status(), 401, "a signed-in browser's cookie is no API credential");
    let r = b.http.post(f.url(OFFBOARDINGS)).header("idempotency-key", "k-cookie").json(&plan_of("demo")).send().await.expect("post");
    assert_eq!(r.status(), 401);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    for path in ["/runs", &format!("/runs/{RUN_DEMO}")] {
        let r = http.get(f.url(path)).header("authorization", bearer()).send().await.expect("get");
        assert_eq!((r.status().as_u16(), location(&r)), (303, login_for(path)), "{path} with a token");
    }
    // And an unknown API path is a JSON answer, not the pages' redirect.
    let r = http.get(f.url("/api/v1/nothing")).header("cookie", format!("{COOKIE}={cookie}")).send().await.expect("get");
    assert_eq!(r.status(), 401);
    assert_eq!(get_json(&f, "/api/v1/nothing", Some(&bearer())).await.0, 404);
}

#[tokio::test]
async fn runs_are_listed_and_shown_for_the_tokens_clients_only() {
    let f = fixture().await;
    let (status, list) = get_json(&f, "/api/v1/runs", Some(&bearer())).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [RUN_DEMO]);
    assert_eq!(get_json(&f, "/api/v1/runs?client=demo-halo", Some(&bearer())).await.1["runs"], json!([]));
    let (status, run) = get_json(&f, &format!("/api/v1/runs/{RUN_DEMO}"), Some(&bearer())).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!((run["client"].as_str(), run["status"].as_str()), (Some("demo"), Some("succeeded")));
    assert_eq!(run["steps"][0]["action"], "disable_account");
    assert_eq!(run["steps"][0]["prior"], json!({"accountEnabled": true}));
    let (status, other) = get_json(&f, &format!("/api/v1/runs/{RUN_HALO}"), Some(&bearer())).await;
    assert_eq!(status, 404, "another client's run is as missing as one that is not there: {other}");
    assert_eq!(get_json(&f, "/api/v1/runs/no-such-run", Some(&bearer())).await.0, 404);
    assert_eq!(get_json(&f, "/api/v1/runs?status=bogus", Some(&bearer())).await.0, 400);
}

#[tokio::test]
async fn a_request_sent_twice_with_its_key_is_one_run_and_the_key_is_not_reused_for_another() {
    let f = fixture().await;
    let (runs_before, _) = recorded(&f);
    let (status, first, replayed) = post(&f, Some(&bearer()), Some("ticket-1234-offboard"), &plan_of("demo")).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    assert_eq!((first["outcome"].as_str(), first["run_status"].as_str()), (Some("planned"), Some("planned")), "{first}");
    let run_id = first["run_id"].as_str().expect("run id").to_string();
    // The same request again (keys in another order: the same request), say after a timeout.
    let again = json!({"settings": {"remove_licenses": false}, "action": "plan", "user": USER, "client": "demo"});
    let (status, second, replayed) = post(&f, Some(&bearer()), Some("ticket-1234-offboard"), &again).await;
    assert_eq!((status, replayed), (201, true), "{second}");
    assert_eq!(second, first, "the first answer, again");
    assert_eq!(recorded(&f).0, runs_before + 1, "one run");
    // The same key for another request: refused, nothing done.
    let other = json!({"client": "demo", "user": USER, "action": "plan", "settings": {"remove_licenses": true}});
    let (status, refused, _) = post(&f, Some(&bearer()), Some("ticket-1234-offboard"), &other).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("another request"), "{refused}");
    assert_eq!(recorded(&f).0, runs_before + 1);
    // The run is there, with the setting given.
    let (status, run) = get_json(&f, &format!("/api/v1/runs/{run_id}"), Some(&bearer())).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["options"]["set"], json!(["remove_licenses=false"]), "{run}");
    // Without a key, a request is refused: a webhook's retry must not act twice.
    assert_eq!(post(&f, Some(&bearer()), None, &plan_of("demo")).await.0, 400);
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_recorded() {
    let f = fixture().await;
    let before = recorded(&f);
    let cases = [
        json!({"client": "demo", "user": USER, "action": "plan", "settings": {"remove_licences": false}}),
        json!({"client": "demo", "user": USER, "action": "plan", "settings": {"remove_licenses": "maybe"}}),
        json!({"client": "demo", "user": USER, "action": "plan", "colour": "red"}),
        json!({"client": "demo", "user": USER, "action": "offboard"}),
        json!({"client": "demo", "user": USER, "action": "schedule"}),
        json!({"client": "demo", "user": USER, "action": "plan", "at": "2030-01-01T00:00:00Z"}),
        json!({"client": "demo", "user": USER, "action": "schedule", "at": "2001-01-01T00:00:00Z"}),
        // The demo client has no PSA: a ticket to continue is refused, as `--ticket` is.
        json!({"client": "demo", "user": USER, "action": "plan", "ticket": 1234}),
    ];
    for body in &cases {
        let (status, answer, _) = post(&f, Some(&bearer()), Some("k-bad"), body).await;
        assert!(matches!(status, 400 | 422), "{body}: {status} {answer}");
        assert!(answer["error"].is_string(), "{body}: {answer}");
    }
    let (_, typo, _) = post(&f, Some(&bearer()), Some("k-bad"), &cases[0]).await;
    assert!(typo["error"].as_str().unwrap().contains("did you mean remove_licenses?"), "{typo}");
    let r = reqwest::Client::new()
        .post(f.url(OFFBOARDINGS))
        .header("authorization", bearer())
        .header("idempotency-key", "k-bad")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    assert_eq!(recorded(&f), before);
}

#[tokio::test]
async fn what_a_token_does_is_journalled_under_its_name() {
    let f = fixture().await;
    let (status, answer, _) = post(&f, Some(&bearer()), Some("k-audit"), &plan_of("demo")).await;
    assert_eq!(status, 201, "{answer}");
    let events = f.journal.audit_events(10).expect("audit");
    let mine: Vec<_> = events.iter().filter(|e| e.subject == DEMO_API_TOKEN_NAME).collect();
    assert_eq!(mine.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["api_offboard_plan", "api_request"], "newest first");
    for e in &mine {
        assert_eq!((e.issuer.as_str(), e.email.as_deref()), ("offboard-host:api-token", None));
        assert_eq!(e.detail["idempotency_key"], "k-audit");
    }
    assert_eq!(mine[0].detail["run_id"], answer["run_id"]);
    assert_eq!(mine[1].detail["set"], json!(["remove_licenses=false"]));
    // A replay does nothing new, and journals nothing new.
    post(&f, Some(&bearer()), Some("k-audit"), &plan_of("demo")).await;
    assert_eq!(f.journal.audit_events(10).expect("audit").len(), events.len());
}

#[tokio::test]
async fn the_openapi_document_parses_and_every_route_in_it_is_served() {
    let f = fixture().await;
    assert_eq!(get_json(&f, "/api/v1/openapi.json", None).await.0, 401);
    let (status, doc) = get_json(&f, "/api/v1/openapi.json", Some(&bearer())).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().expect("paths");
    let mut listed: Vec<(String, String)> =
        paths.iter().flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), p.clone()))).collect();
    listed.sort();
    let want = [("get", "/api/v1/openapi.json"), ("get", "/api/v1/runs"), ("get", "/api/v1/runs/{id}"), ("post", OFFBOARDINGS)];
    assert_eq!(listed, want.map(|(m, p)| (m.to_string(), p.to_string())));
    for schema in ["OffboardingRequest", "OffboardingAnswer", "RunDetailOut", "ErrorBody"] {
        assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema} is described");
    }
    // Each documented operation is a route of its own (not the API's catch-all 404 nor 405).
    let http = reqwest::Client::new();
    for (method, path) in &listed {
        let url = f.url(&path.replace("{id}", RUN_DEMO));
        let r = match method.as_str() {
            "get" => http.get(url),
            _ => http.post(url).header("idempotency-key", "k-doc").json(&plan_of("demo")),
        };
        let r = r.header("authorization", bearer()).send().await.expect("send");
        assert!(r.status().is_success(), "{method} {path}: {}", r.status());
    }
}

#[tokio::test]
async fn the_same_request_twice_at_once_is_done_once() {
    let f = fixture().await;
    let (runs_before, _) = recorded(&f);
    let (body, auth) = (plan_of("demo"), bearer());
    let (a, b) = tokio::join!(post(&f, Some(&auth), Some("k-at-once"), &body), post(&f, Some(&auth), Some("k-at-once"), &body));
    let mut statuses = [(a.0, a.2), (b.0, b.2)];
    statuses.sort();
    // The second finds the first in progress (409, retry), or, if the first was quicker, its answer.
    assert!(statuses == [(201, false), (409, false)] || statuses == [(201, false), (201, true)], "{statuses:?}: {} {}", a.1, b.1);
    assert_eq!(recorded(&f).0, runs_before + 1, "one run");
}
