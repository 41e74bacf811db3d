//! Client configuration: where Graph and the token endpoint are, and the retry/batching knobs.
//!
//! Both URLs are configurable so the same client talks to the real cloud, a national cloud, or
//! the loopback demo tenant the tests use.

use std::time::Duration;

use crate::secret::Secret;

/// Kiota's `absoluteMaxRetries`: more re-sends than this only adds load to a throttled tenant.
pub const MAX_RETRIES_CAP: u32 = 10;

/// Settings for a [`super::GraphClient`]. Build with [`GraphConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// e.g. "https://graph.microsoft.com/v1.0" (trailing slash tolerated).
    pub base_url: String,
    /// Full token endpoint URL, e.g. "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token".
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// "https://graph.microsoft.com/.default"
    pub scope: String,
    /// Per HTTP attempt (a `$batch` envelope is one attempt). Default 30 s.
    pub timeout: Duration,
    /// Re-sends per operation. Default 4, clamped to ≤ 10.
    pub max_retries: u32,
    /// Cumulative backoff cap per operation. Default 180 s (kiota's `absoluteMaxDelaySeconds`).
    pub max_total_wait: Duration,
    /// Backoff base when there is no Retry-After: base * 2^(n-1) + jitter(0..base). Default 1 s.
    pub retry_base_delay: Duration,
    /// Coalesce concurrent requests into `$batch` calls. Default true.
    pub batching: bool,
    /// How long the first queued request waits for company. Default 3 ms.
    pub batch_window: Duration,
    /// Plan mode: every non-GET is refused locally with `GraphError::WriteRefused`, never sent.
    pub read_only: bool,
    /// Paces writes at the tenant's write quota; shared by every client of the app in the tenant
    /// (see [`super::pacer`]). None: writes are not paced. Default None.
    pub write_pacer: Option<std::sync::Arc<super::WritePacer>>,
}

impl GraphConfig {
    pub fn new(base_url: impl Into<String>, token_url: impl Into<String>, client_id: impl Into<String>, client_secret: Secret) -> Self {
        GraphConfig {
            base_url: base_url.into(),
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret,
            scope: "https://graph.microsoft.com/.default".into(),
            timeout: Duration::from_secs(30),
            max_retries: 4,
            max_total_wait: Duration::from_secs(180),
            retry_base_delay: Duration::from_secs(1),
            batching: true,
            // Long enough for the futures a script fires together to meet in one batch, short
            // enough that a lone request does not notice.
            batch_window: Duration::from_millis(3),
            read_only: false,
            write_pacer: None,
        }
    }

    /// `base_url` without its trailing slash, so `base + path` never doubles it.
    pub(crate) fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    pub(crate) fn effective_max_retries(&self) -> u32 {
        self.max_retries.min(MAX_RETRIES_CAP)
    }
}
