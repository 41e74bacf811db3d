//! Sign-in with OpenID Connect (the `openidconnect` crate): the authorization code flow with
//! PKCE (S256), and the ID token verified against the issuer's JWKS: signature (RS256 only),
//! issuer, audience, expiry and the nonce of this sign-in.
//!
//! The issuer's metadata and keys are read once, at start: the console refuses to start
//! against an issuer it cannot discover, rather than failing every sign-in later.

use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenVerifier, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use super::session::Identity;
use crate::secret::Secret;

/// The client as `from_provider_metadata` makes it, with the redirect URI set.
type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The console's registration at its issuer, with the issuer's discovered metadata.
pub struct Oidc {
    metadata: CoreProviderMetadata,
    client_id: String,
    secret: Secret,
    redirect: RedirectUrl,
    http: reqwest::Client,
}

/// Where to send the browser, and what the callback must find again.
pub struct Start {
    pub url: String,
    pub oauth_state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl Oidc {
    /// Read the issuer's discovery document and JWKS.
    pub async fn discover(issuer_url: &str, client_id: &str, secret: Secret, redirect_uri: &str) -> Result<Oidc, String> {
        // No redirects: the openidconnect crate asks for it, so a token request cannot be
        // bounced to another host (SSRF) with the client secret.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        let issuer = IssuerUrl::new(issuer_url.to_string()).map_err(|e| format!("issuer_url '{issuer_url}': {e}"))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| format!("reading the OpenID configuration of {issuer_url}: {}", error_chain(&e)))?;
        let redirect = RedirectUrl::new(redirect_uri.to_string()).map_err(|e| format!("redirect URI '{redirect_uri}': {e}"))?;
        Ok(Oidc { metadata, client_id: client_id.to_string(), secret, redirect, http })
    }

    fn client(&self) -> Client {
        CoreClient::from_provider_metadata(
            self.metadata.clone(),
            ClientId::new(self.client_id.clone()),
            Some(ClientSecret::new(self.secret.expose().to_string())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// A new authorization request: fresh state, nonce and PKCE verifier.
    pub fn start(&self) -> Start {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Start {
            url: url.to_string(),
            oauth_state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        }
    }

    /// Exchange the code (with the PKCE verifier) and verify the ID token it brings.
    pub async fn finish(&self, code: &str, pkce_verifier: &str, nonce: &str) -> Result<Identity, String> {
        let client = self.client();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| format!("the issuer has no token endpoint: {e}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| format!("the token request was refused: {}", error_chain(&e)))?;
        let token = response.id_token().ok_or("the token response has no ID token")?;
        let verifier = client.id_token_verifier();
        verify(token, &verifier, &Nonce::new(nonce.to_string()))
    }
}

/// The identity in a verified ID token. Refused: a bad signature or an algorithm other than
/// RS256, another issuer, another audience (or an extra untrusted one), an expired token, a
/// nonce other than this sign-in's. An e-mail the issuer marks unverified is dropped, so it
/// cannot match a role (roles may name people by e-mail).
pub fn verify(token: &CoreIdToken, verifier: &CoreIdTokenVerifier<'_>, nonce: &Nonce) -> Result<Identity, String> {
    let claims = token.claims(verifier, nonce).map_err(|e| format!("the ID token was refused: {}", error_chain(&e)))?;
    let email = claims.email().filter(|_| claims.email_verified() != Some(false)).map(|e| e.as_str().to_string());
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string());
    Ok(Identity { issuer: claims.issuer().as_str().to_string(), subject: claims.subject().as_str().to_string(), email, name })
}

/// An error with its sources, which openidconnect's errors keep the detail in.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests;
