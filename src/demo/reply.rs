//! What the dispatcher answers, and Graph's error body shape.
//!
//! Every Graph error carries the same envelope (`error.code`, `error.message`, `error.innerError`
//! with date and request ids); clients key on `code`, so the codes here copy the real service's.

use serde_json::{json, Value};

/// One Graph operation's answer, before it is turned into an HTTP response or a `$batch` entry.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Hold the answer back this long (the hang knob), after the state change is persisted.
    pub delay_ms: u64,
    /// The operation changed the tenant, so the state file must be rewritten.
    pub changed: bool,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply { status, headers: vec![], body: Some(body), delay_ms: 0, changed: false }
    }
    pub fn no_content() -> Reply {
        Reply { status: 204, headers: vec![], body: None, delay_ms: 0, changed: true }
    }
    pub fn changed(mut self) -> Reply {
        self.changed = true;
        self
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Request-scoped values every reply needs: ids for `innerError` and the Host for nextLinks.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub client_request_id: String,
    /// `http://host:port` as the client addressed us.
    pub origin: String,
}

impl Ctx {
    pub fn new(client_request_id: Option<&str>, host: Option<&str>) -> Ctx {
        let request_id = uuid::Uuid::new_v4().to_string();
        Ctx {
            client_request_id: client_request_id.filter(|s| !s.is_empty()).map(String::from).unwrap_or_else(|| request_id.clone()),
            request_id,
            origin: format!("http://{}", host.filter(|h| !h.is_empty()).unwrap_or("127.0.0.1")),
        }
    }

    pub fn error(&self, status: u16, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            json!({"error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": now(),
                    "request-id": self.request_id,
                    "client-request-id": self.client_request_id,
                }
            }}),
        )
    }

    pub fn not_found(&self, id: &str) -> Reply {
        self.error(
            404,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub fn bad_request(&self, message: &str) -> Reply {
        self.error(400, "Request_BadRequest", message)
    }

    pub fn on_prem_mastered(&self) -> Reply {
        self.bad_request(
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
        )
    }
}

/// Now as Graph writes timestamps: UTC, whole seconds, `Z`.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
