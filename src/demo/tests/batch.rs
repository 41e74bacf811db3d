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
