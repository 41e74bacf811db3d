//! PSA ticketing: ConnectWise Manage, Autotask and HaloPSA behind one trait.
//!
//! An MSP's PSA is where its technicians, its client and its auditors look, so every apply run of
//! a tenant with a `[tenants.x.psa]` section leaves a ticket telling the whole story
//! ([`ticketing`]), and `psa::disable_contact(user)` deactivates the leaver's contact
//! ([`actions::DisableContact`]).
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the [`Psa`] trait, its types and [`PsaError`] |
//! | `http.rs` | the shared HTTP client: bounded retries (429 with Retry-After), error bodies, the plan-mode fence |
//! | `connectwise.rs` | ConnectWise Manage REST 3.0 (Basic company+public:private, `clientId`, JSON-Patch) |
//! | `autotask.rs` | Autotask REST v1.0 (zone discovery, the three auth headers, picklists read from the instance) |
//! | `halo.rs` | HaloPSA (auth URL discovery, client-credentials token, JSON-array writes) |
//! | `outbox.rs` | delivery of the journal's outbox: tickets, statuses and notes, de-duplicated by marker |
//! | `ticketing.rs` | what a run writes to its ticket, and when; `ticketing/target.rs`: which ticket (one offboarding, one ticket) |
//! | `actions.rs` | `disable_psa_contact` |
//! | `settings.rs` | the `[tenants.x.psa]` section and building a provider from it; the demo's PSA tenants |

mod access;
pub mod actions;
pub mod autotask;
pub mod connectwise;
#[cfg(test)]
pub(crate) mod fake;
pub mod halo;
pub mod http;
pub mod outbox;
pub mod settings;
pub mod ticketing;

use async_trait::async_trait;

pub use access::{provide_psa, PsaAccess};
pub use http::{HttpSettings, PsaStats};

/// The ticket states a run moves its ticket through. Each PSA maps them to its own status
/// (a name for ConnectWise, a picklist value for Autotask, a status id for Halo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    InProgress,
    Completed,
    NeedsReview,
}

/// The status names a client's PSA uses for [`TicketStatus`] (from the config; defaults below).
#[derive(Debug, Clone)]
pub struct StatusNames {
    pub in_progress: String,
    pub completed: String,
    pub needs_review: String,
}

impl StatusNames {
    pub fn name(&self, s: TicketStatus) -> &str {
        match s {
            TicketStatus::InProgress => &self.in_progress,
            TicketStatus::Completed => &self.completed,
            TicketStatus::NeedsReview => &self.needs_review,
        }
    }
}

/// A contact (ConnectWise, Autotask) or end user (Halo) of the client's company.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub email: String,
    pub company_id: String,
    pub active: bool,
}

/// A ticket to open.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NewTicket {
    /// At most 100 characters (ConnectWise's limit; the others allow more).
    pub summary: String,
    pub details: String,
    /// The departing user's contact, when exactly one active contact matches.
    pub contact_id: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PsaError {
    /// Credentials refused, or the token/zone could not be had. Fix the configuration.
    #[error("{psa}: authentication failed: {message}")]
    Auth { psa: &'static str, message: String },
    /// The PSA answered with an error (after retries where allowed).
    #[error("{psa} {method} {path} failed: HTTP {status}: {message}")]
    Api { psa: &'static str, method: String, path: String, status: u16, message: String },
    /// Down, throttling past our patience, or unreachable. `maybe_applied`: a write may have
    /// landed (a 503 or a timeout after sending).
    #[error("{psa} {method} {path}: unavailable: {message}")]
    Unavailable { psa: &'static str, method: String, path: String, message: String, maybe_applied: bool },
    /// Plan mode: a write was asked for and not sent.
    #[error("{psa} {method} {path} not sent: read-only (plan) mode refuses every write")]
    WriteRefused { psa: &'static str, method: String, path: String },
    /// An answer we cannot use.
    #[error("{psa}: unexpected answer: {message}")]
    Protocol { psa: &'static str, message: String },
}

impl crate::action_error::ProviderError for PsaError {
    fn maybe_applied(&self) -> bool {
        PsaError::maybe_applied(self)
    }
}

impl PsaError {
    pub fn maybe_applied(&self) -> bool {
        matches!(self, PsaError::Unavailable { maybe_applied: true, .. })
    }
    /// The PSA is down or throttling: wait and try again later (the outbox does).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, PsaError::Unavailable { .. })
    }
}

pub type PResult<T> = Result<T, PsaError>;

/// What ticketing and `disable_psa_contact` need from a PSA, one method per call (or short
/// sequence of calls). Ids are strings: ConnectWise and Autotask use integers, Halo too, but the
/// journal and the reports keep them as text.
#[async_trait]
pub trait Psa: Send + Sync {
    /// `connectwise`, `autotask` or `halo`.
    fn kind(&self) -> &'static str;
    /// The client's company as configured (ConnectWise company id, Autotask companyID, Halo client_id).
    fn company_id(&self) -> &str;
    /// Check the credentials (and discover zone / auth URL / picklists) before anything else happens.
    async fn authenticate(&self) -> PResult<()>;
    /// Open a ticket in the client's company; returns its id.
    async fn create_ticket(&self, t: &NewTicket) -> PResult<String>;
    async fn set_status(&self, ticket: &str, status: TicketStatus) -> PResult<()>;
    /// Add an internal note (not visible to the client's end users).
    async fn add_note(&self, ticket: &str, text: &str) -> PResult<()>;
    /// How many notes of the ticket contain `marker` (de-duplication after an unclear failure).
    async fn count_notes_with(&self, ticket: &str, marker: &str) -> PResult<usize>;
    /// The ticket of the client's company with this summary whose description contains `marker`
    /// (the most recent if several): a creation whose answer was lost is found, not made twice.
    async fn find_ticket_with(&self, summary: &str, marker: &str) -> PResult<Option<String>>;
    /// Contacts of the client's company whose e-mail is `email` (case-insensitive), active or not.
    async fn find_contacts(&self, email: &str) -> PResult<Vec<Contact>>;
    async fn deactivate_contact(&self, contact: &Contact) -> PResult<()>;
    /// The opposite of `deactivate_contact` (restore).
    async fn reactivate_contact(&self, contact: &Contact) -> PResult<()>;
    fn stats(&self) -> PsaStats;
}

/// Keep exact e-mail matches in the client's company: the PSAs' searches are broader
/// (Halo's `search` matches substrings; a contact may exist in several companies).
pub(crate) fn exact_matches(contacts: Vec<Contact>, email: &str, company: &str) -> Vec<Contact> {
    contacts.into_iter().filter(|c| c.email.eq_ignore_ascii_case(email) && c.company_id == company).collect()
}

/// A JSON number or string as an id string.
pub(crate) fn id_str(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// What to search a PSA's text fields for to find `marker`: its inside, without the brackets.
/// The three PSAs run on SQL Server, whose `LIKE` reads `[...]` as a character class, so a search
/// for the bracketed marker would match nothing; the caller checks the full marker where the
/// answer carries the text.
pub(crate) fn search_term(marker: &str) -> &str {
    marker.trim_start_matches('[').trim_end_matches(']')
}

/// A numeric id from the configuration or the journal (all three PSAs use integers).
pub(crate) fn numeric(psa: &'static str, what: &str, s: &str) -> PResult<i64> {
    s.parse().map_err(|_| PsaError::Protocol { psa, message: format!("{what} '{s}' is not a {psa} id (a number)") })
}

/// A ticket id must be a positive integer in all three PSAs; it also goes into URL paths.
pub fn valid_ticket_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) && s.bytes().any(|b| b != b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_ids_are_positive_integers() {
        assert!(valid_ticket_id("42"));
        assert!(!valid_ticket_id("0"));
        assert!(!valid_ticket_id("4/2"));
        assert!(!valid_ticket_id(""));
        assert!(!valid_ticket_id("12a"));
    }

    #[test]
    fn exact_matches_filter_email_and_company() {
        let c = |id: &str, email: &str, company: &str| Contact {
            id: id.into(),
            name: id.into(),
            email: email.into(),
            company_id: company.into(),
            active: true,
        };
        let got = exact_matches(
            vec![c("1", "Lee@Contoso.test", "7"), c("2", "lee@contoso.test.evil", "7"), c("3", "lee@contoso.test", "8")],
            "lee@contoso.test",
            "7",
        );
        assert_eq!(got.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["1"]);
    }
}
