//! An OpenID Connect issuer for the demo MSP's own staff, so the console's sign-in works offline,
//! in the demo and in the tests, through the same code as against Entra ID.
//!
//! It is as strict as a real issuer where a client could get it wrong: the authorization code
//! flow only, PKCE with S256 required, `state` and `nonce` required, the `redirect_uri` compared
//! exactly with the registered ones, a code used once and within a minute, and the client
//! authenticated at the token endpoint. Errors are the OAuth codes of RFC 6749 §4.1.2.1 and §5.2.
//! There are no passwords: the sign-in page lists the staff and one is picked.
//!
//! Served under `/oidc` by the demo server: discovery (`/.well-known/openid-configuration`),
//! `authorize` (`authorize.rs`), `token` (`token.rs`) and `jwks`. ID tokens are signed RS256 with
//! a 2048-bit key generated once per process, on first use, so demo servers that never sign
//! anyone in (most tests) pay nothing for it.

mod authorize;
mod token;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use openidconnect::core::{CoreJsonWebKeySet, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde_json::json;

/// The console's client registration at the demo issuer.
pub const DEMO_CONSOLE_CLIENT_ID: &str = "offboard-console";
/// The client secret of [`DEMO_CONSOLE_CLIENT_ID`].
pub const DEMO_CONSOLE_CLIENT_SECRET: &str = "demo-console-secret";
/// The `kid` of the issuer's one signing key.
const KEY_ID: &str = "demo-oidc-1";

/// One of the demo MSP's staff, as the ID token names them.
#[derive(Debug, Clone, Copy)]
pub struct Staff {
    /// The stable subject identifier (`sub`).
    pub sub: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    /// What the demo console configuration lets them do (shown on the sign-in page only).
    pub role: &'static str,
}

/// The demo MSP's staff: two technicians (of different clients), an approver and an admin.
pub const DEMO_STAFF: &[Staff] = &[
    Staff { sub: "staff-tech-a", email: "alex.tech@msp.test", name: "Alex Tech", role: "technician for client demo" },
    Staff { sub: "staff-tech-b", email: "blair.tech@msp.test", name: "Blair Tech", role: "technician for client demo-halo" },
    Staff { sub: "staff-approver", email: "casey.approver@msp.test", name: "Casey Approver", role: "approver for every client" },
    Staff { sub: "staff-admin", email: "dana.admin@msp.test", name: "Dana Admin", role: "administrator" },
];

/// A code handed out at `authorize`, waiting for the token request.
struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: String,
    staff: Staff,
    issued: Instant,
    /// Set at the first token request: a second one is refused, as the code was already spent.
    used: bool,
}

/// The issuer's state: its address, the registered clients and the codes in flight.
pub struct Issuer {
    issuer: String,
    /// client id → (secret, exact redirect URIs).
    clients: Mutex<HashMap<String, (String, Vec<String>)>>,
    grants: Mutex<HashMap<String, Grant>>,
}

impl Issuer {
    /// An issuer at `{origin}/oidc`, with the console client registered and no redirect URI yet
    /// (the console's address is known only once it is bound: see [`Issuer::register_redirect_uri`]).
    pub fn new(origin: &str) -> Arc<Issuer> {
        let mut clients = HashMap::new();
        clients.insert(DEMO_CONSOLE_CLIENT_ID.to_string(), (DEMO_CONSOLE_CLIENT_SECRET.to_string(), Vec::new()));
        Arc::new(Issuer { issuer: format!("{origin}/oidc"), clients: Mutex::new(clients), grants: Mutex::new(HashMap::new()) })
    }

    /// The issuer identifier (`iss`), also the base of the discovery URL.
    pub fn url(&self) -> &str {
        &self.issuer
    }

    /// Allow `uri` (compared exactly, as Entra and RFC 6749 §3.1.2.3 require) as a redirect URI of
    /// the console client.
    pub fn register_redirect_uri(&self, uri: &str) {
        let mut clients = lock(&self.clients);
        if let Some((_, uris)) = clients.get_mut(DEMO_CONSOLE_CLIENT_ID) {
            if !uris.iter().any(|u| u == uri) {
                uris.push(uri.to_string());
            }
        }
    }

    fn redirect_allowed(&self, client_id: &str, redirect_uri: &str) -> bool {
        lock(&self.clients).get(client_id).is_some_and(|(_, uris)| uris.iter().any(|u| u == redirect_uri))
    }

    fn client_secret(&self, client_id: &str) -> Option<String> {
        lock(&self.clients).get(client_id).map(|(s, _)| s.clone())
    }
}

/// A poisoned lock only means a handler panicked mid-request; the maps are still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The routes, to be nested under `/oidc`.
pub fn router<S>(issuer: Arc<Issuer>) -> Router<S> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(authorize::page).post(authorize::choose))
        .route("/token", post(token::issue))
        .route("/jwks", get(jwks))
        .with_state(issuer)
}

async fn discovery(axum::extract::State(issuer): axum::extract::State<Arc<Issuer>>) -> Json<serde_json::Value> {
    let i = issuer.url();
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
    }))
}

async fn jwks() -> Response {
    let key = signing_key().await;
    Json(CoreJsonWebKeySet::new(vec![key.as_verification_key()])).into_response()
}

static KEY: OnceLock<CoreRsaPrivateSigningKey> = OnceLock::new();

/// The process's signing key, generated on first use (off the async workers: it takes a moment).
async fn signing_key() -> &'static CoreRsaPrivateSigningKey {
    if let Some(k) = KEY.get() {
        return k;
    }
    let made = tokio::task::spawn_blocking(|| generate_signing_key(KEY_ID)).await.expect("generating the demo issuer's key");
    // Two first requests may both generate one; the first stored wins and both use it.
    let _ = KEY.set(made);
    KEY.get().expect("the key was just stored")
}

/// A new 2048-bit RSA signing key with key id `kid` (also for tests that craft tokens).
pub fn generate_signing_key(kid: &str) -> CoreRsaPrivateSigningKey {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("generating a 2048-bit RSA key");
    let pem = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).expect("encoding the RSA key");
    CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.into()))).expect("reading back the RSA key")
}

/// 32 random bytes, hex: codes and access tokens.
fn random_token() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

#[cfg(test)]
mod tests;
