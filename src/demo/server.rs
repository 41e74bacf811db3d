//! The HTTP front end: one axum fallback handler that sorts requests into the token endpoint,
//! Graph (`/v1.0`, through the shared dispatcher or `$batch`) and the `/_sim` test-support routes,
//! and the background writer of the state file (the state itself is in `shared.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State as AxState};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use super::reply::{Ctx, Reply};
use super::shared::{Audience, Headers, Shared};
use super::{batch, store, token, DemoConfig, Knobs, SimStats};
use super::{critical_path, dispatch, oidc};

/// The Graph base URL of a demo tenant listening at `addr`.
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/v1.0")
}

/// The Exchange Online endpoint of a demo tenant at `addr`.
pub fn exchange_base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// The token endpoint of a demo tenant at `addr`.
pub fn token_url(addr: SocketAddr) -> String {
    format!("http://{addr}/{}/oauth2/v2.0/token", super::DEMO_TENANT_ID)
}

/// A running demo tenant.
pub struct DemoServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    issuer: Arc<oidc::Issuer>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    flusher: Option<tokio::task::JoinHandle<()>>,
}

impl DemoServer {
    /// Load state from `cfg.state_path` (seeding it if the file is missing), bind, serve in a task.
    pub async fn start(cfg: DemoConfig, bind: SocketAddr) -> std::io::Result<DemoServer> {
        let state = if cfg.state_path.exists() {
            store::load(&cfg.state_path)?
        } else {
            let s = cfg.knobs.seed();
            store::save(&cfg.state_path, &s)?;
            s
        };
        let shared = Arc::new(Shared::new(state, cfg.knobs, cfg.state_path));
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let mut addr = listener.local_addr()?;
        // Bound to every interface: still advertise loopback, which is where clients should call.
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        // The MSP staff's OIDC issuer for the console, beside the client tenant's Entra endpoints.
        let issuer = oidc::Issuer::new(&format!("http://{addr}"));
        let app = Router::new().nest("/oidc", oidc::router(issuer.clone())).fallback(entry).with_state(shared.clone());
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!("demo tenant: server stopped: {e}");
            }
        });
        // Stats change on every request; writing the file for each read would dominate the
        // benchmarks, so stats-only changes are flushed a few times a second instead.
        let flush_shared = shared.clone();
        let flusher = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if flush_shared.is_dirty() {
                    flush_shared.persist();
                }
            }
        });
        Ok(DemoServer { addr, shared, issuer, stop: Some(stop_tx), task: Some(task), flusher: Some(flusher) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    /// The Exchange Online endpoint (`{this}/adminapi/beta/{tenant}/InvokeCommand`).
    pub fn exchange_base_url(&self) -> String {
        exchange_base_url(self.addr)
    }

    pub fn token_url(&self) -> String {
        token_url(self.addr)
    }

    /// The demo MSP's OpenID Connect issuer (see `demo::oidc`).
    pub fn oidc(&self) -> &oidc::Issuer {
        &self.issuer
    }

    pub fn stats(&self) -> SimStats {
        self.shared.lock_state().stats.clone()
    }

    /// [`DemoServer::stats`] for a caller that must own it (an observer called between phases).
    pub fn stats_source(&self) -> impl Fn() -> SimStats + Send + Sync + 'static {
        let shared = self.shared.clone();
        move || shared.lock_state().stats.clone()
    }

    /// Stop serving (waiting briefly for in-flight requests) and write the state file.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(3), task).await.is_err() {
                abort.abort();
            }
        }
        if let Some(f) = self.flusher.take() {
            f.abort();
        }
        self.shared.persist();
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(f) = self.flusher.take() {
            f.abort();
        }
        if self.task.is_some() {
            // Dropped without shutdown(): still leave the file current.
            self.shared.persist();
        }
    }
}

/// A request the bearer check refused, counted in `SimStats::bearer_refused`.
fn refused(shared: &Shared, reply: Reply) -> Response {
    shared.lock_state().stats.bearer_refused += 1;
    shared.mark_dirty();
    to_response(reply)
}

fn to_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match &reply.body {
        Some(b) => Response::new(Body::from(serde_json::to_vec(b).unwrap_or_default())),
        None => Response::new(Body::empty()),
    };
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if reply.body.is_some() {
        h.insert("content-type", HeaderValue::from_static("application/json"));
    }
    for (k, v) in &reply.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            h.insert(k, v);
        }
    }
    resp
}

fn plain_json(status: u16, body: Value) -> Response {
    to_response(Reply::json(status, body))
}

const MAX_BODY: usize = 16 * 1024 * 1024;

async fn entry(AxState(shared): AxState<Arc<Shared>>, ConnectInfo(remote): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers =
        Headers(parts.headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string()))).collect());
    let ctx = Ctx::new(headers.get("client-request-id"), headers.get("host"));
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return to_response(ctx.error(413, "RequestEntityTooLarge", "The request body is too large."));
    };
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| path.clone());

    if path.starts_with("/_sim/") {
        return sim(&shared, remote, &method, &path, &bytes);
    }

    // The simulated PSAs have their own counters and knobs (not Graph's).
    if let Some(reply) = super::psa::handle(&shared, &method, &path_and_query, &headers, &bytes) {
        if reply.changed {
            let writer = shared.clone();
            let _ = tokio::task::spawn_blocking(move || writer.persist()).await;
        }
        return to_response(reply);
    }
    shared.lock_state().stats.http_requests += 1;
    shared.mark_dirty();
    // Counted into the critical path when this handler returns (or is dropped).
    let _trip = critical_path::Trip::start(&shared);
    // Exchange counts a request against its concurrency limit from its arrival to its answer.
    let exo_slot = super::exchange::is_exchange_path(&path).then(|| super::exchange::Slot::enter(&shared));
    let latency = shared.knobs().latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let [tenant, oauth, ver, tok] = segs.as_slice() {
        if oauth.eq_ignore_ascii_case("oauth2") && *ver == "v2.0" && tok.eq_ignore_ascii_case("token") && method == "POST" {
            shared.lock_state().stats.token_requests += 1;
            let tenant = percent_encoding::percent_decode_str(tenant).decode_utf8_lossy().into_owned();
            let (status, body) = token::issue(&shared, &tenant, &headers, &bytes);
            return plain_json(status, body);
        }
    }
    if let [tenant, ver, well_known, doc] = segs.as_slice() {
        if *ver == "v2.0" && *well_known == ".well-known" && *doc == "openid-configuration" && method == "GET" {
            let tenant = percent_encoding::percent_decode_str(tenant).decode_utf8_lossy().into_owned();
            let (status, body) = token::discovery(&ctx.origin, &tenant);
            return plain_json(status, body);
        }
    }

    if super::exchange::is_exchange_path(&path) {
        if let Err(r) = token::check_bearer(&shared, &headers, Audience::Exchange) {
            return refused(&shared, r);
        }
        if let Some(refused) = exo_slot.as_ref().and_then(|s| s.refusal()) {
            return finish(&shared, refused).await;
        }
        let reply = super::exchange::handle(&shared, &method, &path_and_query, &headers, &bytes);
        let response = finish(&shared, reply).await;
        drop(exo_slot);
        return response;
    }

    let Some(rest) = path_and_query.strip_prefix("/v1.0").filter(|r| r.is_empty() || r.starts_with(['/', '?'])) else {
        let first = segs.first().copied().unwrap_or("");
        return to_response(ctx.error(400, "BadRequest", &format!("Invalid version: {first}")));
    };
    if let Err(r) = token::check_bearer(&shared, &headers, Audience::Graph) {
        return refused(&shared, r);
    }
    let rest_path = rest.split('?').next().unwrap_or("");
    let is_batch = percent_encoding::percent_decode_str(rest_path.trim_matches('/')).decode_utf8_lossy().eq_ignore_ascii_case("$batch");
    let reply = if is_batch && method == "POST" {
        // Each sub-request goes through the one Graph dispatcher, as a direct request does.
        batch::run_with(&shared, &headers, &bytes, &batch::GRAPH, &|shared, method, url, h, body| {
            dispatch::handle(shared, method, &format!("/{}", url.trim_start_matches('/')), h, body)
        })
    } else {
        dispatch::handle(&shared, &method, rest, &headers, &bytes)
    };
    finish(&shared, reply).await
}

/// Persist a change, hold the answer back if asked, answer.
async fn finish(shared: &Arc<Shared>, reply: Reply) -> Response {
    if reply.changed {
        // Serialising and writing the tenant takes milliseconds; keep it off the async workers.
        let writer = shared.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || writer.persist()).await {
            tracing::warn!("demo tenant: state writer failed: {e}");
        }
    }
    if reply.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
    }
    to_response(reply)
}

/// `/_sim/*`: test support, no auth, loopback callers only, not counted in the stats.
fn sim(shared: &Shared, remote: SocketAddr, method: &str, path: &str, body: &[u8]) -> Response {
    if !remote.ip().is_loopback() {
        return plain_json(403, json!({"error": "the /_sim routes answer loopback callers only"}));
    }
    match (method, path.trim_end_matches('/')) {
        ("GET", "/_sim/stats") => plain_json(200, json!(shared.lock_state().stats)),
        ("GET", "/_sim/user-writes") => plain_json(200, json!(shared.user_writes.snapshot())),
        ("GET", "/_sim/knobs") => plain_json(200, json!(shared.knobs())),
        ("PUT", "/_sim/knobs") => match serde_json::from_slice::<Knobs>(body) {
            Ok(k) => {
                shared.set_knobs(k.clone());
                plain_json(200, json!(k))
            }
            Err(e) => plain_json(400, json!({"error": format!("invalid knobs: {e}")})),
        },
        ("POST", "/_sim/reset") => {
            *shared.lock_state() = shared.knobs().seed();
            shared.user_writes.clear();
            shared.persist();
            plain_json(200, json!({"reset": true}))
        }
        ("GET", "/_sim/state") => plain_json(200, json!(*shared.lock_state())),
        _ => plain_json(404, json!({"error": format!("no such sim route: {method} {path}")})),
    }
}
