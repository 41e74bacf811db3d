//! `POST /oidc/token`: an authorization code for an ID token, as RFC 6749 §4.1.3 and OpenID
//! Connect Core §3.1.3 say.
//!
//! Refused with the §5.2 error codes: `invalid_client` (401) for an unknown client or a wrong
//! secret, `invalid_grant` for a code that is unknown, expired, already used, issued to another
//! client or for another `redirect_uri`, or whose PKCE verifier does not match its challenge.
//! A code is spent by its first token request, whether that request succeeds or not, so a code
//! caught in transit cannot be tried twice.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use chrono::Utc;
use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessToken, Audience, EmptyAdditionalClaims, EndUserEmail, EndUserName, IssuerUrl, LocalizedClaim, Nonce, StandardClaims,
    SubjectIdentifier,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{lock, random_token, signing_key, Issuer, Staff};
use crate::demo::shared::Headers;

/// How long a code may wait for its token request (Entra: 10 minutes; RFC 6749 advises short).
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// The ID token's lifetime.
const TOKEN_LIFETIME_SECS: i64 = 600;

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut resp = (status, Json(json!({"error": code, "error_description": description}))).into_response();
    // RFC 6749 §5.1: token responses are never cached.
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

fn invalid_grant(description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub(super) async fn issue(State(issuer): State<Arc<Issuer>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("authorization_code") => {}
        Some(other) => return error(StatusCode::BAD_REQUEST, "unsupported_grant_type", &format!("grant type '{other}' is not supported")),
        None => return error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
    }
    // client_secret_basic or client_secret_post, not both (RFC 6749 §2.3.1: one method per request).
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(|v| Headers(vec![("authorization".into(), v.into())]));
    let basic = auth.as_ref().and_then(crate::demo::token::basic_credentials);
    if basic.is_some() && get("client_secret").is_some() {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "the client authenticated with more than one method");
    }
    let (client_id, secret) = match &basic {
        Some((i, s)) => (Some(i.as_str()), Some(s.as_str())),
        None => (get("client_id"), get("client_secret")),
    };
    let authenticated = match (client_id, secret) {
        (Some(id), Some(secret)) => issuer.client_secret(id).is_some_and(|s| s == secret),
        _ => false,
    };
    if !authenticated {
        let mut resp = error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
        if basic.is_some() {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"demo-oidc\""));
        }
        return resp;
    }
    let client_id = client_id.unwrap_or_default();
    let (Some(code), Some(redirect_uri), Some(verifier)) = (get("code"), get("redirect_uri"), get("code_verifier")) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "code, redirect_uri and code_verifier are required");
    };
    let (staff, nonce) = {
        let mut grants = lock(&issuer.grants);
        grants.retain(|_, g| g.issued.elapsed() < CODE_LIFETIME * 10);
        let Some(grant) = grants.get_mut(code) else {
            return invalid_grant("the authorization code is unknown");
        };
        if grant.used {
            return invalid_grant("the authorization code has already been used");
        }
        grant.used = true;
        if grant.issued.elapsed() > CODE_LIFETIME {
            return invalid_grant("the authorization code has expired");
        }
        if grant.client_id != client_id {
            return invalid_grant("the authorization code was issued to another client");
        }
        if grant.redirect_uri != redirect_uri {
            return invalid_grant("redirect_uri does not match the one of the authorization request");
        }
        // RFC 7636 §4.1: 43 to 128 unreserved characters; §4.6: S256 of it is the challenge.
        let well_formed =
            (43..=128).contains(&verifier.len()) && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if !well_formed || expected != grant.code_challenge {
            return invalid_grant("PKCE verification failed: the code_verifier does not match the code_challenge");
        }
        (grant.staff, grant.nonce.clone())
    };
    let access_token = AccessToken::new(random_token());
    match id_token(issuer.url(), client_id, &staff, &nonce, &access_token).await {
        Ok(id_token) => {
            let mut resp = Json(json!({
                "access_token": access_token.secret(),
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECS,
                "scope": "openid email profile",
                "id_token": id_token.to_string(),
            }))
            .into_response();
            resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    }
}

async fn id_token(issuer: &str, client_id: &str, staff: &Staff, nonce: &str, access_token: &AccessToken) -> Result<CoreIdToken, String> {
    let now = Utc::now();
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer.to_string()).map_err(|e| e.to_string())?,
        vec![Audience::new(client_id.to_string())],
        now + chrono::Duration::seconds(TOKEN_LIFETIME_SECS),
        now,
        StandardClaims::new(SubjectIdentifier::new(staff.sub.to_string()))
            .set_email(Some(EndUserEmail::new(staff.email.to_string())))
            .set_email_verified(Some(true))
            .set_name(Some(LocalizedClaim::from(EndUserName::new(staff.name.to_string())))),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce.to_string())));
    let key = signing_key().await;
    CoreIdToken::new(claims, key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, Some(access_token), None).map_err(|e| e.to_string())
}
