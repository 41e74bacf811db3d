//! Our typed Microsoft Graph client.
//!
//! Why our own and not `graph-rs-sdk`: we need a configurable base and token URL (the loopback
//! demo tenant), a retry policy that never blindly re-sends a non-idempotent write, transparent
//! `$batch` coalescing, and statistics for the run report (see the reference notes §1, §2, B4).
//!
//! ```text
//!  request() ─ read-only guard ─ retry loop (retry.rs) ─┬─ batching on:  batch.rs queue ─┐
//!                                                        └─ batching off ─────────────────┴─ transport.rs ─ HTTP
//!                                                                                          token.rs (cached)
//! ```
//!
//! - [`GraphClient::request`] sends one call, coalesced with concurrent ones into a `$batch`.
//! - [`GraphClient::get_all`] follows `@odata.nextLink`, only ever to our own base URL.
//! - [`paths`] builds path segments and `$filter` values from data; never paste a UPN raw.
//! - [`GraphClient::stats`] counts calls, writes, throttles and sequential round trips.

pub(crate) mod answer;
mod batch;
mod config;
mod error;
pub mod paths;
pub(crate) mod retry;
pub(crate) mod stats;
mod token;
pub(crate) mod transport;

#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use serde_json::Value;

pub use config::GraphConfig;
pub use error::GraphError;
pub use paths::{odata_string, path_segment, query_value, user_path};
pub use stats::{round_trips, GraphStats};

use batch::Batcher;
use retry::{decide, OpState, Step};
use stats::Recorder;
use transport::Transport;

/// One Graph call. `path` is relative to `base_url`, starts with '/', and is already escaped
/// (build it with [`paths`]).
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: reqwest::Method,
    pub path: String,
    pub body: Option<Value>,
    /// May this write be re-sent after an unclear failure (503/504/timeout)? True for GET.
    pub idempotent: bool,
    /// Send `ConsistencyLevel: eventual`: a directory query that needs Graph's advanced query
    /// capabilities (`$count`, `ne`, `endsWith`, `$orderby` with `$filter`; see [`Page`]).
    pub eventual: bool,
}

impl GraphRequest {
    fn new(method: reqwest::Method, path: impl Into<String>, body: Option<Value>) -> Self {
        let idempotent = method == reqwest::Method::GET;
        GraphRequest { method, path: path.into(), body, idempotent, eventual: false }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(reqwest::Method::GET, path, None)
    }
    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self::new(reqwest::Method::POST, path, Some(body))
    }
    pub fn patch(path: impl Into<String>, body: Value) -> Self {
        Self::new(reqwest::Method::PATCH, path, Some(body))
    }
    pub fn put(path: impl Into<String>, body: Value) -> Self {
        Self::new(reqwest::Method::PUT, path, Some(body))
    }
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(reqwest::Method::DELETE, path, None)
    }
    /// Mark a write safe to re-send (e.g. PATCH accountEnabled=false: applying it twice is harmless).
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }
}

/// A collection read up to a limit ([`GraphClient::get_pages`]).
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// At most the limit asked for.
    pub items: Vec<Value>,
    /// `@odata.count` of the first page: how many match in all. Graph gives it only to an
    /// advanced query (`ConsistencyLevel: eventual` and `$count=true`); without the header it
    /// silently ignores `$count=true`.
    pub count: Option<u64>,
    /// More items matched than were read (a nextLink was left, or a page went past the limit).
    pub more: bool,
}

/// A 2xx answer. `body` is `Null` for an empty body (204).
#[derive(Debug, Clone)]
pub struct GraphResponse {
    pub status: u16,
    pub body: Value,
}

/// The Graph client. Cheap to clone (an `Arc` inside); all clones share the token cache, the
/// batcher and the statistics.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

struct Inner {
    t: Arc<Transport>,
    /// Started on first use, because `new` may run outside a tokio runtime.
    batcher: OnceLock<Batcher>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.inner.t.cfg.base_url)
            .field("read_only", &self.inner.t.cfg.read_only)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    pub fn new(cfg: GraphConfig) -> Result<Self, GraphError> {
        check_urls(&cfg)?;
        let t = Arc::new(Transport::new(cfg)?);
        Ok(GraphClient { inner: Arc::new(Inner { t, batcher: OnceLock::new() }) })
    }

    /// Send one request (coalesced into a $batch with other concurrent ones when batching is on).
    /// 2xx → Ok; anything else after retries → Err(GraphError::Api{..}) etc.
    pub async fn request(&self, req: GraphRequest) -> Result<GraphResponse, GraphError> {
        let t = &self.inner.t;
        // Plan mode: refuse before anything else, so not even a token is fetched for a write.
        if t.cfg.read_only && req.method != reqwest::Method::GET {
            return Err(GraphError::WriteRefused { method: req.method.to_string(), path: req.path });
        }
        // A path not starting with '/' could turn `base + path` into another host
        // ("https://graph.microsoft.com/v1.0" + ".evil.example/").
        if !req.path.starts_with('/') {
            return Err(GraphError::Protocol { message: format!("request path {:?} must start with '/'", req.path) });
        }
        self.run(&req, None, &req.path).await
    }

    /// GET `path` and return its JSON body.
    pub async fn get(&self, path: &str) -> Result<Value, GraphError> {
        Ok(self.request(GraphRequest::get(path)).await?.body)
    }

    /// GET a collection and follow every @odata.nextLink, returning all items of "value".
    /// A nextLink must start with base_url (same scheme/host/port/path prefix), else
    /// GraphError::Protocol: never send the token elsewhere.
    pub async fn get_all(&self, path: &str) -> Result<Vec<Value>, GraphError> {
        Ok(self.get_pages(GraphRequest::get(path), usize::MAX).await?.items)
    }

    /// GET a collection (`req` is a GET, perhaps `eventual`), following @odata.nextLink until
    /// `max` items are read. Every page is sent with the first request's headers: Graph wants
    /// `ConsistencyLevel` on each page of an advanced query.
    pub async fn get_pages(&self, req: GraphRequest, max: usize) -> Result<Page, GraphError> {
        let path = req.path.clone();
        let mut page = self.request(req.clone()).await?.body;
        let mut out = Page::default();
        let mut previous: Option<String> = None;
        loop {
            let Value::Object(mut map) = page else {
                return Err(GraphError::Protocol { message: format!("GET {path} did not return a JSON object") });
            };
            if out.count.is_none() && previous.is_none() {
                out.count = map.get("@odata.count").and_then(Value::as_u64);
            }
            match map.remove("value") {
                Some(Value::Array(values)) => out.items.extend(values),
                _ => return Err(GraphError::Protocol { message: format!("GET {path} did not return a collection (\"value\")") }),
            }
            let link = match map.remove("@odata.nextLink") {
                None | Some(Value::Null) => break,
                Some(Value::String(link)) => link,
                Some(_) => return Err(GraphError::Protocol { message: "@odata.nextLink is not a string".into() }),
            };
            if out.items.len() >= max {
                out.more = true;
                break;
            }
            if previous.as_deref() == Some(link.as_str()) {
                return Err(GraphError::Protocol { message: format!("@odata.nextLink repeats itself: {link}") });
            }
            let relative = same_origin_suffix(self.inner.t.cfg.base(), &link)?;
            // Paging is sequential by nature; it goes direct, not through the batcher.
            let next = GraphRequest { path: relative.clone(), ..req.clone() };
            page = self.run(&next, Some(&link), &relative).await?.body;
            previous = Some(link);
        }
        if out.items.len() > max {
            out.items.truncate(max);
            out.more = true;
        }
        Ok(out)
    }

    /// A snapshot of the statistics so far.
    pub fn stats(&self) -> GraphStats {
        self.inner.t.stats.snapshot()
    }

    /// Acquire a token now (so auth errors surface before any write).
    pub async fn authenticate(&self) -> Result<(), GraphError> {
        let t = &self.inner.t;
        t.tokens.get(&t.http, &t.stats).await.map(|_| ())
    }

    /// The retry loop around one operation. `absolute` sends to that URL directly (paging);
    /// otherwise `base + req.path`, through the batcher when batching is on.
    async fn run(&self, req: &GraphRequest, absolute: Option<&str>, shown_path: &str) -> Result<GraphResponse, GraphError> {
        let t = &self.inner.t;
        let mut st = OpState::default();
        let mut attempt = 0u32;
        loop {
            let outcome = match absolute {
                Some(url) => t.send(req, url, attempt).await,
                None if t.cfg.batching => {
                    let batcher = self.inner.batcher.get_or_init(|| Batcher::start(t.clone()));
                    batcher.submit(req, attempt).await
                }
                None => t.send(req, &format!("{}{}", t.cfg.base(), req.path), attempt).await,
            };
            match decide(&t.cfg, req, shown_path, &mut st, outcome) {
                Step::Done(result) => return result,
                Step::Retry { wait, counted } => {
                    if counted {
                        Recorder::add(&t.stats.retries, 1);
                    }
                    if !wait.is_zero() {
                        tracing::debug!(method = %req.method, path = shown_path, ?wait, attempt, "Graph retry");
                        t.stats.waited(wait);
                        tokio::time::sleep(wait).await;
                    }
                    attempt += 1;
                }
            }
        }
    }
}

/// Both URLs of a configuration must be http(s) URLs with a host (also used by the Exchange client).
pub(crate) fn check_urls(cfg: &GraphConfig) -> Result<(), GraphError> {
    for (what, u) in [("base_url", &cfg.base_url), ("token_url", &cfg.token_url)] {
        let ok = url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.has_host());
        if !ok {
            return Err(GraphError::Protocol { message: format!("{what} {u:?} is not an http(s) URL") });
        }
    }
    Ok(())
}

/// Check that `link` is under `base` (scheme, host, port, path prefix; no credentials) and
/// return the part after `base` (for messages).
pub(crate) fn same_origin_suffix(base: &str, link: &str) -> Result<String, GraphError> {
    let refuse = || GraphError::Protocol {
        message: format!("@odata.nextLink {link:?} points outside {base}; not following it (the access token must not leave Graph)"),
    };
    let b = url::Url::parse(base).map_err(|_| refuse())?;
    let n = url::Url::parse(link).map_err(|_| refuse())?;
    let base_path = b.path().trim_end_matches('/');
    let path_ok = n.path() == base_path || n.path().starts_with(&format!("{base_path}/"));
    let same = n.scheme() == b.scheme()
        && n.host_str() == b.host_str()
        && n.port_or_known_default() == b.port_or_known_default()
        && n.username().is_empty()
        && n.password().is_none()
        && path_ok;
    if !same {
        return Err(refuse());
    }
    let mut rel = n.path()[base_path.len()..].to_string();
    if let Some(q) = n.query() {
        rel.push('?');
        rel.push_str(q);
    }
    Ok(rel)
}
