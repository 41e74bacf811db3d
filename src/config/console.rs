//! `[console]`: the web console (`offboard-host serve`): where its staff sign in, and what each
//! may do for which client.
//!
//! ```toml
//! [console]
//! issuer_url = "https://login.microsoftonline.com/<MSP tenant id>/v2.0"   # the MSP's own issuer
//! client_id = "..."
//! client_secret_env = "CONSOLE_OIDC_SECRET"   # the secret itself never goes in this file
//! public_url = "https://offboard.msp.example" # the browser's address; the redirect URI is {public_url}/auth/callback
//! bind = "127.0.0.1:8443"                     # default 127.0.0.1:8080 (loopback: put a TLS proxy in front)
//!
//! [[console.allow]]
//! who = ["alex@msp.example"]                  # the ID token's email, or "sub:<subject>"
//! roles = ["request"]                         # request | approve | admin
//! clients = ["contoso"]                       # tenant names, or "*" for every client
//!
//! [[console.deny]]                            # deny beats allow
//! who = ["alex@msp.example"]
//! roles = ["request"]
//! clients = ["fabrikam"]
//!
//! [[console.api_tokens]]                      # the JSON API's callers (see `api_token`)
//! name = "halo-webhook"
//! sha256 = "<SHA-256 of the token, hex>"
//! clients = ["contoso"]
//! roles = ["request"]
//! ```

use std::net::SocketAddr;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The `[console]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// The OpenID Connect issuer (its discovery document is `{issuer_url}/.well-known/openid-configuration`).
    pub issuer_url: String,
    pub client_id: String,
    /// Name of the environment variable holding the client secret.
    pub client_secret_env: String,
    /// The address browsers use; the redirect URI registered at the issuer is `{public_url}/auth/callback`.
    pub public_url: String,
    #[serde(default = "default_bind")]
    pub bind: SocketAddr,
    #[serde(default)]
    pub allow: Vec<RoleGrant>,
    #[serde(default)]
    pub deny: Vec<RoleGrant>,
    /// The JSON API's tokens (only their hashes), each scoped to clients and roles.
    #[serde(default)]
    pub api_tokens: Vec<super::ApiToken>,
}

fn default_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// What the console lets a person do for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Request offboardings (and see the client's runs).
    Request,
    /// Approve or reject requests.
    Approve,
    /// Administer the client in the console.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Request => "request",
            Role::Approve => "approve",
            Role::Admin => "admin",
        }
    }
}

/// One `[[console.allow]]` or `[[console.deny]]` entry: these people, these roles, these clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    /// E-mail addresses (compared case-insensitively) or `sub:<subject identifier>`.
    pub who: Vec<String>,
    pub roles: Vec<Role>,
    /// Tenant names of `[tenants.<name>]`, or `"*"`.
    pub clients: Vec<String>,
}

impl RoleGrant {
    fn matches(&self, email: Option<&str>, sub: &str, role: Role, client: &str) -> bool {
        let who = self.who.iter().any(|w| match w.strip_prefix("sub:") {
            Some(s) => s == sub,
            None => email.is_some_and(|e| e.trim().eq_ignore_ascii_case(w.trim())),
        });
        who && self.roles.contains(&role) && self.clients.iter().any(|c| c == "*" || c == client)
    }
}

impl ConsoleSettings {
    /// Whether the person may act in `role` for `client`: some allow entry says so and no deny
    /// entry says otherwise (deny beats allow, whatever the order of the entries).
    pub fn may(&self, email: Option<&str>, sub: &str, role: Role, client: &str) -> bool {
        self.allow.iter().any(|g| g.matches(email, sub, role, client)) && !self.deny.iter().any(|g| g.matches(email, sub, role, client))
    }

    /// Read the client secret from the environment variable the section names.
    pub fn client_secret(&self) -> Result<Secret> {
        match std::env::var(&self.client_secret_env) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(Error::Usage(format!(
                "[console] the OIDC client secret is read from the environment variable {}, which is not set",
                self.client_secret_env
            ))),
        }
    }

    /// The redirect URI the console sends and the issuer must have registered, exactly.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url.trim_end_matches('/'))
    }

    /// Off loopback the session cookie must be Secure, which needs an https public URL.
    pub fn check_bind(&self, bind: SocketAddr) -> std::result::Result<(), String> {
        if !bind.ip().is_loopback() && !self.public_url.trim().to_ascii_lowercase().starts_with("https://") {
            return Err(format!("bind {bind} is not loopback, so public_url must be https (the session cookie is Secure only then)"));
        }
        Ok(())
    }

    /// Check what serde cannot: URLs, and that every client named is configured.
    pub(super) fn validate(&self, tenants: &[&str]) -> std::result::Result<(), String> {
        super::secure_url(&self.issuer_url).map_err(|w| format!("issuer_url {w}"))?;
        super::secure_url(&self.public_url).map_err(|w| format!("public_url {w}"))?;
        self.check_bind(self.bind)?;
        for (kind, list) in [("allow", &self.allow), ("deny", &self.deny)] {
            for g in list {
                if g.who.iter().all(|w| w.trim().is_empty()) || g.roles.is_empty() || g.clients.is_empty() {
                    return Err(format!("every [[console.{kind}]] needs who, roles and clients"));
                }
                if let Some(c) = g.clients.iter().find(|c| *c != "*" && !tenants.contains(&c.as_str())) {
                    return Err(format!("[[console.{kind}]] names client '{c}', which is not a configured tenant"));
                }
            }
        }
        self.validate_tokens(tenants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> ConsoleSettings {
        toml::from_str(text).expect("parses")
    }

    const BASE: &str = "issuer_url='https://login.example/v2.0'\nclient_id='c'\nclient_secret_env='S'\npublic_url='https://c.example'\n";

    #[test]
    fn deny_beats_allow_and_roles_and_clients_are_separate() {
        let s = settings(&format!(
            "{BASE}[[allow]]\nwho=['Alex@MSP.test']\nroles=['request','approve']\nclients=['*']\n[[deny]]\nwho=['alex@msp.test']\nroles=['approve']\nclients=['b']\n[[allow]]\nwho=['sub:s-1']\nroles=['admin']\nclients=['a']\n"
        ));
        let alex = Some("alex@msp.test");
        assert!(s.may(alex, "x", Role::Request, "b"));
        assert!(s.may(alex, "x", Role::Approve, "a"));
        assert!(!s.may(alex, "x", Role::Approve, "b"), "denied for b");
        assert!(!s.may(alex, "x", Role::Admin, "a"), "never allowed");
        assert!(s.may(None, "s-1", Role::Admin, "a"));
        assert!(!s.may(None, "s-1", Role::Admin, "b"));
        assert!(!s.may(Some("s-1"), "other", Role::Admin, "a"), "an e-mail is not a subject");
        assert!(!s.may(None, "x", Role::Request, "a"), "no e-mail, no match on e-mail entries");
    }

    #[test]
    fn unknown_keys_bad_urls_and_unknown_clients_are_refused() {
        let e = toml::from_str::<ConsoleSettings>(&format!("{BASE}secret='x'\n")).unwrap_err();
        assert!(e.to_string().contains("unknown field `secret`"), "{e}");
        let e = toml::from_str::<ConsoleSettings>(&format!("{BASE}[[allow]]\nwho=['a']\nroles=['request']\nclients=['*']\nrole='x'\n"))
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `role`"), "{e}");
        let plain = settings(&BASE.replace("https://c.example", "http://c.example"));
        assert!(plain.validate(&["a"]).unwrap_err().contains("public_url"));
        let s = settings(&format!("{BASE}[[allow]]\nwho=['a']\nroles=['request']\nclients=['nope']\n"));
        assert!(s.validate(&["a"]).unwrap_err().contains("'nope'"));
        let local = settings(&BASE.replace("https://c.example", "http://127.0.0.1:8080"));
        assert!(local.validate(&["a"]).is_ok(), "plain http on loopback (the demo)");
        let open = ConsoleSettings { bind: "0.0.0.0:8080".parse().unwrap(), ..local };
        assert!(open.validate(&["a"]).unwrap_err().contains("not loopback"));
        assert_eq!(settings(BASE).bind, default_bind());
        assert!(settings(BASE).bind.ip().is_loopback());
    }
}
