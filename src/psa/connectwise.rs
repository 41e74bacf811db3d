//! ConnectWise Manage REST 3.0 (`apis.md` 4.1).
//!
//! - Base URL `https://{server}/{codebase}apis/3.0` (the codebase, e.g. `v4_6_release/`, is part of
//!   the configured `base_url`).
//! - Every call: `Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")` and the
//!   `clientId` header.
//! - Tickets `POST /service/tickets`; status `PATCH /service/tickets/{id}` with a JSON-Patch
//!   `[{"op":"replace","path":"status","value":{"name":…}}]`; internal notes
//!   `POST /service/tickets/{id}/notes {"text","internalAnalysisFlag":true,…}`; a ticket by its
//!   marker: `GET /service/tickets?conditions=company/id=N AND summary="…"`, then its notes
//!   (the initial description is the first note).
//! - Contacts `GET /company/contacts?conditions=company/id=N&childConditions=communicationItems/value="…"
//!   AND communicationItems/communicationType="Email"`; deactivate with
//!   `PATCH /company/contacts/{id} [{"op":"replace","path":"inactiveFlag","value":true}]`.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{HttpSettings, PsaHttp, Req};
use super::{exact_matches, id_str, numeric, Contact, NewTicket, PResult, Psa, PsaError, PsaStats, StatusNames, TicketStatus};
use crate::secret::Secret;

pub const NAME: &str = "ConnectWise Manage";
const PAGE_SIZE: usize = 1000;
/// How many of a user's tickets with the same summary are searched for a lost creation's marker
/// (newest first: the lost one is the latest).
const CANDIDATES: usize = 25;

#[derive(Debug, Clone)]
pub struct CwConfig {
    /// `https://{server}/{codebase}apis/3.0`
    pub base_url: String,
    /// The MSP's ConnectWise company id (the login company), not the client's.
    pub login_company: String,
    pub public_key: String,
    pub private_key: Secret,
    /// The integration's clientId GUID (developer.connectwise.com).
    pub client_id: String,
    /// The client's company id in ConnectWise (numeric).
    pub company_id: String,
    /// Service board for new tickets (the PSA's default board when unset).
    pub board: Option<String>,
    pub statuses: StatusNames,
    pub http: HttpSettings,
}

pub struct ConnectWise {
    cfg: CwConfig,
    http: PsaHttp,
    auth: Secret,
}

impl ConnectWise {
    pub fn new(cfg: CwConfig) -> PResult<ConnectWise> {
        let auth = Secret::new(basic_auth(&cfg.login_company, &cfg.public_key, cfg.private_key.expose()));
        Ok(ConnectWise { http: PsaHttp::new(NAME, cfg.http.clone())?, cfg, auth })
    }

    fn req(&self, method: Method, path: &str, write: bool) -> Req {
        let mut r = Req::new(method, &self.cfg.base_url, path, write);
        r.headers.push(("Authorization", self.auth.expose().to_string()));
        r.headers.push(("clientId", self.cfg.client_id.clone()));
        r
    }

    /// Every record of a list, page by page (`path` ends in `?` or `&`). ConnectWise documents
    /// navigable paging: each page's `Link` header names the `rel="next"` page while there is one,
    /// and the server may grant fewer than the `pageSize` asked for. Only an answer without a
    /// `Link` header falls back to "a full page means ask for the next".
    async fn get_all(&self, path: &str) -> PResult<Vec<Value>> {
        let mut all = Vec::new();
        let mut req = self.req(Method::GET, &format!("{path}pageSize={PAGE_SIZE}&page=1"), false);
        for page in 2.. {
            let (v, link) = self.http.send_linked(req).await?;
            let items = v.as_array().cloned().unwrap_or_default();
            let full = items.len() >= PAGE_SIZE;
            all.extend(items);
            req = match link {
                Some(link) => match next_link(&link) {
                    Some(next) => self.next_req(next)?,
                    None => break,
                },
                None if full => self.req(Method::GET, &format!("{path}pageSize={PAGE_SIZE}&page={page}"), false),
                None => break,
            };
        }
        Ok(all)
    }

    /// The request for a `rel="next"` URL, refused unless it is under our base URL: the
    /// credentials go nowhere else.
    fn next_req(&self, url: &str) -> PResult<Req> {
        let base = self.cfg.base_url.trim_end_matches('/');
        if !url.get(..base.len()).is_some_and(|b| b.eq_ignore_ascii_case(base))
            || !matches!(url[base.len()..].chars().next(), Some('/' | '?'))
        {
            return Err(PsaError::Protocol { psa: NAME, message: format!("the next page {url} is not under {base}") });
        }
        Ok(self.req(Method::GET, &url[base.len()..], false))
    }

    fn company_num(&self) -> PResult<i64> {
        numeric(NAME, "company", &self.cfg.company_id)
    }
}

fn contact_from(v: &Value) -> Option<Contact> {
    let email = v
        .get("communicationItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("communicationType").and_then(Value::as_str) == Some("Email"))
        .and_then(|c| c.get("value").and_then(Value::as_str))
        .unwrap_or_default();
    let name = format!(
        "{} {}",
        v.get("firstName").and_then(Value::as_str).unwrap_or_default(),
        v.get("lastName").and_then(Value::as_str).unwrap_or_default()
    );
    Some(Contact {
        id: id_str(v.get("id"))?,
        name: name.trim().to_string(),
        email: email.to_string(),
        company_id: id_str(v.pointer("/company/id")).unwrap_or_default(),
        active: !v.get("inactiveFlag").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// The `rel="next"` target of a `Link` header (RFC 8288: `<url>; rel="next", <url>; rel="last"`).
fn next_link(header: &str) -> Option<&str> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().strip_prefix('<')?.split_once('>')?;
        let next = params.split(';').filter_map(|p| p.trim().split_once('=')).any(|(k, v)| {
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim().trim_matches('"').split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
        });
        next.then_some(target.trim())
    })
}

/// A value inside a ConnectWise condition string: double quotes, with `"` and `\` escaped.
fn cw_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[async_trait]
impl Psa for ConnectWise {
    fn kind(&self) -> &'static str {
        "connectwise"
    }
    fn company_id(&self) -> &str {
        &self.cfg.company_id
    }

    /// `GET /system/info`: any authenticated read proves the keys and the clientId.
    async fn authenticate(&self) -> PResult<()> {
        self.company_num()?;
        self.http.send(self.req(Method::GET, "/system/info", false)).await.map(|_| ())
    }

    async fn create_ticket(&self, t: &NewTicket) -> PResult<String> {
        let mut body = json!({
            "summary": t.summary.chars().take(100).collect::<String>(),
            "company": {"id": self.company_num()?},
            "initialDescription": t.details,
        });
        if let Some(c) = t.contact_id.as_deref().and_then(|c| c.parse::<i64>().ok()) {
            body["contact"] = json!({"id": c});
        }
        if let Some(b) = &self.cfg.board {
            body["board"] = json!({"name": b});
        }
        let v = self.http.send(self.req(Method::POST, "/service/tickets", true).json(body)).await?;
        id_str(v.get("id")).ok_or_else(|| PsaError::Protocol { psa: NAME, message: format!("the new ticket has no id: {v}") })
    }

    async fn set_status(&self, ticket: &str, status: TicketStatus) -> PResult<()> {
        let patch = json!([{"op": "replace", "path": "status", "value": {"name": self.cfg.statuses.name(status)}}]);
        let path = format!("/service/tickets/{ticket}");
        self.http.send(self.req(Method::PATCH, &path, true).json(patch)).await.map(|_| ())
    }

    async fn reactivate_contact(&self, contact: &Contact) -> PResult<()> {
        let patch = json!([{"op": "replace", "path": "inactiveFlag", "value": false}]);
        let path = format!("/company/contacts/{}", contact.id);
        self.http.send(self.req(Method::PATCH, &path, true).json(patch)).await.map(|_| ())
    }

    async fn add_note(&self, ticket: &str, text: &str) -> PResult<()> {
        let body = json!({"text": text, "detailDescriptionFlag": false, "internalAnalysisFlag": true, "resolutionFlag": false});
        let path = format!("/service/tickets/{ticket}/notes");
        self.http.send(self.req(Method::POST, &path, true).json(body)).await.map(|_| ())
    }

    async fn count_notes_with(&self, ticket: &str, marker: &str) -> PResult<usize> {
        let notes = self.get_all(&format!("/service/tickets/{ticket}/notes?")).await?;
        Ok(notes.iter().filter(|n| n.get("text").and_then(Value::as_str).is_some_and(|t| t.contains(marker))).count())
    }

    /// Conditions cannot search `initialDescription` (ConnectWise keeps it as the ticket's first
    /// note): the tickets with the summary, newest first, then the marker among their notes.
    async fn find_ticket_with(&self, summary: &str, marker: &str) -> PResult<Option<String>> {
        let summary: String = summary.chars().take(100).collect();
        let conditions = format!("company/id={} AND summary={}", self.company_num()?, cw_string(&summary));
        let path = format!("/service/tickets?conditions={}&orderBy={}&fields=id&pageSize={CANDIDATES}", enc(&conditions), enc("id desc"));
        let v = self.http.send(self.req(Method::GET, &path, false)).await?;
        for id in v.as_array().into_iter().flatten().filter_map(|t| id_str(t.get("id"))) {
            if self.count_notes_with(&id, marker).await? > 0 {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    async fn find_contacts(&self, email: &str) -> PResult<Vec<Contact>> {
        let conditions = format!("company/id={}", self.company_num()?);
        let child = format!("communicationItems/value={} AND communicationItems/communicationType=\"Email\"", cw_string(email));
        let path = format!("/company/contacts?conditions={}&childConditions={}&", enc(&conditions), enc(&child));
        let all = self.get_all(&path).await?.iter().filter_map(contact_from).collect();
        Ok(exact_matches(all, email, &self.cfg.company_id))
    }

    async fn deactivate_contact(&self, contact: &Contact) -> PResult<()> {
        let patch = json!([{"op": "replace", "path": "inactiveFlag", "value": true}]);
        let path = format!("/company/contacts/{}", contact.id);
        self.http.send(self.req(Method::PATCH, &path, true).json(patch)).await.map(|_| ())
    }

    fn stats(&self) -> PsaStats {
        self.http.stats()
    }
}

/// ConnectWise's member API key as a Basic header: `company+publicKey:privateKey`, base64.
fn basic_auth(company: &str, public_key: &str, private_key: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{company}+{public_key}:{private_key}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basic_header_is_company_plus_public_key_colon_private_key() {
        // base64("co+pub:priv"), by hand from RFC 4648's table.
        assert_eq!(basic_auth("co", "pub", "priv"), "Basic Y28rcHViOnByaXY=");
    }

    #[test]
    fn contacts_read_the_email_communication_item() {
        let v = json!({"id": 7, "firstName": "Lee", "lastName": "Cloud", "inactiveFlag": false, "company": {"id": 250},
            "communicationItems": [{"type": {"id": 2, "name": "Direct"}, "value": "555", "communicationType": "Phone"},
                                   {"type": {"id": 1, "name": "Email"}, "value": "lee@contoso.test", "communicationType": "Email"}]});
        let c = contact_from(&v).unwrap();
        assert_eq!((c.id.as_str(), c.email.as_str(), c.company_id.as_str(), c.active), ("7", "lee@contoso.test", "250", true));
        assert_eq!(cw_string("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn the_next_page_is_the_link_headers_rel_next() {
        let h = "<https://x/apis/3.0/company/contacts?pageSize=2&page=1>; rel=\"prev\", <https://x/apis/3.0/company/contacts?pageSize=2&page=3>; rel=\"next\", <https://x/apis/3.0/company/contacts?pageSize=2&page=9>; rel=\"last\"";
        assert_eq!(next_link(h), Some("https://x/apis/3.0/company/contacts?pageSize=2&page=3"));
        assert_eq!(next_link("<https://x/a?page=1>; rel=first, <https://x/a?page=2>; rel=next"), Some("https://x/a?page=2"));
        assert_eq!(next_link("<https://x/a?page=1>; rel=\"prev\", <https://x/a?page=1>; rel=\"first\""), None);
    }
}
