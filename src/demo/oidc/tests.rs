//! The issuer over HTTP: what a strict issuer refuses, and one code spent once.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::{DEMO_CONSOLE_CLIENT_ID as CLIENT, DEMO_CONSOLE_CLIENT_SECRET as SECRET};
use crate::demo::{DemoConfig, DemoServer, Knobs};

const REDIRECT: &str = "http://127.0.0.1:9/auth/callback";
const VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

struct Fixture {
    _dir: tempfile::TempDir,
    server: DemoServer,
    http: reqwest::Client,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = DemoConfig { state_path: dir.path().join("state.json"), knobs: Knobs::default() };
    let server = DemoServer::start(cfg, "127.0.0.1:0".parse().expect("addr")).await.expect("start");
    server.oidc().register_redirect_uri(REDIRECT);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    Fixture { _dir: dir, server, http }
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorization request's fields, with one replaced or dropped (`None`).
fn auth_params(over: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let c = challenge(VERIFIER);
    let base = [
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", c.as_str()),
        ("code_challenge_method", "S256"),
        ("staff", "staff-tech-a"),
    ];
    let mut out: Vec<(String, String)> = base
        .iter()
        .filter_map(|(k, v)| match over.iter().find(|(o, _)| o == k) {
            Some((_, Some(n))) => Some((k.to_string(), n.to_string())),
            Some((_, None)) => None,
            None => Some((k.to_string(), v.to_string())),
        })
        .collect();
    for (k, v) in over {
        if let (false, Some(v)) = (base.iter().any(|(b, _)| b == k), v) {
            out.push((k.to_string(), v.to_string()));
        }
    }
    out
}

impl Fixture {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.oidc().url())
    }

    /// Post the sign-in form; the redirect's query.
    async fn choose(&self, over: &[(&str, Option<&str>)]) -> (u16, Vec<(String, String)>) {
        let r = self.http.post(self.url("/authorize")).form(&auth_params(over)).send().await.expect("authorize");
        let status = r.status().as_u16();
        let loc = r.headers().get("location").map(|l| l.to_str().unwrap_or("").to_string()).unwrap_or_default();
        let query = url::Url::parse(&loc).map(|u| u.query_pairs().into_owned().collect()).unwrap_or_default();
        (status, query)
    }

    async fn token(&self, code: &str, redirect: &str, verifier: &str, secret: &str) -> (u16, serde_json::Value) {
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)];
        let r = self.http.post(self.url("/token")).basic_auth(CLIENT, Some(secret)).form(&form).send().await.expect("token");
        (r.status().as_u16(), r.json().await.expect("json"))
    }
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn discovery_names_this_issuer_and_requires_s256() {
    let f = fixture().await;
    let d: serde_json::Value = f.http.get(f.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["issuer"], f.server.oidc().url());
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    let jwks: serde_json::Value = f.http.get(f.url("/jwks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["kid"], super::KEY_ID);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_a_page_never_a_redirect() {
    let f = fixture().await;
    for uri in ["http://127.0.0.1:9/auth/callback/", "http://evil.test/auth/callback", "http://127.0.0.1:9/auth/callback?x=1"] {
        let (status, query) = f.choose(&[("redirect_uri", Some(uri))]).await;
        assert_eq!(status, 400, "{uri}");
        assert!(query.is_empty(), "{uri}: no redirect");
    }
    let (status, _) = f.choose(&[("client_id", Some("someone-else"))]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn missing_pkce_state_or_nonce_and_plain_pkce_are_sent_back_as_errors() {
    let f = fixture().await;
    type Case<'a> = (&'a [(&'a str, Option<&'a str>)], &'a str);
    let cases: &[Case] = &[
        (&[("code_challenge", None)], "invalid_request"),
        (&[("code_challenge_method", Some("plain"))], "invalid_request"),
        (&[("code_challenge_method", None)], "invalid_request"),
        (&[("nonce", None)], "invalid_request"),
        (&[("response_type", Some("token"))], "unsupported_response_type"),
        (&[("scope", Some("email"))], "invalid_scope"),
    ];
    for (over, want) in cases {
        let (status, q) = f.choose(over).await;
        assert_eq!(status, 303, "{over:?}");
        assert_eq!(get(&q, "error"), Some(*want), "{over:?}");
        assert_eq!(get(&q, "state"), Some("st-1"), "{over:?}");
        assert!(get(&q, "code").is_none(), "{over:?}");
    }
    let (_, q) = f.choose(&[("state", None)]).await;
    assert_eq!(get(&q, "error"), Some("invalid_request"));
}

#[tokio::test]
async fn a_code_is_spent_once_and_bound_to_verifier_redirect_and_secret() {
    let f = fixture().await;
    let code_for = |q: Vec<(String, String)>| get(&q, "code").expect("a code").to_string();

    // Wrong secret: the client is refused before the code is looked at (so it is not spent).
    let code = code_for(f.choose(&[]).await.1);
    let (s, b) = f.token(&code, REDIRECT, VERIFIER, "wrong").await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    // The right request works once...
    let (s, b) = f.token(&code, REDIRECT, VERIFIER, SECRET).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["id_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{b}");
    // ...and never again.
    let (s, b) = f.token(&code, REDIRECT, VERIFIER, SECRET).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")), "{b}");

    let code = code_for(f.choose(&[]).await.1);
    let (s, b) = f.token(&code, REDIRECT, "another-verifier-of-at-least-forty-three-characters-01", SECRET).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")), "{b}");
    // The failed attempt spent the code.
    let (s, _) = f.token(&code, REDIRECT, VERIFIER, SECRET).await;
    assert_eq!(s, 400);

    let code = code_for(f.choose(&[]).await.1);
    let (s, b) = f.token(&code, "http://127.0.0.1:9/other", VERIFIER, SECRET).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")), "{b}");
    let (s, b) = f.token("no-such-code", REDIRECT, VERIFIER, SECRET).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")), "{b}");
}
