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

/// Each API takes only a token issued for it: the Graph token is refused by Exchange and the
/// Exchange token by Graph, with the headers a real 401 carries; one token for two resources is
/// refused at the token endpoint, as Entra does.
#[tokio::test]
async fn tokens_are_bound_to_their_audience() {
    let t = start().await;
    let token_for = |scope: &'static str| {
        let (http, url) = (t.http.clone(), t.server.token_url());
        async move {
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", DEMO_CLIENT_ID),
                    ("client_secret", DEMO_CLIENT_SECRET),
                    ("scope", scope),
                ])
                .send()
                .await
                .expect("send");
            (r.status().as_u16(), r.json::<Value>().await.expect("json"))
        }
    };
    let exchange = format!("{}/adminapi/beta/{DEMO_TENANT_ID}/InvokeCommand", t.server.exchange_base_url());
    let body = json!({"CmdletInput": {"CmdletName": "Get-AcceptedDomain", "Parameters": {}}});

    // The Graph token (t.token) on Exchange.
    let r = t.http.post(&exchange).bearer_auth(&t.token).json(&body).send().await.expect("send");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").and_then(|h| h.to_str().ok()).is_some_and(|h| h.starts_with("Bearer ")));
    assert!(r.headers().get("request-id").is_some());

    // The Exchange token on Exchange, then on Graph.
    let (status, v) = token_for("https://outlook.office365.com/.default").await;
    assert_eq!(status, 200, "{v}");
    let exo = v["access_token"].as_str().expect("token").to_string();
    let r = t.http.post(&exchange).bearer_auth(&exo).json(&body).send().await.expect("send");
    // Past authentication (what follows, e.g. the anchor-mailbox check, is not this test's).
    assert_ne!(r.status(), 401);
    let r = t.http.get(t.url("/users/manager@contoso.test")).bearer_auth(&exo).send().await.expect("send");
    assert_eq!(r.status(), 401);
    let request_id = r.headers().get("request-id").and_then(|h| h.to_str().ok()).map(String::from).expect("request-id");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["message"], "Access token validation failure. Invalid audience.");
    assert_eq!(v["error"]["innerError"]["request-id"], request_id.as_str());

    assert_eq!(t.server.stats().bearer_refused, 2, "the Graph token at Exchange and the Exchange token at Graph");

    let (status, v) = token_for("https://graph.microsoft.com/.default https://outlook.office365.com/.default").await;
    assert_eq!(status, 400);
    assert_eq!(v["error_codes"], json!([28000]));
}

/// `client_secret_basic` is accepted like the form fields; the OIDC discovery document points
/// at this server's token endpoint.
#[tokio::test]
async fn basic_client_authentication_and_discovery() {
    let t = start().await;
    let r = t
        .http
        .post(t.server.token_url())
        .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "https://graph.microsoft.com/.default")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.expect("json")["access_token"].as_str().expect("token").to_string();
    let r = t.http.get(t.url("/users/manager@contoso.test")).bearer_auth(&token).send().await.expect("send");
    assert_eq!(r.status(), 200);
    let r = t
        .http
        .post(t.server.token_url())
        .basic_auth(DEMO_CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials"), ("scope", "https://graph.microsoft.com/.default")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);

    let url = format!("http://{}/{DEMO_TENANT_ID}/v2.0/.well-known/openid-configuration", t.server.addr());
    let v: Value = t.http.get(&url).send().await.expect("send").json().await.expect("json");
    assert_eq!(v["token_endpoint"], t.server.token_url());
    assert_eq!(v["issuer"], format!("https://login.microsoftonline.com/{DEMO_TENANT_ID}/v2.0"));
    let other = t.http.get(url.replace(DEMO_TENANT_ID, "nope.example")).send().await.expect("send");
    assert_eq!(other.status(), 400);
}
