//! Who calls the API: the token in `Authorization: Bearer <token>`, matched by its SHA-256
//! against `[[console.api_tokens]]`.
//!
//! Only this header counts: a session cookie sent along is ignored, so a page in a signed-in
//! browser cannot call the API for its user (no CSRF surface), and the pages never look at the
//! header (`access::signed_in` reads the cookie only).

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::config::{ApiToken, ConsoleSettings, Role, MIN_TOKEN_LEN};

/// The caller: the configured token the request carried.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ApiToken,
}

impl Caller {
    /// How the journal names the caller: the token's name (see `audit`).
    pub fn name(&self) -> &str {
        &self.token.name
    }
}

/// The bearer token of the request, if the header holds one.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized("this API needs an API token: Authorization: Bearer <token>", false));
    };
    let value = value.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not text", false))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized("the Authorization header must be: Bearer <token>", false));
    }
    Ok(token.trim())
}

/// Equal without a timing side channel on where the first difference is.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The configured token the request carries, or 401. Every configured hash is compared, in
/// constant time, whichever matches: the time taken tells nothing about which one did.
pub fn caller(settings: &ConsoleSettings, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let presented = bearer(headers)?;
    if presented.len() < MIN_TOKEN_LEN {
        return Err(ApiError::unauthorized("unknown API token", true));
    }
    let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    let mut found = None;
    for t in &settings.api_tokens {
        if t.digest().is_some_and(|d| same_digest(&d, &digest)) {
            found = Some(t);
        }
    }
    found.map(|t| Caller { token: t.clone() }).ok_or_else(|| ApiError::unauthorized("unknown API token", true))
}

impl Caller {
    /// The clients among `clients` this token has any role for (what it may see).
    pub fn visible(&self, settings: &ConsoleSettings, clients: &[String]) -> Vec<String> {
        clients
            .iter()
            .filter(|c| [Role::Request, Role::Approve, Role::Admin].iter().any(|r| settings.token_may(&self.token, *r, c)))
            .cloned()
            .collect()
    }

    /// `role` for `client`, or 403 (the client is named by the caller: saying it is refused
    /// tells nothing the caller did not know).
    pub fn require(&self, settings: &ConsoleSettings, role: Role, client: &str) -> Result<(), ApiError> {
        if settings.token_may(&self.token, role, client) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("the token '{}' has no {} role for client '{client}'", self.token.name, role.as_str())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef-test";

    fn settings() -> ConsoleSettings {
        let hash = hex::encode(Sha256::digest(TOKEN.as_bytes()));
        let text = format!(
            "issuer_url='https://i.example'\nclient_id='c'\nclient_secret_env='S'\npublic_url='https://c.example'\n\
             [[api_tokens]]\nname='psa'\nsha256='{hash}'\nclients=['a']\nroles=['request']\n\
             [[api_tokens]]\nname='hr'\nsha256='{}'\nclients=['*']\nroles=['request']\n",
            "0".repeat(64)
        );
        toml::from_str(&text).expect("parses")
    }

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).expect("header"));
        h
    }

    #[test]
    fn the_bearer_token_names_its_entry_and_nothing_else_does() {
        let s = settings();
        assert_eq!(caller(&s, &with(&format!("Bearer {TOKEN}"))).expect("known").name(), "psa");
        assert_eq!(caller(&s, &with(&format!("bearer  {TOKEN} "))).expect("scheme case-insensitive").name(), "psa");
        for bad in [format!("Bearer {TOKEN}x"), format!("Basic {TOKEN}"), "Bearer ".into(), format!("Bearer {}", &TOKEN[..31])] {
            let e = caller(&s, &with(&bad)).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::UNAUTHORIZED, "{bad}");
        }
        let e = caller(&s, &HeaderMap::new()).unwrap_err();
        assert!(e.message.contains("Bearer"), "{}", e.message);
        let c = caller(&s, &with(&format!("Bearer {TOKEN}"))).expect("known");
        assert_eq!(c.visible(&s, &["a".into(), "b".into()]), vec!["a".to_string()]);
        assert!(c.require(&s, Role::Request, "a").is_ok());
        assert_eq!(c.require(&s, Role::Request, "b").unwrap_err().status, axum::http::StatusCode::FORBIDDEN);
        assert_eq!(c.require(&s, Role::Approve, "a").unwrap_err().status, axum::http::StatusCode::FORBIDDEN);
    }
}
