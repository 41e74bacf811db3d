//! HaloPSA (`apis.md` 4.3).
//!
//! - Auth URL discovery: `GET {instance}/api/authinfo` → `{"auth_url", …}` (fallback
//!   `{instance}/auth`); token `POST {auth_url}/token[?tenant=…]`, form
//!   `grant_type=client_credentials&client_id&client_secret&scope=all` → `{access_token, expires_in}`.
//! - Calls: `Authorization: Bearer …` against `{instance}/api/…`. Create and update both POST a
//!   **JSON array**; an update is the same POST with `id` set.
//! - Tickets `POST /api/Tickets [{summary, details, client_id, user_id?, tickettype_id?}]`; status
//!   `POST /api/Tickets [{id, status_id}]`, status ids read from `GET /api/Status` by name;
//!   private notes `POST /api/Actions [{ticket_id, note, outcome:"Private Note", hiddenfromuser:true}]`,
//!   read back with `GET /api/Actions?ticket_id=N`; a ticket by its marker
//!   `GET /api/Tickets?client_id=N&search_details=…`.
//! - End users `GET /api/Users?search=…&client_id=N&includeinactive=true` (`search` matches
//!   substrings: exact e-mail matches are kept); deactivate `POST /api/Users [{id, inactive:true}]`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use super::http::{Body, HttpSettings, PsaHttp, Req};
use super::{exact_matches, id_str, numeric, search_term, Contact, NewTicket, PResult, Psa, PsaError, PsaStats, StatusNames, TicketStatus};
use crate::secret::Secret;

/// Records asked for a page of a list.
const PAGE_SIZE: usize = 100;
pub const NAME: &str = "HaloPSA";

#[derive(Debug, Clone)]
pub struct HaloConfig {
    /// `https://{instance}` (the API is under `/api`).
    pub base_url: String,
    /// Overrides discovery through `/api/authinfo`.
    pub auth_url: Option<String>,
    pub client_id: String,
    pub client_secret: Secret,
    /// Only for Halo-hosted instances.
    pub tenant: Option<String>,
    /// The client's `client_id` in Halo (numeric).
    pub company_id: String,
    pub tickettype_id: Option<i64>,
    pub statuses: StatusNames,
    pub http: HttpSettings,
}

pub struct Halo {
    cfg: HaloConfig,
    http: PsaHttp,
    token: Mutex<Option<(Secret, Instant)>>,
    statuses: OnceCell<HashMap<String, i64>>,
}

fn num(s: &str, what: &str) -> PResult<i64> {
    numeric(NAME, what, s)
}

impl Halo {
    pub fn new(cfg: HaloConfig) -> PResult<Halo> {
        Ok(Halo { http: PsaHttp::new(NAME, cfg.http.clone())?, cfg, token: Mutex::new(None), statuses: OnceCell::new() })
    }

    fn api(&self) -> String {
        format!("{}/api", self.cfg.base_url.trim_end_matches('/'))
    }

    async fn token(&self) -> PResult<Secret> {
        if let Some((t, until)) = self.token.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            if Instant::now() < until {
                return Ok(t);
            }
        }
        let auth_url = match &self.cfg.auth_url {
            Some(u) => u.clone(),
            None => {
                let info = self.http.send(Req::new(Method::GET, &self.api(), "/authinfo", false)).await?;
                info.get("auth_url")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}/auth", self.cfg.base_url.trim_end_matches('/')))
            }
        };
        let query = self.cfg.tenant.as_ref().map(|t| format!("?tenant={t}")).unwrap_or_default();
        let mut r = Req::new(Method::POST, &auth_url, &format!("/token{query}"), false);
        r.body = Body::Form(vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", self.cfg.client_id.clone()),
            ("client_secret", self.cfg.client_secret.expose().to_string()),
            ("scope", "all".into()),
        ]);
        let v = self.http.send(r).await.map_err(|e| match e {
            PsaError::Api { message, status, .. } => {
                PsaError::Auth { psa: NAME, message: format!("token request: HTTP {status}: {message}") }
            }
            other => other,
        })?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| PsaError::Auth { psa: NAME, message: "the token endpoint answered without an access_token".into() })?;
        let ttl = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600).saturating_sub(60).max(1);
        let t = Secret::new(token);
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some((t.clone(), Instant::now() + Duration::from_secs(ttl)));
        Ok(t)
    }

    async fn call(&self, method: Method, path: &str, write: bool, body: Option<Value>) -> PResult<Value> {
        let token = self.token().await?;
        let mut r = Req::new(method, &self.api(), path, write);
        r.headers.push(("Authorization", format!("Bearer {}", token.expose())));
        if let Some(b) = body {
            r = r.json(b);
        }
        self.http.send(r).await
    }

    /// Every record of a list (`path` has a query already), page by page: Halo pages with
    /// `pageinate=true&page_size&page_no` and gives the total as `record_count`.
    async fn list_all(&self, path: &str, key: &str) -> PResult<Vec<Value>> {
        let mut all = Vec::new();
        for page in 1.. {
            let v = self.call(Method::GET, &format!("{path}&pageinate=true&page_size={PAGE_SIZE}&page_no={page}"), false, None).await?;
            let items = v.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
            let total = v.get("record_count").and_then(Value::as_u64).unwrap_or(0) as usize;
            let empty = items.is_empty();
            all.extend(items);
            if empty || all.len() >= total {
                break;
            }
        }
        Ok(all)
    }

    async fn status_ids(&self) -> PResult<&HashMap<String, i64>> {
        self.statuses
            .get_or_try_init(|| async {
                let v = self.call(Method::GET, "/Status", false, None).await?;
                let list = v.as_array().cloned().unwrap_or_default();
                let map: HashMap<String, i64> =
                    list.iter().filter_map(|s| Some((s.get("name")?.as_str()?.to_lowercase(), s.get("id")?.as_i64()?))).collect();
                for st in [TicketStatus::InProgress, TicketStatus::Completed, TicketStatus::NeedsReview] {
                    let name = self.cfg.statuses.name(st);
                    if !map.contains_key(&name.to_lowercase()) {
                        let mut known: Vec<&str> = list.iter().filter_map(|s| s.get("name")?.as_str()).collect();
                        known.sort_unstable();
                        return Err(PsaError::Protocol {
                            psa: NAME,
                            message: format!(
                                "this instance has no status '{name}' (it has: {}); set the status names in [psa]",
                                known.join(", ")
                            ),
                        });
                    }
                }
                Ok(map)
            })
            .await
    }
}

#[async_trait]
impl Psa for Halo {
    fn kind(&self) -> &'static str {
        "halo"
    }
    fn company_id(&self) -> &str {
        &self.cfg.company_id
    }

    async fn authenticate(&self) -> PResult<()> {
        num(&self.cfg.company_id, "client")?;
        self.status_ids().await.map(|_| ())
    }

    async fn create_ticket(&self, t: &NewTicket) -> PResult<String> {
        let mut item = json!({
            "summary": t.summary,
            "details": t.details,
            "client_id": num(&self.cfg.company_id, "client")?,
        });
        if let Some(u) = t.contact_id.as_deref().and_then(|c| c.parse::<i64>().ok()) {
            item["user_id"] = json!(u);
        }
        if let Some(tt) = self.cfg.tickettype_id {
            item["tickettype_id"] = json!(tt);
        }
        let v = self.call(Method::POST, "/Tickets", true, Some(json!([item]))).await?;
        // One item posted: Halo answers with the ticket (some versions wrap it in an array).
        let created = v.as_array().and_then(|a| a.first()).unwrap_or(&v);
        id_str(created.get("id")).ok_or_else(|| PsaError::Protocol { psa: NAME, message: format!("the new ticket has no id: {v}") })
    }

    async fn set_status(&self, ticket: &str, status: TicketStatus) -> PResult<()> {
        let name = self.cfg.statuses.name(status).to_lowercase();
        let id = self.status_ids().await?.get(&name).copied();
        let body = json!([{"id": num(ticket, "ticket")?, "status_id": id}]);
        self.call(Method::POST, "/Tickets", true, Some(body)).await.map(|_| ())
    }

    async fn add_note(&self, ticket: &str, text: &str) -> PResult<()> {
        let body = json!([{"ticket_id": num(ticket, "ticket")?, "note": text, "outcome": "Private Note",
            "hiddenfromuser": true, "sendemail": false}]);
        self.call(Method::POST, "/Actions", true, Some(body)).await.map(|_| ())
    }

    async fn count_notes_with(&self, ticket: &str, marker: &str) -> PResult<usize> {
        let actions = self.list_all(&format!("/Actions?ticket_id={}", num(ticket, "ticket")?), "actions").await?;
        Ok(actions.iter().filter(|a| a.get("note").and_then(Value::as_str).is_some_and(|n| n.contains(marker))).count())
    }

    async fn find_ticket_with(&self, _summary: &str, marker: &str) -> PResult<Option<String>> {
        let q = percent_encoding::utf8_percent_encode(search_term(marker), percent_encoding::NON_ALPHANUMERIC);
        let path = format!("/Tickets?client_id={}&search_details={q}&page_size=50", num(&self.cfg.company_id, "client")?);
        let v = self.call(Method::GET, &path, false, None).await?;
        let found = v
            .get("tickets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            // A list may leave `details` out (its columns profile decides); where it is there, the
            // whole marker must be in it.
            .filter(|t| t.get("details").and_then(Value::as_str).is_none_or(|d| d.contains(marker)))
            .filter_map(|t| t.get("id").and_then(Value::as_i64))
            .max();
        Ok(found.map(|id| id.to_string()))
    }

    async fn find_contacts(&self, email: &str) -> PResult<Vec<Contact>> {
        let q = percent_encoding::utf8_percent_encode(email, percent_encoding::NON_ALPHANUMERIC);
        let path = format!("/Users?search={q}&client_id={}&includeinactive=true", num(&self.cfg.company_id, "client")?);
        let all = self
            .list_all(&path, "users")
            .await?
            .iter()
            .filter_map(|u| {
                Some(Contact {
                    id: id_str(u.get("id"))?,
                    name: u.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                    email: u.get("emailaddress").and_then(Value::as_str).unwrap_or_default().to_string(),
                    company_id: id_str(u.get("client_id")).unwrap_or_default(),
                    active: !u.get("inactive").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect();
        Ok(exact_matches(all, email, &self.cfg.company_id))
    }

    async fn deactivate_contact(&self, contact: &Contact) -> PResult<()> {
        let body = json!([{"id": num(&contact.id, "user")?, "inactive": true}]);
        self.call(Method::POST, "/Users", true, Some(body)).await.map(|_| ())
    }

    async fn reactivate_contact(&self, contact: &Contact) -> PResult<()> {
        let body = json!([{"id": num(&contact.id, "user")?, "inactive": false}]);
        self.call(Method::POST, "/Users", true, Some(body)).await.map(|_| ())
    }

    fn stats(&self) -> PsaStats {
        self.http.stats()
    }
}
