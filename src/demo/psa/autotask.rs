//! Simulated Autotask REST v1.0: zone discovery under `/autotask/atservicesrest`, the zone itself
//! under `/autotask/ws5/atservicesrest`. Paths are case-insensitive, as Autotask's are.
//!
//! Picklist values are deliberately not Autotask's usual ones ("In Progress" is 17 here), so a
//! client that hard-codes them fails.

use serde_json::{json, Value};

use super::{param, reply, PsaState, SimContact, SimTicket, AT_API_USER, AT_INTEGRATION_CODE, AT_SECRET};
use crate::demo::reply::Reply;
use crate::demo::shared::Headers;

const ZONE: &str = "ws5/atservicesrest/v1.0/";
const STATUSES: &[(i64, &str)] = &[(1, "New"), (5, "Complete"), (7, "Waiting Customer"), (17, "In Progress"), (23, "Needs Review")];
const PRIORITIES: &[(i64, &str)] = &[(1, "High"), (2, "Medium"), (3, "Low"), (4, "Critical")];
const NOTE_TYPES: &[(i64, &str)] = &[(1, "Task Summary"), (2, "Task Detail"), (3, "Task Notes")];
const PUBLISH: &[(i64, &str)] = &[(1, "All Autotask Users"), (2, "Internal Project Team"), (3, "Internal Only")];

fn errors(status: u16, message: &str) -> Reply {
    reply(status, Some(json!({"errors": [message]})))
}

fn picklist(name: &str, values: &[(i64, &str)], default: i64) -> Value {
    json!({"name": name, "dataType": "integer", "isRequired": true, "isReadOnly": false, "isQueryable": true,
        "isReference": false, "isPickList": true, "picklistValues": values.iter().enumerate().map(|(i, (v, l))| json!({
            "value": v.to_string(), "label": l, "isDefaultValue": *v == default, "sortOrder": i + 1,
            "parentValue": "", "isActive": true, "isSystem": false})).collect::<Vec<_>>()})
}

fn label(values: &'static [(i64, &'static str)], v: Option<i64>) -> Option<&'static str> {
    let v = v?;
    values.iter().find(|(x, _)| *x == v).map(|(_, l)| *l)
}

fn contact_json(c: &SimContact) -> Value {
    json!({"id": c.id, "companyID": c.company_id, "firstName": c.first_name, "lastName": c.last_name,
        "emailAddress": c.email, "isActive": i64::from(c.active)})
}

fn ticket_json(t: &SimTicket) -> Value {
    json!({"id": t.id, "ticketNumber": format!("T20261128.{:04}", t.id % 10000), "companyID": t.company_id, "title": t.summary,
        "description": t.details, "contactID": t.contact_id,
        "status": STATUSES.iter().find(|(_, l)| *l == t.status).map(|(v, _)| *v)})
}

fn query_result(items: Vec<Value>) -> Value {
    json!({"pageDetails": {"count": items.len(), "requestCount": 500, "prevPageUrl": null, "nextPageUrl": null}, "items": items})
}

/// Does `entity` (its JSON rendering) pass the query filter? Supports `eq`, `contains` and
/// nested `and` / `or`, with field names compared case-insensitively. A top-level array is AND.
fn matches(entity: &Value, filter: &Value) -> bool {
    let field = |name: &str| entity.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()));
    match filter {
        Value::Array(items) => items.iter().all(|f| matches(entity, f)),
        Value::Object(_) => {
            let op = filter.get("op").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            let items = filter.get("items").cloned().unwrap_or(Value::Array(vec![]));
            let name = filter.get("field").and_then(Value::as_str).unwrap_or_default();
            let want = filter.get("value").cloned().unwrap_or(Value::Null);
            let have = field(name).unwrap_or(Value::Null);
            let text = |v: &Value| match v {
                Value::String(s) => s.to_lowercase(),
                other => other.to_string(),
            };
            match op.as_str() {
                "and" => items.as_array().into_iter().flatten().all(|f| matches(entity, f)),
                "or" => items.as_array().into_iter().flatten().any(|f| matches(entity, f)),
                "eq" => text(&have) == text(&want),
                // Autotask runs `contains` as SQL Server's LIKE, where `[…]` is a character
                // class: a bracketed text never matches itself.
                "contains" => !text(&want).contains('[') && text(&have).contains(&text(&want)),
                _ => false,
            }
        }
        _ => false,
    }
}

pub(super) fn handle(
    st: &mut PsaState,
    origin: &str,
    method: &str,
    path: &str,
    q: &[(String, String)],
    headers: &Headers,
    body: &[u8],
) -> Reply {
    let lower = path.to_ascii_lowercase();
    if method == "GET" && lower == "atservicesrest/v1.0/zoneinformation" {
        return match param(q, "user") {
            Some(u) if u.eq_ignore_ascii_case(AT_API_USER) => reply(
                200,
                Some(json!({"zoneName": "Demo Zone (simulated)", "url": format!("{origin}/autotask/ws5/atservicesrest/"),
                    "webUrl": format!("{origin}/autotask/"), "ci": 5})),
            ),
            _ => errors(500, "Zone information could not be determined for this user."),
        };
    }
    let Some(rest) = lower.strip_prefix(ZONE) else {
        return errors(404, "The requested resource does not exist.");
    };
    let ok = headers.get("apiintegrationcode") == Some(AT_INTEGRATION_CODE)
        && headers.get("username").is_some_and(|u| u.eq_ignore_ascii_case(AT_API_USER))
        && headers.get("secret") == Some(AT_SECRET);
    if !ok {
        // Autotask answers a bad UserName / Secret / ApiIntegrationCode with an empty 401.
        return reply(401, None);
    }
    let at = &mut st.autotask;
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let id = |i: usize| segs.get(i).and_then(|s| s.parse::<i64>().ok());
    match (method, segs.as_slice()) {
        ("GET", ["tickets", "entityinformation", "fields"]) => reply(
            200,
            Some(json!({"fields": [
                {"name": "id", "dataType": "long", "isRequired": true, "isReadOnly": true, "isPickList": false},
                {"name": "title", "dataType": "string", "length": 255, "isRequired": true, "isPickList": false},
                picklist("status", STATUSES, 1),
                picklist("priority", PRIORITIES, 2),
            ]})),
        ),
        ("GET", ["ticketnotes", "entityinformation", "fields"]) => {
            reply(200, Some(json!({"fields": [picklist("noteType", NOTE_TYPES, 1), picklist("publish", PUBLISH, 1)]})))
        }
        ("POST", ["tickets"]) => {
            let title = body.get("title").and_then(Value::as_str).unwrap_or_default();
            let company = int(body.get("companyID"));
            let status = label(STATUSES, int(body.get("status")));
            if title.is_empty() {
                return errors(500, "Missing Required Field: title");
            }
            let Some(company) = company.filter(|c| at.has_company(*c)) else {
                return errors(500, "Reference value on field: companyID of type: Company does not exist or is invalid.");
            };
            let Some(status) = status else {
                return errors(500, "Value on field: status is not a valid picklist value.");
            };
            if label(PRIORITIES, int(body.get("priority"))).is_none() {
                return errors(500, "Value on field: priority is not a valid picklist value.");
            }
            let t = SimTicket {
                id: at.next(),
                company_id: company,
                summary: title.into(),
                details: body.get("description").and_then(Value::as_str).unwrap_or_default().into(),
                contact_id: int(body.get("contactID")),
                status: status.into(),
                notes: vec![],
            };
            let tid = t.id;
            at.tickets.push(t);
            reply(200, Some(json!({"itemId": tid})))
        }
        ("PATCH", ["tickets"]) => {
            let status = label(STATUSES, int(body.get("status")));
            let Some(t) = int(body.get("id")).and_then(|i| at.ticket_mut(i)) else {
                return errors(500, "Entity with id was not found.");
            };
            match status {
                Some(s) => t.status = s.into(),
                None => return errors(500, "Value on field: status is not a valid picklist value."),
            }
            reply(200, Some(json!({"itemId": t.id})))
        }
        ("GET", ["tickets", _]) => match id(1).and_then(|i| at.ticket_mut(i)) {
            Some(t) => reply(200, Some(json!({"item": ticket_json(t)}))),
            None => reply(200, Some(json!({"item": null}))),
        },
        ("POST", ["tickets", _, "notes"]) => {
            let text = body.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
            if text.is_empty() || body.get("title").and_then(Value::as_str).unwrap_or_default().is_empty() {
                return errors(500, "Missing Required Field: title, description");
            }
            if label(NOTE_TYPES, int(body.get("noteType"))).is_none() || label(PUBLISH, int(body.get("publish"))).is_none() {
                return errors(500, "Value on field: noteType or publish is not a valid picklist value.");
            }
            let internal = int(body.get("publish")) != Some(1);
            match at.add_note(id(1).unwrap_or_default(), &text, internal) {
                Some(n) => reply(200, Some(json!({"itemId": n.id}))),
                None => errors(500, "Parent entity with id was not found."),
            }
        }
        ("GET", ["tickets", _, "notes"]) => {
            let Some(t) = id(1).and_then(|i| at.ticket_mut(i)) else { return reply(200, Some(query_result(vec![]))) };
            let tid = t.id;
            let notes = t.notes.iter().map(|n| json!({"id": n.id, "ticketID": tid, "description": n.text})).collect();
            reply(200, Some(query_result(notes)))
        }
        ("POST", ["ticketnotes", "query"]) => {
            let filter = body.get("filter").cloned().unwrap_or(Value::Array(vec![]));
            let notes = at
                .tickets
                .iter()
                .flat_map(|t| {
                    t.notes.iter().map(
                        move |n| json!({"id": n.id, "ticketID": t.id, "description": n.text, "publish": if n.internal { 3 } else { 1 }}),
                    )
                })
                .filter(|n| matches(n, &filter))
                .collect();
            reply(200, Some(query_result(notes)))
        }
        ("POST", ["tickets", "query"]) => {
            let filter = body.get("filter").cloned().unwrap_or(Value::Array(vec![]));
            let found = at.tickets.iter().map(ticket_json).filter(|t| matches(t, &filter)).collect();
            reply(200, Some(query_result(found)))
        }
        ("POST", ["contacts", "query"]) => {
            let filter = body.get("filter").cloned().unwrap_or(Value::Array(vec![]));
            let found = at.contacts.iter().map(contact_json).filter(|c| matches(c, &filter)).collect();
            reply(200, Some(query_result(found)))
        }
        ("PATCH", ["companies", _, "contacts"]) => {
            let company = id(1);
            let Some(c) = int(body.get("id")).and_then(|i| at.contacts.iter_mut().find(|c| c.id == i)) else {
                return errors(500, "Entity with id was not found.");
            };
            if Some(c.company_id) != company {
                return errors(500, "The contact does not belong to the parent company.");
            }
            if let Some(a) = int(body.get("isActive")) {
                c.active = a != 0;
            }
            reply(200, Some(json!({"itemId": c.id})))
        }
        _ => errors(404, &format!("The requested resource does not exist: {method} {path}")),
    }
}

/// A number the way Autotask's JSON reader takes one: a number, or a string holding one. The
/// simulator reads requests with its own code, not the client's: a parsing bug shared by both
/// would hide itself.
fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}
