//! `$batch`: sub-requests, dependsOn, envelope validation.

use super::*;

#[tokio::test]
async fn batch_runs_sub_requests_and_validates_the_envelope() {
    let t = start().await;
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/users/{LEAVER_CLOUD_ID}?$select=id,accountEnabled")},
        {"id": "2", "method": "GET", "url": "users/ghost@contoso.test"},
        {"id": "3", "method": "PATCH", "url": format!("/users/{LEAVER_CLOUD_ID}"),
         "headers": {"Content-Type": "application/json"}, "body": {"accountEnabled": false}},
        {"id": "4", "method": "GET", "url": "/users/ghost@contoso.test/manager", "dependsOn": ["2"]},
        {"id": "5", "method": "PATCH", "url": format!("/users/{LEAVER_CLOUD_ID}"), "body": {"jobTitle": "x"}},
    ]});
    let (s, v, _) = t.call("POST", "/$batch", Some(body)).await;
    assert_eq!(s, 200);
    let r = v["responses"].as_array().expect("responses");
    let by = |id: &str| r.iter().find(|x| x["id"] == id).expect("sub-response").clone();
    assert_eq!(by("1")["status"], 200);
    assert_eq!(by("1")["body"]["accountEnabled"], true);
    assert_eq!(by("2")["status"], 404);
    assert_eq!(by("2")["body"]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(by("3")["status"], 204);
    assert_eq!(by("4")["status"], 424);
    assert_eq!(by("5")["status"], 400, "a body without Content-Type is refused");
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=jobTitle,accountEnabled")).await;
    assert_eq!(u["accountEnabled"], false);
    assert_eq!(u["jobTitle"], "Account Executive");
    let st = t.server.stats();
    assert_eq!(st.operations, 5 + 1, "five sub-requests plus the GET");
    assert_eq!((st.writes, st.writes_applied), (2, 1));

    let many: Vec<Value> = (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/x"})).collect();
    let (s, v, _) = t.call("POST", "/$batch", Some(json!({"requests": many}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "BadRequest");
    let dup = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/users/x"}, {"id": "a", "method": "GET", "url": "/users/y"}]});
    let (s, _, _) = t.call("POST", "/$batch", Some(dup)).await;
    assert_eq!(s, 400);
    assert_eq!(t.server.stats().operations, 6, "refused envelopes run nothing");
}

/// `/_sim/user-writes`: each applied user write with when and from which client (a token's hash,
/// not the token), direct or in a `$batch`; reads and refused writes are not in it.
#[tokio::test]
async fn user_writes_name_when_and_from_which_client() {
    let t = start().await;
    let (s, _, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"accountEnabled": false}))).await;
    assert_eq!(s, 204);
    t.get(&format!("/users/{LEAVER_CLOUD_ID}")).await;
    // A second client, in a batch: one applied write, one refused (no such user).
    let other = fetch_token(&t.http, &t.server).await;
    let reqs = json!({"requests": [
        {"id": "1", "method": "POST", "url": format!("/users/{LEAVER_CLOUD_ID}/revokeSignInSessions"), "headers": {"Content-Type": "application/json"}, "body": {}},
        {"id": "2", "method": "PATCH", "url": "/users/nobody@contoso.test", "headers": {"Content-Type": "application/json"}, "body": {"accountEnabled": false}},
    ]});
    let r = t.http.post(t.url("/$batch")).bearer_auth(&other).json(&reqs).send().await.expect("batch");
    assert_eq!(r.status(), 200);
    let log: Value =
        t.http.get(format!("http://{}/_sim/user-writes", t.server.addr())).send().await.expect("log").json().await.expect("json");
    let writes = log[LEAVER_CLOUD_ID].as_array().expect("the leaver's writes");
    assert_eq!(writes.len(), 2, "{log}");
    assert_eq!(log.as_object().expect("by user").len(), 1, "{log}");
    assert_ne!(writes[0]["client"], writes[1]["client"], "two tokens, two clients: {log}");
    assert!(writes[0]["at_us"].as_i64() <= writes[1]["at_us"].as_i64(), "{log}");
    assert!(!log.to_string().contains(&t.token) && !log.to_string().contains(&other), "a token in the log");
    assert_eq!(t.server.stats().user_writes[LEAVER_CLOUD_ID], 2);
}
