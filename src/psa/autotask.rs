//! Autotask (Datto) REST v1.0 (`apis.md` 4.2; paths and models checked against the official
//! Swagger, "Datto|Autotask PSA Rest API").
//!
//! - Zone discovery first: `GET {discovery}/v1.0/zoneInformation?user={apiUser}` answers
//!   `{"zoneName","url":"https://webservicesN.autotask.net/atservicesrest/",…}`; every later call
//!   goes to `{url}v1.0/…`.
//! - Every call: headers `ApiIntegrationCode`, `UserName`, `Secret`.
//! - Picklists are per instance, so they are read, never hard-coded:
//!   `GET /v1.0/Tickets/entityInformation/fields` (`status`, `priority`) and
//!   `GET /v1.0/TicketNotes/entityInformation/fields` (`noteType`, `publish`); each field is
//!   `{name, isPickList, picklistValues:[{value, label, isDefaultValue, isActive}]}`.
//! - Tickets `POST /v1.0/Tickets` → `{"itemId":N}`; status `PATCH /v1.0/Tickets {"id","status"}`;
//!   notes `POST /v1.0/Tickets/{id}/Notes {title, description, noteType, publish}`; notes and
//!   tickets with a marker `POST /v1.0/TicketNotes/query`, `POST /v1.0/Tickets/query` (`contains`
//!   on `description`).
//! - Contacts `POST /v1.0/Contacts/query`; deactivation through the parent company:
//!   `PATCH /v1.0/Companies/{companyID}/Contacts {"id":N,"isActive":0}` (there is no top-level PATCH).

use std::collections::HashMap;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::http::{HttpSettings, PsaHttp, Req};
use super::{exact_matches, id_str, numeric, search_term, Contact, NewTicket, PResult, Psa, PsaError, PsaStats, StatusNames, TicketStatus};
use crate::secret::Secret;

pub const NAME: &str = "Autotask";

#[derive(Debug, Clone)]
pub struct AtConfig {
    /// Where zone discovery is asked: `https://webservices2.autotask.net/atservicesrest`.
    pub discovery_url: String,
    /// The API user's name (an e-mail address).
    pub api_user: String,
    pub integration_code: String,
    pub secret: Secret,
    /// The client's companyID.
    pub company_id: String,
    pub queue_id: Option<i64>,
    /// Picklist *labels*; their values are read from the instance.
    pub statuses: StatusNames,
    pub http: HttpSettings,
}

/// What discovery found: the zone's base URL and the picklists we need.
#[derive(Debug)]
struct Instance {
    base: String,
    /// status label (lower case) → value
    statuses: HashMap<String, i64>,
    default_status: Option<i64>,
    default_priority: Option<i64>,
    note_type: Option<i64>,
    note_publish: Option<i64>,
}

pub struct Autotask {
    cfg: AtConfig,
    http: PsaHttp,
    instance: OnceCell<Instance>,
}

/// `obj[key]`, matching the key case-insensitively (the Swagger says PascalCase, the service
/// answers camelCase).
fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// One picklist of an `entityInformation/fields` answer: `(label, value, is_default)`, active only.
fn picklist(fields: &Value, name: &str) -> Vec<(String, i64, bool)> {
    get_ci(fields, "fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|f| get_ci(f, "name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|f| get_ci(f, "picklistValues"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| get_ci(p, "isActive").and_then(Value::as_bool).unwrap_or(true))
        .filter_map(|p| {
            Some((
                get_ci(p, "label")?.as_str()?.to_string(),
                int(get_ci(p, "value"))?,
                get_ci(p, "isDefaultValue").and_then(Value::as_bool).unwrap_or(false),
            ))
        })
        .collect()
}

/// The items of a query answer whose `description` holds the whole marker (the query searched
/// for its inside: see [`search_term`]).
/// The items (a query's `items`, or the items of every page) whose description holds `marker`.
fn with_marker<'a>(v: &'a Value, marker: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    v.as_array()
        .or_else(|| get_ci(v, "items").and_then(Value::as_array))
        .into_iter()
        .flatten()
        .filter(move |i| get_ci(i, "description").and_then(Value::as_str).is_some_and(|d| d.contains(marker)))
}

fn default_of(list: &[(String, i64, bool)]) -> Option<i64> {
    list.iter().find(|p| p.2).or(list.first()).map(|p| p.1)
}

impl Autotask {
    pub fn new(cfg: AtConfig) -> PResult<Autotask> {
        Ok(Autotask { http: PsaHttp::new(NAME, cfg.http.clone())?, cfg, instance: OnceCell::new() })
    }

    fn req(&self, base: &str, method: Method, path: &str, write: bool) -> Req {
        let mut r = Req::new(method, base, path, write);
        r.headers.push(("ApiIntegrationCode", self.cfg.integration_code.clone()));
        r.headers.push(("UserName", self.cfg.api_user.clone()));
        r.headers.push(("Secret", self.cfg.secret.expose().to_string()));
        r
    }

    async fn instance(&self) -> PResult<&Instance> {
        self.instance.get_or_try_init(|| self.discover()).await
    }

    async fn discover(&self) -> PResult<Instance> {
        let user = percent_encoding::utf8_percent_encode(&self.cfg.api_user, percent_encoding::NON_ALPHANUMERIC);
        let discovery = format!("{}/v1.0", self.cfg.discovery_url.trim_end_matches('/'));
        let zone = self.http.send(self.req(&discovery, Method::GET, &format!("/zoneInformation?user={user}"), false)).await.map_err(
            |e| match e {
                PsaError::Api { status, message, .. } => PsaError::Auth {
                    psa: NAME,
                    message: format!("zone discovery for API user '{}' failed (HTTP {status}): {message}", self.cfg.api_user),
                },
                other => other,
            },
        )?;
        let url = get_ci(&zone, "url")
            .and_then(Value::as_str)
            .ok_or_else(|| PsaError::Protocol { psa: NAME, message: format!("zone information has no url: {zone}") })?;
        let base = format!("{}/v1.0", url.trim_end_matches('/'));
        let tickets = self.http.send(self.req(&base, Method::GET, "/Tickets/entityInformation/fields", false)).await?;
        let notes = self.http.send(self.req(&base, Method::GET, "/TicketNotes/entityInformation/fields", false)).await?;
        let status_list = picklist(&tickets, "status");
        let statuses: HashMap<String, i64> = status_list.iter().map(|(l, v, _)| (l.to_lowercase(), *v)).collect();
        for s in [TicketStatus::InProgress, TicketStatus::Completed, TicketStatus::NeedsReview] {
            let label = self.cfg.statuses.name(s);
            if !statuses.contains_key(&label.to_lowercase()) {
                let known: Vec<&str> = status_list.iter().map(|p| p.0.as_str()).collect();
                return Err(PsaError::Protocol {
                    psa: NAME,
                    message: format!(
                        "this instance has no ticket status '{label}' (it has: {}); set the status names in [psa]",
                        known.join(", ")
                    ),
                });
            }
        }
        let publish = picklist(&notes, "publish");
        Ok(Instance {
            base,
            statuses,
            default_status: default_of(&status_list),
            default_priority: default_of(&picklist(&tickets, "priority")),
            note_type: default_of(&picklist(&notes, "noteType")),
            // An internal note: the publish option labelled "Internal …" when the instance has one.
            note_publish: publish.iter().find(|p| p.0.to_lowercase().contains("internal")).map(|p| p.1).or(default_of(&publish)),
        })
    }

    fn company_num(&self) -> PResult<i64> {
        numeric(NAME, "company", &self.cfg.company_id)
    }

    fn ticket_num(ticket: &str) -> PResult<i64> {
        numeric(NAME, "ticket", ticket)
    }

    async fn send(&self, method: Method, path: &str, write: bool, body: Option<Value>) -> PResult<Value> {
        let inst = self.instance().await?;
        let mut r = self.req(&inst.base, method, path, write);
        if let Some(b) = body {
            r = r.json(b);
        }
        self.http.send(r).await
    }

    /// Every item of a query: Autotask answers at most 500 a page, and
    /// `pageDetails.nextPageUrl` (an absolute GET URL, null on the last page) holds the rest.
    async fn query_all(&self, path: &str, body: Value) -> PResult<Vec<Value>> {
        let mut v = self.send(Method::POST, path, false, Some(body)).await?;
        let mut all = Vec::new();
        loop {
            all.extend(get_ci(&v, "items").and_then(Value::as_array).cloned().unwrap_or_default());
            let next = get_ci(&v, "pageDetails").and_then(|p| get_ci(p, "nextPageUrl")).and_then(Value::as_str).filter(|u| !u.is_empty());
            let Some(next) = next else { return Ok(all) };
            v = self.http.send(self.req(next, Method::GET, "", false)).await?;
        }
    }
}

#[async_trait]
impl Psa for Autotask {
    fn kind(&self) -> &'static str {
        "autotask"
    }
    fn company_id(&self) -> &str {
        &self.cfg.company_id
    }

    async fn authenticate(&self) -> PResult<()> {
        self.company_num()?;
        self.instance().await.map(|_| ())
    }

    async fn create_ticket(&self, t: &NewTicket) -> PResult<String> {
        let inst = self.instance().await?;
        let mut body = json!({
            "companyID": self.company_num()?,
            "title": t.summary.chars().take(255).collect::<String>(),
            "description": t.details.chars().take(8000).collect::<String>(),
            "status": inst.default_status,
            "priority": inst.default_priority,
        });
        if let Some(c) = t.contact_id.as_deref().and_then(|c| c.parse::<i64>().ok()) {
            body["contactID"] = json!(c);
        }
        if let Some(q) = self.cfg.queue_id {
            body["queueID"] = json!(q);
        }
        let v = self.send(Method::POST, "/Tickets", true, Some(body)).await?;
        id_str(get_ci(&v, "itemId")).ok_or_else(|| PsaError::Protocol { psa: NAME, message: format!("the new ticket has no itemId: {v}") })
    }

    async fn set_status(&self, ticket: &str, status: TicketStatus) -> PResult<()> {
        let inst = self.instance().await?;
        let label = self.cfg.statuses.name(status);
        let value = inst
            .statuses
            .get(&label.to_lowercase())
            .copied()
            .ok_or_else(|| PsaError::Protocol { psa: NAME, message: format!("no ticket status '{label}'") })?;
        let body = json!({"id": Self::ticket_num(ticket)?, "status": value});
        self.send(Method::PATCH, "/Tickets", true, Some(body)).await.map(|_| ())
    }

    async fn add_note(&self, ticket: &str, text: &str) -> PResult<()> {
        let inst = self.instance().await?;
        let title = text.lines().next().unwrap_or("offboard-host").chars().take(250).collect::<String>();
        let body = json!({"title": title, "description": text, "noteType": inst.note_type, "publish": inst.note_publish});
        let path = format!("/Tickets/{}/Notes", Self::ticket_num(ticket)?);
        self.send(Method::POST, &path, true, Some(body)).await.map(|_| ())
    }

    async fn count_notes_with(&self, ticket: &str, marker: &str) -> PResult<usize> {
        let body = json!({"filter": [
            {"op": "eq", "field": "ticketID", "value": Self::ticket_num(ticket)?},
            {"op": "contains", "field": "description", "value": search_term(marker)},
        ]});
        let all = Value::Array(self.query_all("/TicketNotes/query", body).await?);
        Ok(with_marker(&all, marker).count())
    }

    async fn find_ticket_with(&self, _summary: &str, marker: &str) -> PResult<Option<String>> {
        let body = json!({"filter": [
            {"op": "eq", "field": "companyID", "value": self.company_num()?},
            {"op": "contains", "field": "description", "value": search_term(marker)},
        ]});
        let all = Value::Array(self.query_all("/Tickets/query", body).await?);
        Ok(with_marker(&all, marker).filter_map(|t| int(get_ci(t, "id"))).max().map(|id| id.to_string()))
    }

    async fn find_contacts(&self, email: &str) -> PResult<Vec<Contact>> {
        let body = json!({"filter": [
            {"op": "eq", "field": "emailAddress", "value": email},
            {"op": "eq", "field": "companyID", "value": self.company_num()?},
        ]});
        let all = self
            .query_all("/Contacts/query", body)
            .await?
            .iter()
            .filter_map(|c| {
                let s = |k: &str| get_ci(c, k).and_then(Value::as_str).unwrap_or_default().to_string();
                Some(Contact {
                    id: id_str(get_ci(c, "id"))?,
                    name: format!("{} {}", s("firstName"), s("lastName")).trim().to_string(),
                    email: s("emailAddress"),
                    company_id: id_str(get_ci(c, "companyID")).unwrap_or_default(),
                    active: int(get_ci(c, "isActive")).unwrap_or(1) != 0,
                })
            })
            .collect();
        Ok(exact_matches(all, email, &self.cfg.company_id))
    }

    async fn deactivate_contact(&self, contact: &Contact) -> PResult<()> {
        let id = numeric(NAME, "contact", &contact.id)?;
        let path = format!("/Companies/{}/Contacts", self.company_num()?);
        self.send(Method::PATCH, &path, true, Some(json!({"id": id, "isActive": 0}))).await.map(|_| ())
    }

    async fn reactivate_contact(&self, contact: &Contact) -> PResult<()> {
        let id = numeric(NAME, "contact", &contact.id)?;
        let path = format!("/Companies/{}/Contacts", self.company_num()?);
        self.send(Method::PATCH, &path, true, Some(json!({"id": id, "isActive": 1}))).await.map(|_| ())
    }

    fn stats(&self) -> PsaStats {
        self.http.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of `GET /v1.0/Tickets/entityInformation/fields` (FieldInformationResultModel /
    /// FieldInformationModel / PickListValue in the Swagger), as the service sends it (camelCase).
    #[test]
    fn picklists_are_read_from_field_information() {
        let fields = json!({"fields": [
            {"name": "id", "dataType": "long", "isPickList": false},
            {"name": "status", "dataType": "integer", "isPickList": true, "picklistValues": [
                {"value": "1", "label": "New", "isDefaultValue": true, "sortOrder": 1, "isActive": true, "isSystem": true},
                {"value": "17", "label": "In Progress", "isDefaultValue": false, "sortOrder": 2, "isActive": true, "isSystem": false},
                {"value": "99", "label": "Retired", "isDefaultValue": false, "sortOrder": 3, "isActive": false, "isSystem": false}
            ]}
        ]});
        let p = picklist(&fields, "Status");
        assert_eq!(p, vec![("New".to_string(), 1, true), ("In Progress".to_string(), 17, false)]);
        assert_eq!(default_of(&p), Some(1));
        // PascalCase, as the Swagger spells it, works too.
        let pascal = json!({"Fields": [{"Name": "priority", "PicklistValues": [{"Value": "4", "Label": "Low", "IsDefaultValue": true}]}]});
        assert_eq!(default_of(&picklist(&pascal, "priority")), Some(4));
    }
}
