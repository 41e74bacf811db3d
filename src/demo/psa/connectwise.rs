//! Simulated ConnectWise Manage REST 3.0 under `/cw/v4_6_release/apis/3.0`.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{param, reply, Call, PsaState, SimContact, SimPsa, SimTicket, CW_CLIENT_ID, CW_LOGIN_COMPANY, CW_PRIVATE_KEY, CW_PUBLIC_KEY};
use crate::demo::reply::Reply;
use crate::demo::shared::Headers;

const PREFIX: &str = "v4_6_release/apis/3.0";
/// The statuses of the "Service Desk" board.
const STATUSES: &[&str] = &["New", "In Progress", "Waiting Customer", "Needs Review", "Completed", "Closed"];

fn err(status: u16, code: &str, message: &str) -> Reply {
    reply(status, Some(json!({"code": code, "message": message})))
}

fn invalid(field: &str, message: &str) -> Reply {
    reply(
        400,
        Some(json!({"code": "InvalidObject", "message": "ticket object is invalid",
            "errors": [{"code": "InvalidField", "message": message, "resource": "ticket", "field": field}]})),
    )
}

fn authorized(headers: &Headers) -> bool {
    let expected = format!("{CW_LOGIN_COMPANY}+{CW_PUBLIC_KEY}:{CW_PRIVATE_KEY}");
    let basic = headers
        .get("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    basic.as_deref() == Some(expected.as_str()) && headers.get("clientid") == Some(CW_CLIENT_ID)
}

fn contact_json(c: &SimContact, cw: &SimPsa) -> Value {
    let (identifier, name) = if c.company_id == cw.company_id { ("CONTOSO", "Contoso Ltd") } else { ("FABRIKAM", "Fabrikam Inc") };
    json!({
        "id": c.id, "firstName": c.first_name, "lastName": c.last_name, "inactiveFlag": !c.active,
        "company": {"id": c.company_id, "identifier": identifier, "name": name},
        "communicationItems": [
            {"id": c.id * 10, "type": {"id": 1, "name": "Email"}, "value": c.email, "defaultFlag": true, "communicationType": "Email"}
        ]
    })
}

fn ticket_json(t: &SimTicket) -> Value {
    json!({
        "id": t.id, "summary": t.summary, "board": {"id": 1, "name": "Service Desk"},
        "status": {"id": STATUSES.iter().position(|s| *s == t.status).unwrap_or(0) + 1, "name": t.status},
        "company": {"id": t.company_id}, "contact": t.contact_id.map(|c| json!({"id": c})),
    })
}

fn company_json(id: i64, cw: &SimPsa) -> Value {
    let (identifier, name) = if id == cw.company_id { ("CONTOSO", "Contoso Ltd") } else { ("FABRIKAM", "Fabrikam Inc") };
    json!({"id": id, "identifier": identifier, "name": name, "status": {"id": 1, "name": "Active"},
        "types": [{"id": 1, "name": "Client"}], "deletedFlag": false})
}

/// One page of a list: `page` / `pageSize` (default 25, at most 1000, as ConnectWise caps it),
/// with the `Link` header ConnectWise sends for navigable paging (`next` and `last` while more
/// pages remain, `first` and `prev` after the first page). `url` is the request URL without
/// the two paging parameters; `page_max` caps the page size below 1000.
fn list_page(items: Vec<Value>, q: &[(String, String)], url: &str, page_max: usize) -> Reply {
    let size = param(q, "pageSize").and_then(|s| s.parse::<usize>().ok()).unwrap_or(25).clamp(1, 1000.min(page_max));
    let page = param(q, "page").and_then(|s| s.parse::<usize>().ok()).unwrap_or(1).max(1);
    let pages = items.len().div_ceil(size).max(1);
    let rest: String = q
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("page") && !k.eq_ignore_ascii_case("pageSize"))
        .map(|(k, v)| format!("&{}={}", enc(k), enc(v)))
        .collect();
    let link = |n: usize, rel: &str| format!("<{url}?pageSize={size}&page={n}{rest}>; rel=\"{rel}\"");
    let mut links = Vec::new();
    if page > 1 {
        links.extend([link(page - 1, "prev"), link(1, "first")]);
    }
    if page < pages {
        links.extend([link(page + 1, "next"), link(pages, "last")]);
    }
    let out: Vec<Value> = items.into_iter().skip((page - 1) * size).take(size).collect();
    let mut r = reply(200, Some(Value::Array(out)));
    if !links.is_empty() {
        r.headers.push(("Link".into(), links.join(", ")));
    }
    r
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `/login/companyinfo/{company}`: what a client reads to find the codebase, without credentials.
fn company_info(company: &str, origin: &str) -> Reply {
    if !company.eq_ignore_ascii_case(CW_LOGIN_COMPANY) {
        // ConnectWise answers an unknown company with an empty 200 rather than a 404.
        return reply(200, None);
    }
    reply(
        200,
        Some(json!({"CompanyName": "Offboard MSP (simulated)", "Codebase": "v4_6_release/", "VersionCode": "v2025.1",
            "VersionNumber": "v4.6.10431", "CompanyID": CW_LOGIN_COMPANY, "IsCloud": true, "SiteUrl": format!("{origin}/cw")})),
    )
}

/// `company/id=250` → 250; `communicationItems/value="a@b"` → a@b (the forms the client sends).
fn condition_value<'a>(cond: &'a str, field: &str) -> Option<&'a str> {
    let start = cond.find(field)? + field.len();
    let rest = cond[start..].trim_start().strip_prefix('=')?.trim_start();
    match rest.strip_prefix('"') {
        Some(q) => q.split('"').next(),
        None => rest.split_whitespace().next(),
    }
}

pub(super) fn handle(st: &mut PsaState, call: Call) -> Reply {
    let Call { origin, page_max, method, path, q, headers, body } = call;
    if let (true, Some(company)) = (method == "GET", path.strip_prefix("login/companyinfo/")) {
        return company_info(company.trim_end_matches('/'), origin);
    }
    let url = format!("{origin}/cw/{}", path.trim_end_matches('/'));
    let Some(path) = path.strip_prefix(PREFIX) else {
        return err(404, "NotFound", "Unknown codebase: use /v4_6_release/apis/3.0");
    };
    if !authorized(headers) {
        return err(401, "Unauthorized", "The member credentials or the clientId are invalid.");
    }
    let cw = &mut st.connectwise;
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id = |i: usize| segs.get(i).and_then(|s| s.parse::<i64>().ok());
    match (method, segs.as_slice()) {
        ("GET", ["system", "info"]) => {
            reply(200, Some(json!({"version": "v2025.1.10431", "isCloud": true, "serverTimeZone": "UTC", "cloudRegion": "NA"})))
        }
        ("POST", ["service", "tickets"]) => {
            let summary = body.get("summary").and_then(Value::as_str).unwrap_or_default();
            if summary.is_empty() || summary.chars().count() > 100 {
                return invalid("summary", "The summary field is required and may not exceed 100 characters.");
            }
            let Some(company) = body.pointer("/company/id").and_then(Value::as_i64).filter(|c| cw.has_company(*c)) else {
                return invalid("company", "The company field is required and must be an existing company.");
            };
            let t = SimTicket {
                id: cw.next(),
                company_id: company,
                summary: summary.into(),
                details: body.get("initialDescription").and_then(Value::as_str).unwrap_or_default().into(),
                contact_id: body.pointer("/contact/id").and_then(Value::as_i64),
                status: "New".into(),
                notes: vec![],
            };
            let out = ticket_json(&t);
            cw.tickets.push(t);
            reply(201, Some(out))
        }
        ("GET", ["service", "tickets"]) => {
            // The conditions the client sends: `company/id=N AND summary="…"`; newest first with
            // `orderBy=id desc`, as ConnectWise sorts.
            let conditions = param(q, "conditions").unwrap_or_default();
            let company = condition_value(conditions, "company/id").and_then(|c| c.parse::<i64>().ok());
            let summary = condition_value(conditions, "summary");
            let mut found: Vec<&SimTicket> = cw
                .tickets
                .iter()
                .filter(|t| company.is_none_or(|c| t.company_id == c) && summary.is_none_or(|s| t.summary.eq_ignore_ascii_case(s)))
                .collect();
            if param(q, "orderBy").is_some_and(|o| o.eq_ignore_ascii_case("id desc")) {
                found.reverse();
            }
            list_page(found.into_iter().map(ticket_json).collect(), q, &url, page_max)
        }
        ("GET", ["service", "tickets", _]) => match id(2).and_then(|i| cw.ticket_mut(i)) {
            Some(t) => reply(200, Some(ticket_json(t))),
            None => err(404, "NotFound", "Ticket not found"),
        },
        ("PATCH", ["service", "tickets", _]) => {
            let Some(t) = id(2).and_then(|i| cw.ticket_mut(i)) else { return err(404, "NotFound", "Ticket not found") };
            for op in body.as_array().into_iter().flatten() {
                let p = op.get("path").and_then(Value::as_str).unwrap_or_default().trim_start_matches('/');
                // ConnectWise's JSON patch sets the value for `add` as for `replace`; `remove`
                // would clear a required field.
                if !matches!(op.get("op").and_then(Value::as_str), Some("replace" | "add")) || p != "status" {
                    return invalid(p, "Only 'replace' or 'add' of 'status' is supported by the simulator.");
                }
                let name = op.pointer("/value/name").and_then(Value::as_str).unwrap_or_default();
                if !STATUSES.contains(&name) {
                    return invalid("status", &format!("Status '{name}' was not found on board 'Service Desk'."));
                }
                t.status = name.into();
            }
            reply(200, Some(ticket_json(t)))
        }
        ("POST", ["service", "tickets", _, "notes"]) => {
            let text = body.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
            if text.is_empty() {
                return invalid("text", "The text field is required.");
            }
            let internal = body.get("internalAnalysisFlag").and_then(Value::as_bool).unwrap_or(false);
            let tid = id(2).unwrap_or_default();
            match cw.add_note(tid, &text, internal) {
                Some(n) => reply(
                    201,
                    Some(json!({"id": n.id, "ticketId": tid, "text": n.text, "detailDescriptionFlag": !internal,
                    "internalAnalysisFlag": internal, "resolutionFlag": false, "dateCreated": n.created})),
                ),
                None => err(404, "NotFound", "Ticket not found"),
            }
        }
        ("GET", ["service", "tickets", _, "notes"]) => {
            let Some(t) = id(2).and_then(|i| cw.ticket_mut(i)) else { return err(404, "NotFound", "Ticket not found") };
            // ConnectWise keeps a ticket's `initialDescription` as its first note (a discussion
            // note, not internal); the state keeps it as the ticket's details.
            let initial = (!t.details.is_empty()).then(|| {
                json!({"id": t.id * 1000, "ticketId": t.id, "text": t.details, "detailDescriptionFlag": true, "internalAnalysisFlag": false})
            });
            let notes: Vec<Value> = initial
                .into_iter()
                .chain(t.notes.iter().map(
                    |n| json!({"id": n.id, "ticketId": t.id, "text": n.text, "internalAnalysisFlag": n.internal, "dateCreated": n.created}),
                ))
                .collect();
            list_page(notes, q, &url, page_max)
        }
        ("GET", ["company", "contacts"]) => {
            let conditions = param(q, "conditions").unwrap_or_default();
            let child = param(q, "childConditions").unwrap_or_default();
            let company = condition_value(conditions, "company/id").and_then(|c| c.parse::<i64>().ok());
            let email = condition_value(child, "communicationItems/value");
            let found = cw
                .contacts
                .iter()
                .filter(|c| company.is_none_or(|id| c.company_id == id))
                .filter(|c| email.is_none_or(|e| c.email.eq_ignore_ascii_case(e)))
                .map(|c| contact_json(c, cw))
                .collect();
            list_page(found, q, &url, page_max)
        }
        ("GET", ["company", "contacts", _]) => match id(2).and_then(|i| cw.contacts.iter().find(|c| c.id == i)) {
            Some(c) => reply(200, Some(contact_json(c, cw))),
            None => err(404, "NotFound", "Contact not found"),
        },
        ("GET", ["company", "companies"]) => {
            let conditions = param(q, "conditions").unwrap_or_default();
            let want = condition_value(conditions, "id").and_then(|c| c.parse::<i64>().ok());
            let ident = condition_value(conditions, "identifier");
            let found = [cw.company_id, cw.other_company_id]
                .iter()
                .map(|c| company_json(*c, cw))
                .filter(|c| want.is_none_or(|w| c["id"] == w))
                .filter(|c| ident.is_none_or(|i| c["identifier"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(i))))
                .collect();
            list_page(found, q, &url, page_max)
        }
        ("GET", ["company", "companies", _]) => match id(2).filter(|c| cw.has_company(*c)) {
            Some(c) => reply(200, Some(company_json(c, cw))),
            None => err(404, "NotFound", "Company not found"),
        },
        ("PATCH", ["company", "contacts", _]) => {
            let Some(i) = id(2) else { return err(404, "NotFound", "Contact not found") };
            let Some(c) = cw.contacts.iter_mut().find(|c| c.id == i) else { return err(404, "NotFound", "Contact not found") };
            for op in body.as_array().into_iter().flatten() {
                let p = op.get("path").and_then(Value::as_str).unwrap_or_default().trim_start_matches('/');
                match (p, op.get("value").and_then(Value::as_bool)) {
                    ("inactiveFlag", Some(v)) => c.active = !v,
                    _ => return err(400, "InvalidObject", &format!("contact object is invalid: cannot patch '{p}'")),
                }
            }
            let c = c.clone();
            reply(200, Some(contact_json(&c, cw)))
        }
        _ => err(404, "NotFound", &format!("No route for {method} /{}", segs.join("/"))),
    }
}
