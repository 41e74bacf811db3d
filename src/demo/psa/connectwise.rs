//! Simulated ConnectWise Manage REST 3.0 under `/cw/v4_6_release/apis/3.0`.

use base64::Engine as _;
use serde_json::{json, Value};

use super::{param, reply, PsaState, SimContact, SimPsa, SimTicket, CW_CLIENT_ID, CW_LOGIN_COMPANY, CW_PRIVATE_KEY, CW_PUBLIC_KEY};
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

/// `company/id=250` → 250; `communicationItems/value="a@b"` → a@b (the forms the client sends).
fn condition_value<'a>(cond: &'a str, field: &str) -> Option<&'a str> {
    let start = cond.find(field)? + field.len();
    let rest = cond[start..].trim_start().strip_prefix('=')?.trim_start();
    match rest.strip_prefix('"') {
        Some(q) => q.split('"').next(),
        None => rest.split_whitespace().next(),
    }
}

pub(super) fn handle(st: &mut PsaState, method: &str, path: &str, q: &[(String, String)], headers: &Headers, body: &[u8]) -> Reply {
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
            let size = param(q, "pageSize").and_then(|s| s.parse::<usize>().ok()).unwrap_or(25).clamp(1, 1000);
            let mut found: Vec<&SimTicket> = cw
                .tickets
                .iter()
                .filter(|t| company.is_none_or(|c| t.company_id == c) && summary.is_none_or(|s| t.summary.eq_ignore_ascii_case(s)))
                .collect();
            if param(q, "orderBy").is_some_and(|o| o.eq_ignore_ascii_case("id desc")) {
                found.reverse();
            }
            reply(200, Some(Value::Array(found.into_iter().take(size).map(ticket_json).collect())))
        }
        ("GET", ["service", "tickets", _]) => match id(2).and_then(|i| cw.ticket_mut(i)) {
            Some(t) => reply(200, Some(ticket_json(t))),
            None => err(404, "NotFound", "Ticket not found"),
        },
        ("PATCH", ["service", "tickets", _]) => {
            let Some(t) = id(2).and_then(|i| cw.ticket_mut(i)) else { return err(404, "NotFound", "Ticket not found") };
            for op in body.as_array().into_iter().flatten() {
                let p = op.get("path").and_then(Value::as_str).unwrap_or_default().trim_start_matches('/');
                if op.get("op").and_then(Value::as_str) != Some("replace") || p != "status" {
                    return invalid(p, "Only 'replace' of 'status' is supported by the simulator.");
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
            let size = param(q, "pageSize").and_then(|s| s.parse::<usize>().ok()).unwrap_or(25).clamp(1, 1000);
            let page = param(q, "page").and_then(|s| s.parse::<usize>().ok()).unwrap_or(1).max(1);
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
                .skip((page - 1) * size)
                .take(size)
                .collect();
            reply(200, Some(Value::Array(notes)))
        }
        ("GET", ["company", "contacts"]) => {
            let conditions = param(q, "conditions").unwrap_or_default();
            let child = param(q, "childConditions").unwrap_or_default();
            let company = condition_value(conditions, "company/id").and_then(|c| c.parse::<i64>().ok());
            let email = condition_value(child, "communicationItems/value");
            let found: Vec<Value> = cw
                .contacts
                .iter()
                .filter(|c| company.is_none_or(|id| c.company_id == id))
                .filter(|c| email.is_none_or(|e| c.email.eq_ignore_ascii_case(e)))
                .map(|c| contact_json(c, cw))
                .collect();
            reply(200, Some(Value::Array(found)))
        }
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
