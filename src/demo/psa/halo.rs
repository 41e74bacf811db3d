//! Simulated HaloPSA under `/halo`: `/halo/api/authinfo`, the token endpoint `/halo/auth/token`,
//! and the API under `/halo/api` (JSON-array writes; an item with `id` is an update).

use serde_json::{json, Value};

use super::{param, reply, Call, PsaState, SimContact, SimPsa, SimTicket, HALO_CLIENT_ID, HALO_SECRET};
use crate::demo::reply::Reply;

const STATUSES: &[(i64, &str)] = &[(1, "New"), (2, "In Progress"), (3, "Action Required"), (9, "Closed"), (21, "Needs Review")];

/// Halo's API answers validation errors with a short exception object.
fn halo_err(status: u16, message: &str) -> Reply {
    reply(status, Some(json!({"ClassName": "HaloException", "Message": message})))
}

fn user_json(c: &SimContact, client: i64) -> Value {
    json!({"id": c.id, "name": format!("{} {}", c.first_name, c.last_name), "emailaddress": c.email,
        "client_id": c.company_id, "client_name": if c.company_id == client { "Contoso Ltd" } else { "Fabrikam Inc" },
        "site_id": c.company_id * 10, "inactive": !c.active})
}

fn ticket_json(t: &SimTicket) -> Value {
    json!({"id": t.id, "summary": t.summary, "details": t.details, "client_id": t.company_id, "user_id": t.contact_id,
        "status_id": STATUSES.iter().find(|(_, n)| *n == t.status).map(|(i, _)| *i)})
}

fn client_json(id: i64, halo: &SimPsa) -> Value {
    let name = if id == halo.company_id { "Contoso Ltd" } else { "Fabrikam Inc" };
    json!({"id": id, "name": name, "inactive": false, "toplevel_id": 1, "toplevel_name": "Clients"})
}

/// Halo's booleans in a query string: `true`, `True`, `TRUE` (it parses them as .NET does).
fn flag(q: &[(String, String)], name: &str) -> bool {
    param(q, name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// A list answer: `{"record_count": total, "<key>": [...]}`. With `pageinate=true`, one page of
/// `page_size` (default 50) at `page_no` (from 1), echoed back; without it everything, or the
/// first `count` records. `page_max` caps `page_size` (the echoed size is the one used).
/// `record_count` is always the total, so a client can tell when to stop.
fn list(items: Vec<Value>, q: &[(String, String)], key: &str, page_max: usize) -> Reply {
    let total = items.len();
    let num = |k: &str| param(q, k).and_then(|s| s.trim().parse::<usize>().ok());
    let mut out = json!({"record_count": total});
    let page: Vec<Value> = if flag(q, "pageinate") {
        let size = num("page_size").unwrap_or(50).clamp(1, page_max);
        let no = num("page_no").unwrap_or(1).max(1);
        out["page_no"] = json!(no);
        out["page_size"] = json!(size);
        items.into_iter().skip((no - 1) * size).take(size).collect()
    } else {
        items.into_iter().take(num("count").unwrap_or(usize::MAX)).collect()
    };
    out[key] = Value::Array(page);
    reply(200, Some(out))
}

fn token(st: &mut PsaState, body: &[u8]) -> Reply {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some("client_credentials") {
        return reply(400, Some(json!({"error": "unsupported_grant_type", "error_description": "Only client_credentials is supported."})));
    }
    if get("client_id") != Some(HALO_CLIENT_ID) || get("client_secret") != Some(HALO_SECRET) {
        return reply(401, Some(json!({"error": "invalid_client", "error_description": "The client_id or client_secret is incorrect."})));
    }
    let t = uuid::Uuid::new_v4().simple().to_string();
    st.halo_tokens.push(t.clone());
    reply(200, Some(json!({"access_token": t, "token_type": "Bearer", "expires_in": 3600, "scope": get("scope").unwrap_or("all")})))
}

pub(super) fn handle(st: &mut PsaState, call: Call) -> Reply {
    let Call { origin, page_max, method, path, q, headers, body } = call;
    match (method, path.trim_end_matches('/')) {
        ("GET", "api/authinfo") => return reply(200, Some(json!({"auth_url": format!("{origin}/halo/auth"), "tenant_id": "demo"}))),
        ("POST", "auth/token") => return token(st, body),
        _ => {}
    }
    let Some(api) = path.strip_prefix("api/") else { return halo_err(404, "Not found") };
    let bearer = headers.get("authorization").and_then(|h| h.strip_prefix("Bearer "));
    if !bearer.is_some_and(|b| st.halo_tokens.iter().any(|t| t == b)) {
        return reply(
            401,
            Some(json!({"error": "invalid_token", "error_description": "The access token is missing, invalid or expired."})),
        );
    }
    let halo = &mut st.halo;
    let items: Vec<Value> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(a)) => a,
        Ok(_) if method == "POST" => return halo_err(400, "The request body must be a JSON array."),
        _ => vec![],
    };
    let segs: Vec<&str> = api.trim_matches('/').split('/').collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    match (method, lower.as_slice()) {
        ("GET", ["status"]) => reply(200, Some(Value::Array(STATUSES.iter().map(|(i, n)| json!({"id": i, "name": n})).collect()))),
        ("POST", ["tickets"]) => {
            let mut out = Vec::new();
            for it in &items {
                match it.get("id").and_then(Value::as_i64) {
                    Some(id) => {
                        let Some(t) = halo.ticket_mut(id) else { return halo_err(404, &format!("Ticket {id} not found")) };
                        if let Some(s) = it.get("status_id") {
                            let Some((_, name)) = STATUSES.iter().find(|(i, _)| Some(*i) == s.as_i64()) else {
                                return halo_err(400, &format!("Invalid status_id {s}"));
                            };
                            t.status = (*name).into();
                        }
                        out.push(ticket_json(t));
                    }
                    None => {
                        let summary = it.get("summary").and_then(Value::as_str).unwrap_or_default();
                        if summary.is_empty() {
                            return halo_err(400, "Please enter a Summary.");
                        }
                        let Some(client) = it.get("client_id").and_then(Value::as_i64).filter(|c| halo.has_company(*c)) else {
                            return halo_err(400, "Please select a valid Client.");
                        };
                        let t = SimTicket {
                            id: halo.next(),
                            company_id: client,
                            summary: summary.into(),
                            details: it.get("details").and_then(Value::as_str).unwrap_or_default().into(),
                            contact_id: it.get("user_id").and_then(Value::as_i64),
                            status: "New".into(),
                            notes: vec![],
                        };
                        out.push(ticket_json(&t));
                        halo.tickets.push(t);
                    }
                }
            }
            // One item posted: Halo answers with the object itself.
            reply(201, Some(if out.len() == 1 { out.remove(0) } else { Value::Array(out) }))
        }
        ("GET", ["tickets"]) => {
            let client = param(q, "client_id").and_then(|s| s.parse::<i64>().ok());
            // Halo searches with SQL Server's LIKE, where `[…]` is a character class: a
            // bracketed term never matches itself.
            let like =
                |have: &str, term: Option<&str>| term.is_none_or(|t| !t.contains('[') && have.to_lowercase().contains(&t.to_lowercase()));
            let tickets: Vec<Value> = halo
                .tickets
                .iter()
                .filter(|t| client.is_none_or(|c| t.company_id == c))
                .filter(|t| like(&t.details, param(q, "search_details")) && like(&t.summary, param(q, "search_summary")))
                // A list leaves `details` out unless a columns profile asks for it.
                .map(|t| json!({"id": t.id, "summary": t.summary, "client_id": t.company_id, "status_id": ticket_json(t)["status_id"]}))
                .collect();
            reply(200, Some(json!({"page_no": 1, "page_size": tickets.len(), "record_count": tickets.len(), "tickets": tickets})))
        }
        ("GET", ["tickets", _]) => match segs[1].parse().ok().and_then(|i| halo.ticket_mut(i)) {
            Some(t) => reply(200, Some(ticket_json(t))),
            None => halo_err(404, "Ticket not found"),
        },
        ("POST", ["actions"]) => {
            let mut out = Vec::new();
            for it in &items {
                let tid = it.get("ticket_id").and_then(Value::as_i64).unwrap_or_default();
                let note = it.get("note").and_then(Value::as_str).unwrap_or_default();
                let internal = it.get("hiddenfromuser").and_then(Value::as_bool).unwrap_or(false);
                match halo.add_note(tid, note, internal) {
                    Some(n) => out.push(
                        json!({"id": n.id, "ticket_id": tid, "note": n.text, "outcome": it.get("outcome"), "hiddenfromuser": internal}),
                    ),
                    None => return halo_err(404, &format!("Ticket {tid} not found")),
                }
            }
            reply(201, Some(if out.len() == 1 { out.remove(0) } else { Value::Array(out) }))
        }
        ("GET", ["actions"]) => {
            let tid = param(q, "ticket_id").and_then(|s| s.parse::<i64>().ok());
            let actions = halo
                .tickets
                .iter()
                .filter(|t| tid.is_none_or(|i| i == t.id))
                .flat_map(|t| {
                    t.notes.iter().map(move |n| json!({"id": n.id, "ticket_id": t.id, "note": n.text, "hiddenfromuser": n.internal}))
                })
                .collect();
            list(actions, q, "actions", page_max)
        }
        ("GET", ["users"]) => {
            let search = param(q, "search").unwrap_or_default().to_lowercase();
            let client = param(q, "client_id").and_then(|s| s.parse::<i64>().ok());
            let inactive = flag(q, "includeinactive");
            let users = halo
                .contacts
                .iter()
                .filter(|c| client.is_none_or(|id| c.company_id == id))
                .filter(|c| inactive || c.active)
                // Halo's search matches substrings of the name and e-mail address.
                .filter(|c| {
                    c.email.to_lowercase().contains(&search) || format!("{} {}", c.first_name, c.last_name).to_lowercase().contains(&search)
                })
                .map(|c| user_json(c, halo.company_id))
                .collect();
            list(users, q, "users", page_max)
        }
        ("GET", ["client"]) => {
            let search = param(q, "search").unwrap_or_default().to_lowercase();
            let clients = [halo.company_id, halo.other_company_id]
                .iter()
                .map(|c| client_json(*c, halo))
                .filter(|c| c["name"].as_str().is_some_and(|n| n.to_lowercase().contains(&search)))
                .collect();
            list(clients, q, "clients", page_max)
        }
        ("GET", ["client", _]) => match segs[1].parse().ok().filter(|c| halo.has_company(*c)) {
            Some(c) => reply(200, Some(client_json(c, halo))),
            None => halo_err(404, "Client not found"),
        },
        ("POST", ["users"]) => {
            let mut out = Vec::new();
            for it in &items {
                let id = it.get("id").and_then(Value::as_i64);
                let Some(c) = halo.contacts.iter_mut().find(|c| Some(c.id) == id) else {
                    return halo_err(404, "User not found (creating users is not simulated)");
                };
                if let Some(v) = it.get("inactive").and_then(Value::as_bool) {
                    c.active = !v;
                }
                let c = c.clone();
                out.push(user_json(&c, halo.company_id));
            }
            reply(201, Some(if out.len() == 1 { out.remove(0) } else { Value::Array(out) }))
        }
        _ => halo_err(404, &format!("No route for {method} /api/{api}")),
    }
}
