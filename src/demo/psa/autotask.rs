//! Simulated Autotask REST v1.0: zone discovery under `/autotask/atservicesrest`, the zone itself
//! under `/autotask/ws5/atservicesrest`. Paths are case-insensitive, as Autotask's are.
//!
//! Picklist values are deliberately not Autotask's usual ones ("In Progress" is 17 here), so a
//! client that hard-codes them fails.

use serde_json::{json, Value};

use super::autotask_query::{after_id, get_ci, matches, page, Search};
use super::{param, reply, Call, PsaState, SimContact, SimNote, SimPsa, SimTicket, AT_API_USER, AT_INTEGRATION_CODE, AT_SECRET};
use crate::demo::reply::Reply;

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

fn note_json(t: &SimTicket, n: &SimNote) -> Value {
    // Autotask requires a title on every note; the simulator keeps none, so it shows the first line.
    let title: String = n.text.lines().next().unwrap_or_default().chars().take(250).collect();
    json!({"id": n.id, "ticketID": t.id, "title": title, "description": n.text, "noteType": 1,
        "publish": if n.internal { 3 } else { 1 }, "createDateTime": n.created})
}

fn company_json(id: i64, at: &SimPsa) -> Value {
    let name = if id == at.company_id { "Contoso Ltd" } else { "Fabrikam Inc" };
    // companyType 1 is "Customer"; Company.isActive is a boolean while Contact.isActive is an integer.
    json!({"id": id, "companyName": name, "companyType": 1, "isActive": true})
}

/// Every row of a queryable entity, in its JSON rendering; `None` for an entity not simulated.
fn rows(at: &SimPsa, entity: &str) -> Option<Vec<Value>> {
    Some(match entity {
        "contacts" => at.contacts.iter().map(contact_json).collect(),
        "companies" => [at.company_id, at.other_company_id].iter().map(|c| company_json(*c, at)).collect(),
        "tickets" => at.tickets.iter().map(ticket_json).collect(),
        "ticketnotes" => at.tickets.iter().flat_map(|t| t.notes.iter().map(move |n| note_json(t, n))).collect(),
        _ => return None,
    })
}

/// An entity as Autotask spells it in URLs (for nextPageUrl) and in entityInformation.
fn entity_name(lower: &str) -> (&'static str, &'static str) {
    match lower {
        "contacts" => ("Contacts", "Contact"),
        "companies" => ("Companies", "Company"),
        "tickets" => ("Tickets", "Ticket"),
        _ => ("TicketNotes", "TicketNote"),
    }
}

fn entity_info(entity: &str) -> Value {
    let name = entity_name(entity).1;
    // What the demo API user may do, as the simulator implements it.
    let (create, update) = match entity {
        "tickets" => (true, true),
        "ticketnotes" => (true, false),
        "contacts" => (false, true),
        _ => (false, false),
    };
    json!({"info": {"name": name, "canCreate": create, "canDelete": false, "canQuery": true, "canUpdate": update,
        "userAccessForCreate": if create { "All" } else { "None" }, "userAccessForDelete": "None", "userAccessForQuery": "All",
        "userAccessForUpdate": if update { "All" } else { "None" }, "hasUserDefinedFields": false, "supportsWebhookCallouts": entity != "ticketnotes"}})
}

/// Run a query (`POST …/query`, `GET …/query?search=`, `GET …/query/next`) or count it.
fn query(at: &SimPsa, origin: &str, entity: &str, search: &Value, after: i64, count: bool, page_max: usize) -> Reply {
    let Some(rows) = rows(at, entity) else { return errors(404, "The requested resource does not exist.") };
    let search = match Search::parse(search) {
        Ok(s) => Search { max_records: s.max_records.min(page_max), ..s },
        Err(e) => return errors(500, &e),
    };
    if count {
        let mut n = 0;
        for r in &rows {
            match matches(r, &search.filter) {
                Ok(hit) => n += usize::from(hit),
                Err(e) => return errors(500, &e),
            }
        }
        return reply(200, Some(json!({"queryCount": n})));
    }
    let next_base = format!("{origin}/autotask/{ZONE}{}/query/next", entity_name(entity).0);
    match page(rows, &search, after, &next_base) {
        Ok(v) => reply(200, Some(v)),
        Err(e) => errors(500, &e),
    }
}

/// The `search` URL parameter of a GET query: the same JSON as a POST body.
fn search_param(q: &[(String, String)]) -> Result<Value, Reply> {
    param(q, "search")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| errors(500, "The search parameter is missing or is not a valid query."))
}

pub(super) fn handle(st: &mut PsaState, call: Call) -> Reply {
    let Call { origin, page_max, method, path, q, headers, body } = call;
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
    // The API versions, on the discovery host and in the zone alike, without credentials.
    if method == "GET" && lower.trim_start_matches("ws5/") == "atservicesrest/versioninformation" {
        return reply(200, Some(json!({"apiVersions": ["1.0"]})));
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
    // A path segment that is an id: `entityInformation` or `query` never is.
    let is_id = |i: usize| id(i).is_some();
    match (method, segs.as_slice()) {
        ("GET", [entity, "entityinformation"]) if rows(at, entity).is_some() => reply(200, Some(entity_info(entity))),
        ("POST", [entity, "query"]) => query(at, origin, entity, &body, 0, false, page_max),
        ("POST", [entity, "query", "count"]) => query(at, origin, entity, &body, 0, true, page_max),
        ("GET", [entity, "query"]) => match search_param(q) {
            Ok(search) => query(at, origin, entity, &search, 0, false, page_max),
            Err(r) => r,
        },
        ("GET", [entity, "query", "next"]) => match (search_param(q), after_id(param(q, "paging"))) {
            (Ok(search), Some(after)) => query(at, origin, entity, &search, after, false, page_max),
            (Err(r), _) => r,
            (_, None) => errors(500, "The paging parameter is missing or invalid."),
        },
        ("GET", ["contacts", _]) if is_id(1) => {
            reply(200, Some(json!({"item": at.contacts.iter().find(|c| Some(c.id) == id(1)).map(contact_json)})))
        }
        ("GET", ["companies", _]) if is_id(1) => {
            reply(200, Some(json!({"item": id(1).filter(|c| at.has_company(*c)).map(|c| company_json(c, at))})))
        }
        ("GET", ["tickets", _, "notes", _]) if is_id(1) && is_id(3) => {
            let note = at.ticket_mut(id(1).unwrap_or_default()).and_then(|t| {
                let t = &*t;
                t.notes.iter().find(|n| Some(n.id) == id(3)).map(|n| note_json(t, n))
            });
            reply(200, Some(json!({"item": note})))
        }
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
            let title = get_ci(&body, "title").and_then(Value::as_str).unwrap_or_default();
            let company = int(get_ci(&body, "companyID"));
            let status = label(STATUSES, int(get_ci(&body, "status")));
            if title.is_empty() {
                return errors(500, "Missing Required Field: title");
            }
            let Some(company) = company.filter(|c| at.has_company(*c)) else {
                return errors(500, "Reference value on field: companyID of type: Company does not exist or is invalid.");
            };
            let Some(status) = status else {
                return errors(500, "Value on field: status is not a valid picklist value.");
            };
            if label(PRIORITIES, int(get_ci(&body, "priority"))).is_none() {
                return errors(500, "Value on field: priority is not a valid picklist value.");
            }
            let t = SimTicket {
                id: at.next(),
                company_id: company,
                summary: title.into(),
                details: get_ci(&body, "description").and_then(Value::as_str).unwrap_or_default().into(),
                contact_id: int(get_ci(&body, "contactID")),
                status: status.into(),
                notes: vec![],
            };
            let tid = t.id;
            at.tickets.push(t);
            reply(200, Some(json!({"itemId": tid})))
        }
        ("PATCH", ["tickets"]) => {
            let status = label(STATUSES, int(get_ci(&body, "status")));
            let Some(t) = int(get_ci(&body, "id")).and_then(|i| at.ticket_mut(i)) else {
                return errors(500, "Entity with id was not found.");
            };
            match status {
                Some(s) => t.status = s.into(),
                None => return errors(500, "Value on field: status is not a valid picklist value."),
            }
            reply(200, Some(json!({"itemId": t.id})))
        }
        ("GET", ["tickets", _]) if is_id(1) => match id(1).and_then(|i| at.ticket_mut(i)) {
            Some(t) => reply(200, Some(json!({"item": ticket_json(t)}))),
            None => reply(200, Some(json!({"item": null}))),
        },
        ("POST", ["tickets", _, "notes"]) => {
            let text = get_ci(&body, "description").and_then(Value::as_str).unwrap_or_default().to_string();
            if text.is_empty() || get_ci(&body, "title").and_then(Value::as_str).unwrap_or_default().is_empty() {
                return errors(500, "Missing Required Field: title, description");
            }
            if label(NOTE_TYPES, int(get_ci(&body, "noteType"))).is_none() || label(PUBLISH, int(get_ci(&body, "publish"))).is_none() {
                return errors(500, "Value on field: noteType or publish is not a valid picklist value.");
            }
            let internal = int(get_ci(&body, "publish")) != Some(1);
            match at.add_note(id(1).unwrap_or_default(), &text, internal) {
                Some(n) => reply(200, Some(json!({"itemId": n.id}))),
                None => errors(500, "Parent entity with id was not found."),
            }
        }
        ("GET", ["tickets", _, "notes"]) if is_id(1) => {
            query(at, origin, "ticketnotes", &json!({"filter": [{"op": "eq", "field": "ticketID", "value": id(1)}]}), 0, false, page_max)
        }
        ("PATCH", ["companies", _, "contacts"]) => {
            let company = id(1);
            let Some(c) = int(get_ci(&body, "id")).and_then(|i| at.contacts.iter_mut().find(|c| c.id == i)) else {
                return errors(500, "Entity with id was not found.");
            };
            if Some(c.company_id) != company {
                return errors(500, "The contact does not belong to the parent company.");
            }
            if let Some(a) = int(get_ci(&body, "isActive")) {
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
