//! OAuth2 client-credentials tokens, cached and shared.
//!
//! One token serves every call until a minute before it expires. The cache is a tokio Mutex held
//! across the fetch on purpose: twenty requests that find the cache empty at once wait for the
//! one fetch instead of sending twenty token requests. The client secret and the token only
//! exist as [`Secret`], and error messages are scrubbed of the secret in case an endpoint echoes it.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::error::GraphError;
use super::stats::Recorder;
use crate::secret::Secret;

/// Renew this long before the token's stated expiry, so a token never expires mid-flight
/// (and clock skew with Entra ID does not matter).
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

struct Cached {
    token: Secret,
    valid_until: Instant,
}

pub(crate) struct TokenSource {
    token_url: String,
    client_id: String,
    client_secret: Secret,
    scope: String,
    cache: Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    /// Entra ID sends a number; some older endpoints send a string.
    expires_in: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenSource {
    pub fn new(token_url: String, client_id: String, client_secret: Secret, scope: String) -> Self {
        TokenSource { token_url, client_id, client_secret, scope, cache: Mutex::new(None) }
    }

    /// A valid token, fetched if the cache is empty or stale.
    pub async fn get(&self, http: &reqwest::Client, stats: &Recorder) -> Result<Secret, GraphError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref() {
            if Instant::now() < c.valid_until {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = self.fetch(http, stats).await?;
        *cache = Some(Cached { token: token.clone(), valid_until: Instant::now() + lifetime });
        Ok(token)
    }

    /// Graph rejected `used` (401 InvalidAuthenticationToken): drop it so the next `get` fetches a
    /// new one. Comparing first means many requests rejected together cause one refresh, not many.
    pub async fn invalidate(&self, used: &Secret) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|c| &c.token == used) {
            *cache = None;
        }
    }

    fn auth_error(&self, status: Option<u16>, message: String) -> GraphError {
        let secret = self.client_secret.expose();
        let message = if secret.is_empty() { message } else { message.replace(secret, "[redacted]") };
        GraphError::Auth { token_url: self.token_url.clone(), status, message }
    }

    async fn fetch(&self, http: &reqwest::Client, stats: &Recorder) -> Result<(Secret, Duration), GraphError> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.client_id)
            .append_pair("client_secret", self.client_secret.expose())
            .append_pair("scope", &self.scope)
            .finish();
        Recorder::add(&stats.http_requests, 1);
        let start = Instant::now();
        let sent =
            http.post(&self.token_url).header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(form).send().await;
        let result = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                resp.bytes().await.map(|b| (status, b))
            }
            Err(e) => Err(e),
        };
        stats.exchange(start, Instant::now());
        // reqwest errors carry the URL, never the form body, so they are safe to show.
        let (status, bytes) = result.map_err(|e| self.auth_error(None, format!("token endpoint unreachable: {e}")))?;

        let reply: Option<TokenReply> = serde_json::from_slice(&bytes).ok();
        match reply {
            Some(TokenReply { access_token: Some(token), expires_in, .. }) if (200..300).contains(&status) => {
                let secs = match expires_in {
                    Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(0),
                    Some(serde_json::Value::String(s)) => s.parse().unwrap_or(0),
                    _ => 3600,
                };
                let lifetime = Duration::from_secs(secs).saturating_sub(EXPIRY_MARGIN);
                Ok((Secret::new(token), lifetime))
            }
            Some(TokenReply { error, error_description, .. }) if error.is_some() || error_description.is_some() => {
                let message = match (error, error_description) {
                    (Some(e), Some(d)) => format!("{e}: {d}"),
                    (Some(e), None) => e,
                    (None, Some(d)) => d,
                    (None, None) => String::new(),
                };
                Err(self.auth_error(Some(status), message))
            }
            _ => {
                let text = String::from_utf8_lossy(&bytes);
                let snippet: String = text.chars().take(200).collect();
                Err(self.auth_error(Some(status), format!("unexpected token response: {snippet}")))
            }
        }
    }
}
