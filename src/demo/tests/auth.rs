//! The token endpoint and bearer checks.

use super::*;

#[tokio::test]
async fn token_ok_bad_secret_and_missing_bearer() {
    let t = start().await;
    assert!(t.token.starts_with("demo.") && t.token.len() > 40);

    let bad = t
        .http
        .post(t.server.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", "wrong"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 401);
    let v: Value = bad.json().await.expect("json");
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"], json!([7000215]));
    assert!(v["error_description"].as_str().expect("desc").starts_with("AADSTS7000215: Invalid client secret provided."));

    let tenant = t
        .http
        .post(format!("http://{}/nope.example/oauth2/v2.0/token", t.server.addr()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(tenant.status(), 400);
    let v: Value = tenant.json().await.expect("json");
    assert!(v["error_description"].as_str().expect("desc").starts_with("AADSTS90002: Tenant 'nope.example' not found."));

    let grant = t.http.post(t.server.token_url()).form(&[("grant_type", "password")]).send().await.expect("send");
    assert_eq!(grant.status(), 400);
    assert_eq!(grant.json::<Value>().await.expect("json")["error"], "unsupported_grant_type");

    let none = t.http.get(t.url("/users/manager@contoso.test")).send().await.expect("send");
    assert_eq!(none.status(), 401);
    let v: Value = none.json().await.expect("json");
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(v["error"]["message"], "Access token is empty.");

    let forged = t.http.get(t.url("/users/manager@contoso.test")).bearer_auth("forged").send().await.expect("send");
    assert_eq!(forged.status(), 401);
    let v: Value = forged.json().await.expect("json");
    assert_eq!(v["error"]["message"], "Access token validation failure. Invalid audience.");

    let stats = t.server.stats();
    assert_eq!(stats.token_requests, 4);
    assert_eq!(stats.http_requests, 6);
    assert_eq!(stats.operations, 0, "unauthenticated requests are not Graph operations");
}
