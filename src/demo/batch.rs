//! The JSON batching envelope of Graph's `POST /$batch` (up to 20 sub-requests) and the Exchange
//! admin API's `$batch` (up to 10, each a POST to the tenant's InvokeCommand), each sub-request run
//! through the handler a direct request goes through (so each can be throttled on its own and come
//! back 429 inside a 200 envelope, as on Graph).
//!
//! Sub-requests run in request order, which also satisfies any `dependsOn` chain; a dependent of a
//! failed request gets 424 without running.

use serde_json::{json, Map, Value};

use super::reply::{Ctx, Reply};
use super::shared::Shared;
use super::shared::{count_refused, Headers};

pub const MAX_REQUESTS: usize = 20;

/// A sub-request's handler: `(shared, method, url as given in the batch, headers, body)`.
pub type SubHandler<'a> = &'a dyn Fn(&Shared, &str, &str, &Headers, &[u8]) -> Reply;

/// What one service's `$batch` accepts: how many sub-requests, and which `(method, url)` (the
/// reason for refusing the whole batch otherwise).
pub struct Rules<'a> {
    pub max: usize,
    pub check: &'a dyn Fn(&str, &str) -> Result<(), String>,
}

/// Graph's: 20 sub-requests, any method and relative url (the dispatcher judges each).
pub const GRAPH: Rules<'static> = Rules { max: MAX_REQUESTS, check: &|_, _| Ok(()) };

/// The JSON batching envelope around any handler: Graph's `/$batch` and the Exchange admin
/// API's `$batch` (which Microsoft modelled on Graph's) share it.
pub fn run_with(shared: &Shared, headers: &Headers, body: &[u8], rules: &Rules, sub: SubHandler) -> Reply {
    let ctx = Ctx::new(headers.get("client-request-id"), headers.get("host"));
    let bad = |msg: &str| ctx.error(400, "BadRequest", msg);
    let Ok(envelope) = serde_json::from_slice::<Value>(body) else {
        return bad("Invalid batch payload format.");
    };
    let Some(requests) = envelope.get("requests").and_then(Value::as_array) else {
        return bad("Invalid batch payload format: the 'requests' property is missing or not an array.");
    };
    if requests.len() > rules.max {
        return bad(&format!("Too many requests in the batch. The limit is {}.", rules.max));
    }

    // Validate the envelope before running anything: a malformed batch runs nothing.
    struct Sub<'a> {
        id: String,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<&'a Value>,
        depends_on: Vec<String>,
    }
    let mut subs: Vec<Sub> = Vec::new();
    for r in requests {
        let id = match r.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return bad("Invalid batch payload format: every request needs an 'id'."),
        };
        let (Some(method), Some(url)) = (r.get("method").and_then(Value::as_str), r.get("url").and_then(Value::as_str)) else {
            return bad(&format!("Invalid batch payload format: request '{id}' needs 'method' and 'url'."));
        };
        if let Err(why) = (rules.check)(method, url) {
            return bad(&format!("Invalid batch payload format: request '{id}': {why}"));
        }
        if subs.iter().any(|s| s.id == id) {
            return bad(&format!("Batch request ids must be unique. Request id '{id}' is duplicated."));
        }
        let depends_on: Vec<String> = match r.get("dependsOn") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
            Some(_) => return bad(&format!("Invalid dependsOn for request '{id}'.")),
        };
        if let Some(missing) = depends_on.iter().find(|d| !subs.iter().any(|s| &s.id == *d)) {
            return bad(&format!("Request '{id}' depends on '{missing}', which is not an earlier request in this batch."));
        }
        let sub_headers = match r.get("headers") {
            Some(Value::Object(h)) => {
                h.iter().map(|(k, v)| (k.clone(), v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))).collect()
            }
            _ => vec![],
        };
        subs.push(Sub {
            id,
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            headers: sub_headers,
            body: r.get("body").filter(|b| !b.is_null()),
            depends_on,
        });
    }

    let mut responses: Vec<Value> = Vec::new();
    let mut statuses: Vec<(String, u16)> = Vec::new();
    let mut delay_ms = 0;
    let mut changed = false;
    for s in &subs {
        let failed_dep = s.depends_on.iter().any(|d| statuses.iter().any(|(id, st)| id == d && !(200..300).contains(st)));
        let reply = if failed_dep {
            count_refused(shared, &s.method);
            ctx.error(424, "FailedDependency", "The request could not be processed because a request it depends on failed.")
        } else if s.body.is_some() && !s.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            count_refused(shared, &s.method);
            ctx.error(400, "BadRequest", &format!("Write request id : {} does not contain Content-Type header or body.", s.id))
        } else {
            let mut h = Headers(s.headers.clone());
            // nextLinks inside the batch must point at the host the batch was sent to.
            h.0.retain(|(k, _)| !k.eq_ignore_ascii_case("host"));
            if let Some(host) = headers.get("host") {
                h.0.push(("host".into(), host.to_string()));
            }
            // The envelope's token is each sub-request's: who sent a write (`write_log.rs`).
            if let Some(auth) = headers.get("authorization") {
                h.0.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
                h.0.push(("authorization".into(), auth.to_string()));
            }
            let body = s.body.map(|b| serde_json::to_vec(b).unwrap_or_default()).unwrap_or_default();
            sub(shared, &s.method, &s.url, &h, &body)
        };
        delay_ms = delay_ms.max(reply.delay_ms);
        changed |= reply.changed;
        statuses.push((s.id.clone(), reply.status));
        let mut rh = Map::new();
        for (k, v) in &reply.headers {
            rh.insert(k.clone(), json!(v));
        }
        let mut entry = Map::new();
        entry.insert("id".into(), json!(s.id));
        entry.insert("status".into(), json!(reply.status));
        if let Some(b) = reply.body {
            rh.insert("Content-Type".into(), json!("application/json"));
            entry.insert("body".into(), b);
        }
        entry.insert("headers".into(), Value::Object(rh));
        responses.push(Value::Object(entry));
    }
    let mut r = Reply::json(200, json!({"responses": responses}));
    r.delay_ms = delay_ms;
    r.changed = changed;
    r
}
