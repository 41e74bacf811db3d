//! One HTTP attempt against Graph, and what it produced.
//!
//! This layer sends exactly once and reports: an answer (status, Retry-After, JSON body), a
//! network failure (and whether the request may have left the machine), or a final error. It
//! never retries; [`super::retry`] decides that, the same way for direct calls and for each
//! sub-response of a `$batch`. It also keeps the statistics honest: every HTTP exchange passes
//! through [`Transport::exchange`].

use std::time::Instant;

use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER};

use super::answer::{error_code, parse_retry_after};
use super::config::GraphConfig;
use super::error::GraphError;
use super::stats::Recorder;
use super::token::TokenSource;
use super::GraphRequest;
use crate::secret::Secret;

/// The outcome of one attempt of one operation.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Graph answered (any status).
    Response { status: u16, retry_after: Option<std::time::Duration>, body: serde_json::Value },
    /// No answer. `sent` is false only when the request certainly never left (connect failed).
    Transport { message: String, sent: bool },
    /// Nothing to retry: the token could not be had, or the answer made no sense.
    Failed(GraphError),
}

/// Shared by the client and the batcher task: configuration, the HTTP client, tokens, stats.
pub(crate) struct Transport {
    pub cfg: GraphConfig,
    pub http: reqwest::Client,
    pub tokens: TokenSource,
    pub stats: Recorder,
}

impl Transport {
    pub fn new(cfg: GraphConfig) -> Result<Self, GraphError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            // Never follow a redirect with our bearer token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("offboard-host/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GraphError::Protocol { message: format!("cannot build the HTTP client: {e}") })?;
        let tokens = TokenSource::new(cfg.token_url.clone(), cfg.client_id.clone(), cfg.client_secret.clone(), cfg.scope.clone());
        Ok(Transport { cfg, http, tokens, stats: Recorder::default() })
    }

    /// Send one Graph call to `url` (absolute) and read the whole answer.
    pub async fn send(&self, req: &GraphRequest, url: &str, attempt: u32) -> Attempt {
        let token = match self.tokens.get(&self.http, &self.stats).await {
            Ok(t) => t,
            Err(e) => return Attempt::Failed(e),
        };
        let mut rb = self.http.request(req.method.clone(), url);
        rb = authorize(rb, &token);
        if attempt > 0 {
            rb = rb.header("Retry-Attempt", attempt.to_string());
        }
        if req.eventual {
            rb = rb.header("ConsistencyLevel", "eventual");
        }
        if let Some(body) = &req.body {
            rb = rb.json(body);
        }
        Recorder::add(&self.stats.operations, 1);
        if req.method != reqwest::Method::GET {
            Recorder::add(&self.stats.writes, 1);
        }
        let attempt = self.exchange(rb).await;
        self.judge(attempt, &token).await
    }

    /// Send a built request, read the body, and record the exchange.
    pub async fn exchange(&self, rb: reqwest::RequestBuilder) -> Attempt {
        Recorder::add(&self.stats.http_requests, 1);
        let start = Instant::now();
        let result = match rb.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(bytes) => Ok((status, headers, bytes)),
                    // The server answered, so the request certainly arrived.
                    Err(e) => Err((describe(&e), true)),
                }
            }
            Err(e) => Err((describe(&e), !(e.is_connect() || e.is_builder()))),
        };
        self.stats.exchange(start, Instant::now());
        match result {
            Err((message, sent)) => Attempt::Transport { message, sent },
            Ok((status, headers, bytes)) => match parse_body(status, &bytes) {
                Ok(body) => Attempt::Response { status, retry_after: retry_after(&headers), body },
                Err(e) => Attempt::Failed(e),
            },
        }
    }

    /// Bookkeeping every answer gets, direct or inside a batch: count throttles, and drop a
    /// token Graph rejected so the re-send fetches a fresh one.
    pub async fn judge(&self, attempt: Attempt, token: &Secret) -> Attempt {
        if let Attempt::Response { status, body, .. } = &attempt {
            if *status == 429 {
                Recorder::add(&self.stats.throttled, 1);
            }
            if *status == 401 && error_code(body) == "InvalidAuthenticationToken" {
                self.tokens.invalidate(token).await;
            }
        }
        attempt
    }
}

/// Headers every Graph call carries. The client-request-id lets Microsoft support find the
/// call in their logs.
pub(crate) fn authorize(rb: reqwest::RequestBuilder, token: &Secret) -> reqwest::RequestBuilder {
    rb.header(AUTHORIZATION, format!("Bearer {}", token.expose())).header("client-request-id", uuid::Uuid::new_v4().to_string())
}

fn retry_after(headers: &HeaderMap) -> Option<std::time::Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, chrono::Utc::now())
}

/// Empty body → Null; JSON → value. A non-JSON error page (a proxy's HTML) is kept as text
/// for the error message; a non-JSON success is a protocol error.
pub(crate) fn parse_body(status: u16, bytes: &[u8]) -> Result<serde_json::Value, GraphError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(serde_json::Value::Null);
    }
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(_) if !(200..300).contains(&status) => Ok(serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())),
        Err(e) => Err(GraphError::Protocol { message: format!("HTTP {status} answer is not JSON: {e}") }),
    }
}

/// reqwest's Display hides the cause ("error sending request"); add the chain.
fn describe(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() { format!("timed out: {e}") } else { e.to_string() };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}
