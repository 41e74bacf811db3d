//! The ID token check with crafted tokens: each fault on its own is refused.

use chrono::{Duration, Utc};
use openidconnect::core::{CoreHmacKey, CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{
    Audience, ClientId, ClientSecret, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, Nonce, PrivateSigningKey, StandardClaims,
    SubjectIdentifier,
};

use super::verify;
use crate::demo::oidc::generate_signing_key;

const ISSUER: &str = "https://issuer.test/oidc";
const CLIENT: &str = "offboard-console";
const SECRET: &str = "the-client-secret";
const NONCE: &str = "nonce-1";

struct Claims {
    issuer: &'static str,
    audience: &'static str,
    expires_in: i64,
    nonce: &'static str,
    email_verified: Option<bool>,
}

const GOOD: Claims = Claims { issuer: ISSUER, audience: CLIENT, expires_in: 300, nonce: NONCE, email_verified: Some(true) };

fn claims(c: &Claims) -> CoreIdTokenClaims {
    let now = Utc::now();
    CoreIdTokenClaims::new(
        IssuerUrl::new(c.issuer.into()).unwrap(),
        vec![Audience::new(c.audience.into())],
        now + Duration::seconds(c.expires_in),
        now - Duration::seconds(600),
        StandardClaims::new(SubjectIdentifier::new("staff-tech-a".into()))
            .set_email(Some(EndUserEmail::new("alex.tech@msp.test".into())))
            .set_email_verified(c.email_verified),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(c.nonce.into())))
}

struct Keys {
    trusted: openidconnect::core::CoreRsaPrivateSigningKey,
    /// Another key under the trusted key's id: a signature that must not verify.
    impostor: openidconnect::core::CoreRsaPrivateSigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Keys { trusted: generate_signing_key("k1"), impostor: generate_signing_key("k1") })
}

fn verifier() -> CoreIdTokenVerifier<'static> {
    let jwks = CoreJsonWebKeySet::new(vec![keys().trusted.as_verification_key()]);
    CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(CLIENT.into()),
        ClientSecret::new(SECRET.into()),
        IssuerUrl::new(ISSUER.into()).unwrap(),
        jwks,
    )
}

fn sign(c: &Claims, key: &openidconnect::core::CoreRsaPrivateSigningKey) -> CoreIdToken {
    CoreIdToken::new(claims(c), key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap()
}

fn check(token: &CoreIdToken) -> Result<super::Identity, String> {
    verify(token, &verifier(), &Nonce::new(NONCE.into()))
}

#[test]
fn a_good_token_gives_the_identity() {
    let id = check(&sign(&GOOD, &keys().trusted)).expect("accepted");
    assert_eq!((id.issuer.as_str(), id.subject.as_str(), id.email.as_deref()), (ISSUER, "staff-tech-a", Some("alex.tech@msp.test")));
}

#[test]
fn another_issuer_audience_an_expired_token_or_another_nonce_is_refused() {
    let cases = [
        ("issuer", Claims { issuer: "https://elsewhere.test/oidc", ..GOOD }),
        ("audience", Claims { audience: "another-app", ..GOOD }),
        ("expired", Claims { expires_in: -120, ..GOOD }),
        ("nonce", Claims { nonce: "nonce-of-another-sign-in", ..GOOD }),
    ];
    for (what, c) in cases {
        let e = check(&sign(&c, &keys().trusted)).expect_err(what);
        assert!(e.contains("refused"), "{what}: {e}");
    }
}

#[test]
fn a_bad_signature_a_tampered_payload_or_hs256_with_the_secret_is_refused() {
    assert!(check(&sign(&GOOD, &keys().impostor)).is_err(), "signed by another key under the trusted kid");

    // The payload of a token for another subject, on the signature of a good one.
    let good = sign(&GOOD, &keys().trusted).to_string();
    let other = CoreIdToken::new(
        claims(&GOOD).set_subject(SubjectIdentifier::new("staff-admin".into())),
        &keys().impostor,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap()
    .to_string();
    let (g, o): (Vec<&str>, Vec<&str>) = (good.split('.').collect(), other.split('.').collect());
    let tampered: CoreIdToken = format!("{}.{}.{}", g[0], o[1], g[2]).parse().unwrap();
    assert!(check(&tampered).is_err(), "tampered payload");

    // A confidential client's secret must not become a signing key: only RS256 is allowed.
    let hs =
        CoreIdToken::new(claims(&GOOD), &CoreHmacKey::new(SECRET.as_bytes()), CoreJwsSigningAlgorithm::HmacSha256, None, None).unwrap();
    assert!(check(&hs).is_err(), "HS256 with the client secret");

    // An unsigned token (`alg: none`, no signature) with a good token's payload: refused, whether
    // the parser already refuses it or the check does.
    let header = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header}.{}.", g[1]);
    if let Ok(t) = unsigned.parse::<CoreIdToken>() {
        assert!(check(&t).is_err(), "alg none");
    }
}

#[test]
fn an_unverified_email_is_dropped() {
    let id = check(&sign(&Claims { email_verified: Some(false), ..GOOD }, &keys().trusted)).expect("accepted");
    assert_eq!(id.email, None);
}
