//! A tiny Graph + token endpoint double. It answers `/token` itself (secret "good-secret" gets
//! tokens "tok-1", "tok-2", …; anything else gets an AADSTS error that echoes the secret, to
//! prove we scrub it), unpacks `$batch` envelopes (answering in reverse order), and asks the
//! test's handler for every logical operation. It logs everything it receives.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::graph::{GraphClient, GraphConfig};
use crate::secret::Secret;

/// One logical operation as the mock saw it (direct, or a sub-request of a batch).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Relative to `/v1.0`, with the query string.
    pub path: String,
    pub body: Value,
    pub auth: String,
    /// The sub-request object as sent inside a `$batch` (Null for direct calls).
    pub raw: Value,
    pub retry_attempt: Option<String>,
    /// `ConsistencyLevel`: the header of a direct call, the sub-request's header in a batch.
    pub consistency: Option<String>,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply { status: 200, headers: vec![], body, delay: Duration::ZERO }
    }
    pub fn status(status: u16, body: Value) -> Self {
        Reply { status, headers: vec![], body, delay: Duration::ZERO }
    }
    pub fn error(status: u16, code: &str, message: &str) -> Self {
        Self::status(status, json!({"error": {"code": code, "message": message}}))
    }
    pub fn throttled(retry_after: &str) -> Self {
        Self::error(429, "TooManyRequests", "Please retry again later.").header("Retry-After", retry_after)
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

type Handler = Arc<dyn Fn(&Call) -> Reply + Send + Sync>;
type EnvelopeHandler = Arc<dyn Fn(usize) -> Option<Reply> + Send + Sync>;

#[derive(Default, Debug)]
pub struct Log {
    pub token_hits: usize,
    /// Every logical operation, in arrival order.
    pub ops: Vec<Call>,
    /// Operations that arrived as direct HTTP requests.
    pub direct: Vec<Call>,
    /// Each `$batch` envelope's sub-requests.
    pub batches: Vec<Vec<Call>>,
}

struct MockState {
    base: String,
    handler: Handler,
    envelope: Option<EnvelopeHandler>,
    log: Mutex<Log>,
}

pub struct Mock {
    pub base: String,
    pub token_url: String,
    state: Arc<MockState>,
}

impl Mock {
    pub async fn start(handler: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Mock {
        Self::start_full(Arc::new(handler), None).await
    }

    /// `envelope(n)` is asked first for the n-th `$batch` envelope; Some(reply) answers the whole envelope.
    pub async fn with_envelope(
        handler: impl Fn(&Call) -> Reply + Send + Sync + 'static,
        envelope: impl Fn(usize) -> Option<Reply> + Send + Sync + 'static,
    ) -> Mock {
        Self::start_full(Arc::new(handler), Some(Arc::new(envelope))).await
    }

    async fn start_full(handler: Handler, envelope: Option<EnvelopeHandler>) -> Mock {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
        let addr: SocketAddr = listener.local_addr().expect("mock addr");
        let base = format!("http://{addr}/v1.0");
        let state = Arc::new(MockState { base: base.clone(), handler, envelope, log: Mutex::new(Log::default()) });
        let app = axum::Router::new().fallback(handle).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Mock { base, token_url: format!("http://{addr}/token"), state }
    }

    pub fn log<R>(&self, f: impl FnOnce(&Log) -> R) -> R {
        f(&self.state.log.lock().expect("log lock"))
    }

    pub fn config(&self) -> GraphConfig {
        let mut cfg = GraphConfig::new(&self.base, &self.token_url, "client-1", Secret::new("good-secret"));
        cfg.timeout = Duration::from_secs(5);
        cfg.retry_base_delay = Duration::from_millis(1);
        cfg
    }

    pub fn client(&self, batching: bool) -> GraphClient {
        let mut cfg = self.config();
        cfg.batching = batching;
        GraphClient::new(cfg).expect("client")
    }
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

async fn handle(State(s): State<Arc<MockState>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let full = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    if uri.path() == "/token" {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let n = {
            let mut log = s.log.lock().expect("log lock");
            log.token_hits += 1;
            log.token_hits
        };
        if get("grant_type") != "client_credentials" || get("client_secret") != "good-secret" {
            let secret = get("client_secret");
            let body = json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: Invalid client secret provided. Got '{secret}'."),
            });
            return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
        }
        return axum::Json(json!({"token_type": "Bearer", "expires_in": 3600, "access_token": format!("tok-{n}")})).into_response();
    }
    let path = full.strip_prefix("/v1.0").unwrap_or(&full).to_string();
    let auth = header(&headers, "authorization").unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    if path == "/$batch" && method == Method::POST {
        let requests = body.get("requests").and_then(Value::as_array).cloned().unwrap_or_default();
        let calls: Vec<Call> = requests
            .iter()
            .map(|r| Call {
                method: r["method"].as_str().unwrap_or("").to_string(),
                path: r["url"].as_str().unwrap_or("").to_string(),
                body: r.get("body").cloned().unwrap_or(Value::Null),
                auth: auth.clone(),
                raw: r.clone(),
                retry_attempt: None,
                consistency: r["headers"]["ConsistencyLevel"].as_str().map(String::from),
            })
            .collect();
        let n = {
            let mut log = s.log.lock().expect("log lock");
            log.batches.push(calls.clone());
            log.batches.len()
        };
        if let Some(reply) = s.envelope.as_ref().and_then(|e| e(n)) {
            return respond(reply).await;
        }
        let mut responses = Vec::new();
        for (r, call) in requests.iter().zip(&calls) {
            s.log.lock().expect("log lock").ops.push(call.clone());
            let reply = (s.handler)(call);
            let hdrs: serde_json::Map<String, Value> = reply.headers.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            responses.push(json!({"id": r["id"], "status": reply.status, "headers": hdrs, "body": reply.body}));
        }
        // Graph may answer in any order; make sure we do not rely on it.
        responses.reverse();
        return axum::Json(json!({ "responses": responses })).into_response();
    }

    let call = Call {
        method: method.to_string(),
        path,
        body,
        auth,
        raw: Value::Null,
        retry_attempt: header(&headers, "retry-attempt"),
        consistency: header(&headers, "consistencylevel"),
    };
    {
        let mut log = s.log.lock().expect("log lock");
        log.ops.push(call.clone());
        log.direct.push(call.clone());
    }
    let mut reply = (s.handler)(&call);
    if let Value::String(b) = &reply.body {
        // Handlers write "{base}" in nextLinks.
        reply.body = Value::String(b.replace("{base}", &s.base));
    }
    if let Some(link) = reply.body.get("@odata.nextLink").and_then(Value::as_str).map(|l| l.replace("{base}", &s.base)) {
        reply.body["@odata.nextLink"] = Value::String(link);
    }
    respond(reply).await
}

async fn respond(reply: Reply) -> Response {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = if reply.body.is_null() { status.into_response() } else { (status, axum::Json(reply.body)).into_response() };
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}
