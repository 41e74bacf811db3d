//! The `[tenants.<name>.psa]` section, and building a [`Psa`] from it.
//!
//! ```toml
//! [tenants.contoso.psa]
//! kind = "connectwise"          # connectwise | autotask | halo
//! company = "250"               # the client's company (CW company id, Autotask companyID, Halo client_id)
//! secret_env = "CONTOSO_PSA_SECRET"  # CW private key / Autotask secret / Halo client secret: read from this variable
//! on_success = "close"          # close | review: what a successful run does with its ticket
//! # ConnectWise: base_url = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0",
//! #              login_company, public_key, client_id (the clientId GUID), board
//! # Autotask:    base_url (zone discovery, default https://webservices2.autotask.net/atservicesrest),
//! #              api_user, integration_code, queue_id
//! # Halo:        base_url = "https://contoso.halopsa.com", client_id, auth_url, tenant, tickettype_id
//! # status_in_progress, status_completed, status_review: the PSA's status names (defaults below)
//! # timeout_secs, max_retries, retry_base_ms
//! # ticket_url = "https://na.myconnectwise.net/…?service_recid={ticket}": the console links a
//! #   run's ticket there; the MSP's own address form, as each PSA's web address differs per
//! #   instance and version. Without it the console shows the number and the PSA's name.
//! ```

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::autotask::{AtConfig, Autotask};
use super::connectwise::{ConnectWise, CwConfig};
use super::halo::{Halo, HaloConfig};
use super::{HttpSettings, Psa, StatusNames};
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PsaKind {
    Connectwise,
    Autotask,
    Halo,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnSuccess {
    #[default]
    Close,
    Review,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsaSettings {
    pub kind: PsaKind,
    pub company: String,
    /// Environment variable holding the secret (never the secret itself).
    pub secret_env: String,
    #[serde(default)]
    pub on_success: OnSuccess,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub auth_url: Option<String>,
    #[serde(default)]
    pub login_company: Option<String>,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub api_user: Option<String>,
    #[serde(default)]
    pub integration_code: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub board: Option<String>,
    #[serde(default)]
    pub queue_id: Option<i64>,
    #[serde(default)]
    pub tickettype_id: Option<i64>,
    #[serde(default)]
    pub status_in_progress: Option<String>,
    #[serde(default)]
    pub status_completed: Option<String>,
    #[serde(default)]
    pub status_review: Option<String>,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    #[serde(default)]
    pub max_retries: Option<u32>,
    #[serde(default)]
    pub retry_base_ms: Option<u64>,
    /// The address of a ticket in the PSA's web interface, `{ticket}` standing for its number
    /// (checked when the configuration is loaded: [`PsaSettings::ticket_url_problem`]).
    #[serde(default)]
    pub ticket_url: Option<String>,
}

impl PsaKind {
    pub fn name(self) -> &'static str {
        match self {
            PsaKind::Connectwise => super::connectwise::NAME,
            PsaKind::Autotask => super::autotask::NAME,
            PsaKind::Halo => super::halo::NAME,
        }
    }
    /// As in the configuration: `connectwise`, `autotask`, `halo`.
    pub fn name_lower(self) -> &'static str {
        match self {
            PsaKind::Connectwise => "connectwise",
            PsaKind::Autotask => "autotask",
            PsaKind::Halo => "halo",
        }
    }
    /// The keys this kind needs besides `kind`, `company` and `secret_env`.
    fn required(self) -> &'static [&'static str] {
        match self {
            PsaKind::Connectwise => &["base_url", "login_company", "public_key", "client_id"],
            PsaKind::Autotask => &["api_user", "integration_code"],
            PsaKind::Halo => &["base_url", "client_id"],
        }
    }
    /// Default status names: each PSA's out-of-the-box "done" status, and a review status the
    /// MSP is expected to have (set `status_review` otherwise).
    fn default_statuses(self) -> StatusNames {
        let completed = match self {
            PsaKind::Connectwise => "Completed",
            PsaKind::Autotask => "Complete",
            PsaKind::Halo => "Closed",
        };
        StatusNames { in_progress: "In Progress".into(), completed: completed.into(), needs_review: "Needs Review".into() }
    }
}

/// Values that differ from the file for the built-in demo: where the simulator listens and its
/// credentials.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub base_url: Option<String>,
    pub secret: Option<Secret>,
    pub retry_base: Option<Duration>,
}

impl PsaSettings {
    /// Missing keys for this kind (checked when the configuration is loaded).
    pub fn missing(&self) -> Vec<&'static str> {
        let has = |k: &str| match k {
            "base_url" => self.base_url.is_some(),
            "login_company" => self.login_company.is_some(),
            "public_key" => self.public_key.is_some(),
            "client_id" => self.client_id.is_some(),
            "api_user" => self.api_user.is_some(),
            "integration_code" => self.integration_code.is_some(),
            _ => true,
        };
        self.kind.required().iter().copied().filter(|k| !has(k)).collect()
    }

    /// What is wrong with `ticket_url`, if anything: an https address (http on loopback only)
    /// with `{ticket}` in it once. A link the console renders must not point anywhere else.
    pub fn ticket_url_problem(&self) -> Option<String> {
        let t = self.ticket_url.as_deref()?;
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"].iter().any(|p| t.starts_with(p));
        if !(t.starts_with("https://") || loopback) {
            return Some(format!("ticket_url {t:?} is not an https:// address"));
        }
        (t.matches("{ticket}").count() != 1).then(|| format!("ticket_url {t:?} must contain {{ticket}} once"))
    }

    /// The ticket's address in the PSA's web interface, when `ticket_url` is set (and valid).
    pub fn ticket_link(&self, ticket: &str) -> Option<String> {
        if self.ticket_url_problem().is_some() {
            return None;
        }
        let number: String = url::form_urlencoded::byte_serialize(ticket.as_bytes()).collect();
        self.ticket_url.as_deref().map(|t| t.replace("{ticket}", &number))
    }

    /// Read the secret from the environment variable the file names.
    pub fn secret(&self) -> Result<Secret, String> {
        match std::env::var(&self.secret_env) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => {
                Err(format!("the {} secret is read from the environment variable {}, which is not set", self.kind.name(), self.secret_env))
            }
        }
    }

    /// Build the provider. `read_only` (plan mode) makes it refuse every write locally.
    pub fn build(&self, read_only: bool, o: Overrides) -> Result<Arc<dyn Psa>, String> {
        let secret = match o.secret {
            Some(s) => s,
            None => self.secret()?,
        };
        let d = HttpSettings::default();
        let http = HttpSettings {
            timeout: self.timeout_secs.map(Duration::from_secs).unwrap_or(d.timeout),
            max_retries: self.max_retries.unwrap_or(d.max_retries),
            retry_base: o.retry_base.or(self.retry_base_ms.map(Duration::from_millis)).unwrap_or(d.retry_base),
            max_total_wait: d.max_total_wait,
            read_only,
        };
        let mut statuses = self.kind.default_statuses();
        for (slot, v) in [
            (&mut statuses.in_progress, &self.status_in_progress),
            (&mut statuses.completed, &self.status_completed),
            (&mut statuses.needs_review, &self.status_review),
        ] {
            if let Some(v) = v {
                *slot = v.clone();
            }
        }
        let base = o.base_url.or(self.base_url.clone());
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let psa: Arc<dyn Psa> = match self.kind {
            PsaKind::Connectwise => Arc::new(
                ConnectWise::new(CwConfig {
                    base_url: s(&base),
                    login_company: s(&self.login_company),
                    public_key: s(&self.public_key),
                    private_key: secret,
                    client_id: s(&self.client_id),
                    company_id: self.company.clone(),
                    board: self.board.clone(),
                    statuses,
                    http,
                })
                .map_err(|e| e.to_string())?,
            ),
            PsaKind::Autotask => Arc::new(
                Autotask::new(AtConfig {
                    discovery_url: base.unwrap_or_else(|| "https://webservices2.autotask.net/atservicesrest".into()),
                    api_user: s(&self.api_user),
                    integration_code: s(&self.integration_code),
                    secret,
                    company_id: self.company.clone(),
                    queue_id: self.queue_id,
                    statuses,
                    http,
                })
                .map_err(|e| e.to_string())?,
            ),
            PsaKind::Halo => Arc::new(
                Halo::new(HaloConfig {
                    base_url: s(&base),
                    auth_url: self.auth_url.clone(),
                    client_id: s(&self.client_id),
                    client_secret: secret,
                    tenant: self.tenant.clone(),
                    company_id: self.company.clone(),
                    tickettype_id: self.tickettype_id,
                    statuses,
                    http,
                })
                .map_err(|e| e.to_string())?,
            ),
        };
        Ok(psa)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_link_is_built_only_from_a_valid_template() {
        let with = |t: Option<&str>| PsaSettings {
            ticket_url: t.map(str::to_string),
            ..toml::from_str("kind = \"halo\"\ncompany = \"1\"\nsecret_env = \"X\"").unwrap()
        };
        let s = with(Some("https://psa.example/ticket?id={ticket}"));
        assert_eq!((s.ticket_url_problem(), s.ticket_link("42").as_deref()), (None, Some("https://psa.example/ticket?id=42")));
        assert_eq!(s.ticket_link("4&x=<y>").as_deref(), Some("https://psa.example/ticket?id=4%26x%3D%3Cy%3E"), "the number is encoded");
        assert_eq!(with(None).ticket_link("42"), None);
        for bad in
            ["javascript:alert(1)//{ticket}", "http://psa.example/{ticket}", "https://psa.example/ticket", "https://x/{ticket}/{ticket}"]
        {
            let s = with(Some(bad));
            assert!(s.ticket_url_problem().is_some() && s.ticket_link("42").is_none(), "{bad}");
        }
        assert_eq!(with(Some("http://127.0.0.1:9/t/{ticket}")).ticket_link("7").as_deref(), Some("http://127.0.0.1:9/t/7"));
    }
}
