//! Simulated PSAs, served by the demo server under their own path prefixes:
//!
//! | prefix | PSA | shape |
//! |---|---|---|
//! | `/cw/v4_6_release/apis/3.0` | ConnectWise Manage | Basic `company+public:private` + `clientId`; JSON-Patch; `{code,message,errors}` errors |
//! | `/autotask/atservicesrest` (discovery) and `/autotask/ws5/atservicesrest` (the zone) | Autotask | three auth headers; `{itemId}`, `{item}`, `{items,pageDetails}`; `{errors:[…]}` errors; picklists |
//! | `/halo/api`, `/halo/auth/token` | HaloPSA | `authinfo`, client-credentials token; JSON-array writes |
//!
//! Each holds the client company "Contoso" with a contact for each named demo user, plus one
//! contact in another company ("Fabrikam") with the same e-mail as the cloud leaver, so a client
//! that forgets to filter by company is caught. Tickets and notes live in the demo state file.
//!
//! Knobs (`OFFBOARD_DEMO_PSA_*`): an outage after N writes (every later PSA request answers 503
//! until the server restarts), throttling (every Nth PSA request answers 429 with
//! `Retry-After`), lost answers (the first N ticket creations are applied, then answered 503), and
//! a page cap (`PAGE_MAX`: no list page holds more, whatever the client asks for).
//! What happened is counted in [`PsaSimStats`].

mod autotask;
mod autotask_query;
mod connectwise;
mod halo;
pub(crate) mod model;

use std::path::Path;

use serde_json::{json, Value};

use super::reply::Reply;
use super::shared::Headers;
use super::shared::Shared;
pub use model::{PsaSimStats, PsaState, SimContact, SimNote, SimPsa, SimTicket};

/// When set, this variable's value replaces the demo PSA secret (to try bad credentials).
pub const SECRET_ENV: &str = "OFFBOARD_DEMO_PSA_SECRET";

pub const CW_LOGIN_COMPANY: &str = "offboardmsp";
pub const CW_PUBLIC_KEY: &str = "demo-public-key";
pub const CW_PRIVATE_KEY: &str = "demo-private-key";
pub const CW_CLIENT_ID: &str = "5c1b3ad4-0000-4e0f-9b2a-0ff0a4d0b057";
/// The client's company (Contoso) and another one.
pub const CW_COMPANY: i64 = 250;
pub const AT_API_USER: &str = "offboard-api@msp.test";
pub const AT_INTEGRATION_CODE: &str = "DEMO7INTEGRATION7CODE";
pub const AT_SECRET: &str = "demo-autotask-secret";
pub const AT_COMPANY: i64 = 29683501;
pub const HALO_CLIENT_ID: &str = "offboard-host-demo";
pub const HALO_SECRET: &str = "demo-halo-secret";
pub const HALO_CLIENT: i64 = 12;

/// The base URL a client is configured with for each simulated PSA (`kind` as in the config).
pub fn base_url(kind: &str, addr: std::net::SocketAddr) -> String {
    match kind {
        "connectwise" => format!("http://{addr}/cw/v4_6_release/apis/3.0"),
        "autotask" => format!("http://{addr}/autotask/atservicesrest"),
        _ => format!("http://{addr}/halo"),
    }
}

/// The secret each simulator accepts.
pub fn secret(kind: &str) -> &'static str {
    match kind {
        "connectwise" => CW_PRIVATE_KEY,
        "autotask" => AT_SECRET,
        _ => HALO_SECRET,
    }
}

/// Read the PSA part of a demo state file (for tests).
pub fn read_state(state_path: &Path) -> std::io::Result<PsaState> {
    Ok(super::store::load(state_path)?.psa)
}

#[derive(Clone, Copy)]
enum Which {
    Cw,
    Autotask,
    Halo,
}

/// `(status, body)` as a Reply; `changed` for successful writes.
fn reply(status: u16, body: Option<Value>) -> Reply {
    let mut r = Reply::json(status, Value::Null);
    r.body = body;
    r
}

/// Query parameters, decoded.
fn query(pq: &str) -> Vec<(String, String)> {
    pq.split_once('?').map(|(_, q)| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// One PSA request, as each simulator reads it.
#[derive(Clone, Copy)]
struct Call<'a> {
    /// `http://host:port` as the client addressed us (for absolute next-page links).
    origin: &'a str,
    /// The most records a list page holds (the `psa_page_max` knob; `usize::MAX` when unset).
    page_max: usize,
    method: &'a str,
    /// Below the PSA's prefix, without the query.
    path: &'a str,
    q: &'a [(String, String)],
    headers: &'a Headers,
    body: &'a [u8],
}

/// Serve a PSA request, or `None` when the path belongs to no simulated PSA.
pub(super) fn handle(shared: &Shared, method: &str, path_and_query: &str, headers: &Headers, body: &[u8]) -> Option<Reply> {
    let (which, rest) = [("/cw/", Which::Cw), ("/autotask/", Which::Autotask), ("/halo/", Which::Halo)]
        .iter()
        .find_map(|(p, w)| path_and_query.strip_prefix(p).map(|r| (*w, r)))?;
    let origin = format!("http://{}", headers.get("host").unwrap_or("127.0.0.1"));
    let knobs = shared.knobs();
    let (path, _) = rest.split_once('?').unwrap_or((rest, ""));
    let write = match which {
        Which::Cw => super::shared::is_write(method),
        Which::Autotask => super::shared::is_write(method) && !path.to_ascii_lowercase().ends_with("/query"),
        Which::Halo => method == "POST" && path.starts_with("api/"),
    };
    let mut reply = {
        let mut st = shared.lock_state();
        let psa = &mut st.psa;
        psa.stats.requests += 1;
        psa.requests_since_start += 1;
        if write {
            psa.stats.writes += 1;
        }
        if knobs.psa_down_after_writes.is_some_and(|n| psa.writes_since_start >= n) {
            psa.stats.outages += 1;
            Some(unavailable(which))
        } else if knobs.psa_throttle_every > 0 && psa.requests_since_start.is_multiple_of(knobs.psa_throttle_every) {
            psa.stats.throttled += 1;
            let mut r = match which {
                Which::Cw => reply(429, Some(json!({"code": "TooManyRequests", "message": "Rate limit exceeded. Try again later."}))),
                Which::Autotask => {
                    reply(429, Some(json!({"errors": ["Thread threshold exceeded for this integration. Try again later."]})))
                }
                Which::Halo => reply(429, Some(json!("Too Many Requests"))),
            };
            r.headers.push(("Retry-After".into(), knobs.retry_after_secs.to_string()));
            Some(r)
        } else {
            if write {
                psa.writes_since_start += 1;
            }
            None
        }
    }
    .unwrap_or_else(|| {
        let q = query(path_and_query);
        let mut st = shared.lock_state();
        let call = Call { origin: &origin, page_max: knobs.psa_page_max.unwrap_or(usize::MAX), method, path, q: &q, headers, body };
        let r = match which {
            Which::Cw => connectwise::handle(&mut st.psa, call),
            Which::Autotask => autotask::handle(&mut st.psa, call),
            Which::Halo => halo::handle(&mut st.psa, call),
        };
        if r.status == 401 {
            st.psa.stats.auth_failures += 1;
        }
        r
    });
    if write && reply.is_success() {
        let mut st = shared.lock_state();
        st.psa.stats.writes_applied += 1;
        reply.changed = true;
        if creates_ticket(which, method, path, body) && st.psa.creates_lost_since_start < knobs.psa_create_lost {
            st.psa.creates_lost_since_start += 1;
            st.psa.stats.lost_answers += 1;
            reply = Reply { changed: true, ..unavailable(which) };
        }
    }
    shared.mark_dirty();
    Some(reply)
}

/// A request that opens a ticket (Halo: an item without `id`; with one it is an update).
fn creates_ticket(which: Which, method: &str, path: &str, body: &[u8]) -> bool {
    let path = path.trim_end_matches('/').to_ascii_lowercase();
    method == "POST"
        && match which {
            Which::Cw => path.ends_with("/service/tickets"),
            Which::Autotask => path.ends_with("/v1.0/tickets"),
            Which::Halo => {
                path == "api/tickets"
                    && serde_json::from_slice::<Value>(body)
                        .ok()
                        .and_then(|v| v.as_array().cloned())
                        .is_some_and(|items| items.iter().any(|i| i.get("id").is_none()))
            }
        }
}

fn unavailable(which: Which) -> Reply {
    match which {
        Which::Cw => reply(503, Some(json!({"code": "ServiceUnavailable", "message": "The service is temporarily unavailable."}))),
        Which::Autotask => reply(503, Some(json!({"errors": ["Service Unavailable"]}))),
        Which::Halo => reply(503, Some(json!("Service Unavailable"))),
    }
}

#[cfg(test)]
mod tests;
