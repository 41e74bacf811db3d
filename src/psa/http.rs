//! The HTTP client the three PSA providers share.
//!
//! One request in, one JSON value (or a [`PsaError`]) out, with:
//! - **bounded retries**: a 429 is always re-sent after its `Retry-After` (seconds or an HTTP date;
//!   PSAs document that a throttled request was not processed), a 502/503/504 or a network error
//!   only when the request is a read or certainly never left (connection refused). A write that
//!   may have landed comes back as [`PsaError::Unavailable`] with `maybe_applied`, and the outbox
//!   looks for the note's marker before sending it again. Waits grow exponentially with jitter
//!   (the Graph client's `exponential`), capped by `max_retries` and `max_total_wait`;
//! - **error bodies made readable**: ConnectWise `{code,message,errors[{field,message}]}`,
//!   Autotask `{errors:[...]}`, Halo / OAuth `{error,error_description}` or plain text;
//! - **the plan-mode fence**: with `read_only`, a request marked as a write is refused locally.
//!   Writes are marked by the caller, not guessed from the method: Autotask queries are POSTs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::{PResult, PsaError};
use crate::graph::answer::parse_retry_after;
use crate::graph::retry::exponential;

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub timeout: Duration,
    /// Re-sends per request (429, or an unavailable read).
    pub max_retries: u32,
    pub retry_base: Duration,
    /// Cumulative waiting per request; a longer Retry-After means "not now": the outbox keeps it.
    pub max_total_wait: Duration,
    /// Plan mode: refuse every write.
    pub read_only: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            max_retries: 4,
            retry_base: Duration::from_millis(500),
            max_total_wait: Duration::from_secs(60),
            read_only: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PsaStats {
    pub requests: u64,
    pub writes: u64,
    pub retries: u64,
    pub throttled: u64,
}

pub enum Body {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

pub struct Req {
    pub method: Method,
    pub url: String,
    /// For messages: the path without the base URL or query.
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
    pub write: bool,
}

impl Req {
    pub fn new(method: Method, base: &str, path_and_query: &str, write: bool) -> Req {
        let path = path_and_query.split('?').next().unwrap_or_default().to_string();
        Req { method, url: format!("{}{path_and_query}", base.trim_end_matches('/')), path, headers: vec![], body: Body::None, write }
    }
    pub fn json(mut self, v: Value) -> Req {
        self.body = Body::Json(v);
        self
    }
}

pub struct PsaHttp {
    pub psa: &'static str,
    http: reqwest::Client,
    pub settings: HttpSettings,
    requests: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

impl PsaHttp {
    pub fn new(psa: &'static str, settings: HttpSettings) -> PResult<PsaHttp> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            // Never follow a redirect with our credentials to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("offboard-host/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PsaError::Protocol { psa, message: format!("cannot build the HTTP client: {e}") })?;
        Ok(PsaHttp {
            psa,
            http,
            settings,
            requests: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        })
    }

    pub fn stats(&self) -> PsaStats {
        PsaStats {
            requests: self.requests.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }

    /// Send with retries; the JSON answer (`Null` for an empty body, a string for a non-JSON one).
    pub async fn send(&self, req: Req) -> PResult<Value> {
        self.send_linked(req).await.map(|(v, _)| v)
    }

    /// [`send`](Self::send), with the answer's `Link` header (RFC 8288) when it has one.
    pub async fn send_linked(&self, req: Req) -> PResult<(Value, Option<String>)> {
        let psa = self.psa;
        let (method, path) = (req.method.to_string(), req.path.clone());
        if req.write && self.settings.read_only {
            return Err(PsaError::WriteRefused { psa, method, path });
        }
        let unavailable = |message: String, maybe_applied: bool| PsaError::Unavailable {
            psa,
            method: method.clone(),
            path: path.clone(),
            message,
            maybe_applied,
        };
        let (mut retries, mut waited) = (0u32, Duration::ZERO);
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            if req.write {
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            let (retry_after, failure) = match self.attempt(&req).await {
                Ok((status, _, body, link)) if (200..300).contains(&status) => return Ok((body, link)),
                Ok((429, retry_after, _, _)) => {
                    self.throttled.fetch_add(1, Ordering::Relaxed);
                    (retry_after, unavailable("still throttled (HTTP 429)".into(), false))
                }
                Ok((status @ (502..=504), retry_after, body, _)) => {
                    let e = unavailable(format!("HTTP {status}: {}", error_text(&body)), req.write);
                    if req.write {
                        return Err(e);
                    }
                    (retry_after, e)
                }
                Ok((status @ (401 | 403), _, body, _)) => {
                    return Err(PsaError::Auth { psa, message: format!("{method} {path}: HTTP {status}: {}", error_text(&body)) })
                }
                Ok((status, _, body, _)) => return Err(PsaError::Api { psa, method, path, status, message: error_text(&body) }),
                Err((message, sent)) => {
                    let e = unavailable(format!("network error: {message}"), req.write && sent);
                    if req.write && sent {
                        return Err(e);
                    }
                    (None, e)
                }
            };
            let wait = retry_after.unwrap_or_else(|| exponential(self.settings.retry_base, retries + 1));
            if retries >= self.settings.max_retries || waited + wait > self.settings.max_total_wait {
                return Err(match failure {
                    PsaError::Unavailable { message, maybe_applied, .. } => {
                        unavailable(format!("gave up after {} attempt(s): {message}", retries + 1), maybe_applied)
                    }
                    other => other,
                });
            }
            retries += 1;
            waited += wait;
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    /// One exchange: `(status, Retry-After, body, Link)`, or `(network error, may have been sent)`.
    async fn attempt(&self, req: &Req) -> Result<(u16, Option<Duration>, Value, Option<String>), (String, bool)> {
        let mut rb = self.http.request(req.method.clone(), &req.url).header("Accept", "application/json");
        for (k, v) in &req.headers {
            rb = rb.header(*k, v);
        }
        rb = match &req.body {
            Body::None => rb,
            Body::Json(v) => rb.json(v),
            Body::Form(f) => rb.form(f),
        };
        let resp = rb.send().await.map_err(|e| (e.to_string(), !e.is_connect()))?;
        let status = resp.status().as_u16();
        let retry_after =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let link = resp.headers().get_all("link").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(", ");
        let link = Some(link).filter(|l| !l.is_empty());
        let bytes = resp.bytes().await.map_err(|e| (e.to_string(), true))?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).chars().take(300).collect()))
        };
        Ok((status, retry_after, body, link))
    }
}

/// The readable part of a PSA error body, whichever PSA sent it.
pub fn error_text(body: &Value) -> String {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    match body {
        Value::Null => "(no details in the answer)".into(),
        Value::String(t) => t.chars().take(300).collect(),
        Value::Object(o) => {
            let mut parts: Vec<String> = Vec::new();
            // OAuth (Halo's token endpoint): {"error":"invalid_client","error_description":"..."}
            if let Some(d) = s(o.get("error_description")) {
                parts.push(format!("{}: {d}", s(o.get("error")).unwrap_or_default()));
            }
            // ConnectWise {"code","message","errors":[{"code","message","field"}]}; Halo {"Message"} / {"message"}
            if let Some(m) = s(o.get("message")).or_else(|| s(o.get("Message"))) {
                parts.push(m);
            }
            // Autotask {"errors":["..."]}, ConnectWise field errors
            for e in o.get("errors").and_then(Value::as_array).into_iter().flatten() {
                match e {
                    Value::String(t) => parts.push(t.clone()),
                    Value::Object(_) => {
                        let field = s(e.get("field")).map(|f| format!("{f}: ")).unwrap_or_default();
                        parts.push(format!("{field}{}", s(e.get("message")).unwrap_or_default()));
                    }
                    _ => {}
                }
            }
            if parts.is_empty() {
                if let Some(e) = s(o.get("error")) {
                    parts.push(e);
                }
            }
            if parts.is_empty() {
                body.to_string().chars().take(300).collect()
            } else {
                parts.join("; ")
            }
        }
        other => other.to_string().chars().take(300).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_bodies_of_each_psa_become_messages() {
        // ConnectWise
        let cw = json!({"code":"InvalidObject","message":"ticket object is invalid",
            "errors":[{"code":"MissingRequiredField","message":"The summary field is required.","resource":"ticket","field":"summary"}]});
        assert_eq!(error_text(&cw), "ticket object is invalid; summary: The summary field is required.");
        // Autotask
        assert_eq!(error_text(&json!({"errors":["Missing Required Field: title"]})), "Missing Required Field: title");
        // Halo token endpoint and API
        assert_eq!(
            error_text(&json!({"error":"invalid_client","error_description":"The client secret is incorrect."})),
            "invalid_client: The client secret is incorrect."
        );
        assert_eq!(error_text(&json!({"ClassName":"HaloException","Message":"Ticket not found"})), "Ticket not found");
        assert_eq!(error_text(&Value::Null), "(no details in the answer)");
        assert_eq!(error_text(&json!("Bad gateway")), "Bad gateway");
    }

    #[tokio::test]
    async fn plan_mode_refuses_writes_before_sending() {
        let http = PsaHttp::new("Test PSA", HttpSettings { read_only: true, ..HttpSettings::default() }).unwrap();
        let e = http.send(Req::new(Method::POST, "http://127.0.0.1:1", "/tickets", true)).await.unwrap_err();
        assert!(matches!(e, PsaError::WriteRefused { .. }), "{e}");
        assert_eq!(http.stats().requests, 0);
    }

    #[tokio::test]
    async fn refused_connections_are_retried_a_bounded_number_of_times() {
        let settings = HttpSettings { max_retries: 2, retry_base: Duration::from_millis(1), ..HttpSettings::default() };
        let http = PsaHttp::new("Test PSA", settings).unwrap();
        // Port 1 on loopback: nothing listens, the connection is refused (never sent).
        let e = http.send(Req::new(Method::POST, "http://127.0.0.1:1", "/notes", true)).await.unwrap_err();
        assert!(e.is_unavailable() && !e.maybe_applied(), "{e}");
        assert!(e.to_string().contains("gave up after 3 attempt(s)"), "{e}");
        assert_eq!(http.stats().requests, 3);
    }
}
