//! `offboard-host.toml`: one entry per client tenant.
//!
//! ```toml
//! default_tenant = "contoso"
//!
//! [tenants.contoso]
//! directory = "cloud"                 # cloud | onprem | hybrid-synced | hybrid-unsynced | email-only
//! script = "clients/contoso.rhai"     # optional: the client's own script
//!
//! [tenants.contoso.graph]
//! tenant_id = "6f1c2a9e-..."
//! client_id = "0d3f5b1e-..."
//! client_secret_env = "CONTOSO_GRAPH_SECRET"   # the secret itself never goes in this file
//! # base_url, token_url, timeout_secs, max_retries, batching: optional, for tests and sovereign clouds
//!
//! [tenants.contoso.defaults]          # the client's "org variables", read by the scripts as ORG
//! reset_password = true
//! ```
//!
//! With no configuration file the built-in demo tenant is used ([`Config::demo`]).
//! Unknown keys are rejected, so a typo cannot silently turn a step off.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::psa::settings::{OnSuccess, PsaKind, PsaSettings};
use crate::secret::Secret;

mod api_token;
mod console;
pub use api_token::{ApiToken, MIN_TOKEN_LEN};
pub use console::{ConsoleSettings, Role, RoleGrant};

pub const DEMO_TENANT: &str = "demo";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub default_tenant: Option<String>,
    /// Where named scripts are looked up (relative to the config file).
    #[serde(default)]
    pub scripts_dir: Option<PathBuf>,
    /// An MSP-wide overrides script (functions only), layered on every tenant's script.
    #[serde(default)]
    pub msp_overrides: Option<String>,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantConfig>,
    /// Where the journal lives: a `postgres://` URL for one database shared by workers on
    /// several machines; unset, the local SQLite file `journal.db` in the home directory.
    /// `OFFBOARD_JOURNAL_URL` overrides it.
    #[serde(default)]
    pub journal: Option<String>,
    /// `[console]`: the web console's sign-in and roles (see [`ConsoleSettings`]).
    #[serde(default)]
    pub console: Option<ConsoleSettings>,
    /// The file this was read from; None for the built-in demo configuration.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectoryMode {
    Cloud,
    Onprem,
    HybridSynced,
    HybridUnsynced,
    /// The identity lives in on-premises AD; the mailbox account is cloud-only: mailbox steps only.
    EmailOnly,
}

impl DirectoryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryMode::Cloud => "cloud",
            DirectoryMode::Onprem => "onprem",
            DirectoryMode::HybridSynced => "hybrid-synced",
            DirectoryMode::HybridUnsynced => "hybrid-unsynced",
            DirectoryMode::EmailOnly => "email-only",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    #[serde(default)]
    pub display_name: Option<String>,
    pub directory: DirectoryMode,
    /// The built-in simulated tenant, served by this binary on loopback.
    #[serde(default)]
    pub demo: bool,
    #[serde(default)]
    pub script: Option<String>,
    /// This client's overrides script (functions only: hooks and steps), layered on the script
    /// that runs, after the MSP-wide one.
    #[serde(default)]
    pub overrides: Option<String>,
    #[serde(default)]
    pub graph: Option<GraphSettings>,
    /// Graph's write quota for this client's app, `"WRITES/SECONDS"`; default the documented
    /// `"3000/150"` (3,000 writes per 2 min 30 s per app and tenant). Every run's writes are paced
    /// under it, one budget for all users of a bulk run; set it lower if other apps of yours write
    /// to the tenant with the same registration.
    #[serde(default)]
    pub graph_write_quota: Option<String>,
    /// With a PostgreSQL journal: how many of this client's scheduled runs the workers may carry
    /// out at once (default [`DEFAULT_LANES`]). Each lane is a queue of its own, a user always in
    /// the same one, and paces its writes at `graph_write_quota / lanes`, so all lanes together
    /// stay under the quota on any number of workers. Change it only with no runs queued: a run
    /// queued under the old count and one under the new could share a quota slice.
    #[serde(default)]
    pub lanes: Option<u32>,
    /// On-premises Active Directory over LDAP (see [`AdSettings`]).
    #[serde(default)]
    pub ad: Option<AdSettings>,
    /// Capabilities this client does not grant (e.g. `["graph.licenses"]`). Deny beats allow.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Accounts never offboarded (break-glass accounts, the MSP's own admins): UPN,
    /// sAMAccountName or object id, compared by the object each resolves to, so a differently
    /// typed name of the same account is refused too.
    #[serde(default)]
    pub protected_users: Vec<String>,
    /// Groups whose members are never offboarded (cloud groups by id or name; AD groups by name,
    /// sAMAccountName or DN, nested membership counts).
    #[serde(default)]
    pub protected_groups: Vec<String>,
    /// Entra directory roles (display name or role template id) a leaver may hold without
    /// `--allow-privileged`. Any other active role makes the user privileged.
    #[serde(default)]
    pub allowed_roles: Vec<String>,
    /// The org variables: what the scripts should do for this client.
    #[serde(default)]
    pub defaults: toml::Table,
    /// The client's PSA (ConnectWise Manage, Autotask or HaloPSA): see `psa::settings`.
    #[serde(default)]
    pub psa: Option<PsaSettings>,
    /// `[tenants.<name>.approval]`: runs for this client wait for an approver (see [`ApprovalSettings`]).
    #[serde(default)]
    pub approval: Option<ApprovalSettings>,
}

/// Lanes of a client without `lanes` in its section (see [`TenantConfig::lanes`]).
pub const DEFAULT_LANES: u32 = 4;

impl TenantConfig {
    /// The client's lanes ([`TenantConfig::lanes`]; at least one).
    pub fn lane_count(&self) -> u32 {
        self.lanes.unwrap_or(DEFAULT_LANES).max(1)
    }

    /// The endpoints the file sets (Graph, Exchange, PSA), by their key, to check their scheme.
    fn endpoints(&self) -> Vec<(&'static str, &str)> {
        let g = self.graph.as_ref();
        let p = self.psa.as_ref();
        [
            ("graph.base_url", g.and_then(|g| g.base_url.as_deref())),
            ("graph.token_url", g.and_then(|g| g.token_url.as_deref())),
            ("graph.exchange_url", g.and_then(|g| g.exchange_url.as_deref())),
            ("psa.base_url", p.and_then(|p| p.base_url.as_deref())),
            ("psa.auth_url", p.and_then(|p| p.auth_url.as_deref())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }
}

/// An endpoint must be https, except on loopback (a local simulator or proxy): over plain http
/// the client secret, the bearer tokens and the user data would cross the network readable.
fn secure_url(raw: &str) -> std::result::Result<(), String> {
    let u = url::Url::parse(raw.trim()).map_err(|e| format!("'{raw}' is not a URL ({e})"))?;
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(format!("'{raw}' is plain http to a host that is not loopback: use https")),
        other => Err(format!("'{raw}' has scheme '{other}': use https")),
    }
}

/// `[tenants.<name>.approval]`: nobody is offboarded without one of these people's yes.
///
/// ```toml
/// [tenants.contoso.approval]
/// approvers = ["alice@msp.example", "bob@msp.example"]   # compared case-insensitively
/// expiry_hours = 24                                      # a pending request expires (default 72)
/// email = true          # send the request to the approvers (from the defaults' mail_sender)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalSettings {
    pub approvers: Vec<String>,
    #[serde(default = "default_expiry_hours")]
    pub expiry_hours: u32,
    /// E-mail the request to the approvers that are e-mail addresses (Graph sendMail from the
    /// `mail_sender` in the client's defaults).
    #[serde(default)]
    pub email: bool,
}

fn default_expiry_hours() -> u32 {
    72
}

impl ApprovalSettings {
    pub fn is_approver(&self, name: &str) -> bool {
        self.approvers.iter().any(|a| a.trim().eq_ignore_ascii_case(name.trim()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSettings {
    pub tenant_id: String,
    pub client_id: String,
    /// Name of the environment variable holding the client secret.
    pub client_secret_env: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub token_url: Option<String>,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    #[serde(default)]
    pub max_retries: Option<u32>,
    #[serde(default)]
    pub retry_base_ms: Option<u64>,
    #[serde(default)]
    pub batching: Option<bool>,
    /// Exchange Online endpoint (same app registration and token URL); default
    /// `https://outlook.office365.com`.
    #[serde(default)]
    pub exchange_url: Option<String>,
}

impl GraphSettings {
    pub fn base_url(&self) -> String {
        self.base_url.clone().unwrap_or_else(|| "https://graph.microsoft.com/v1.0".to_string())
    }

    pub fn token_url(&self) -> String {
        self.token_url.clone().unwrap_or_else(|| format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", self.tenant_id))
    }

    /// Read the client secret from the environment variable the config names.
    pub fn client_secret(&self, tenant: &str) -> Result<Secret> {
        match std::env::var(&self.client_secret_env) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(Error::Provider {
                tenant: tenant.to_string(),
                message: format!(
                    "the Graph client secret is read from the environment variable {}, which is not set",
                    self.client_secret_env
                ),
            }),
        }
    }
}

/// `[tenants.<name>.ad]`: the client's on-premises Active Directory.
///
/// ```toml
/// [tenants.contoso.ad]
/// url = "ldaps://dc1.contoso.local:636"      # or "ldap://dc1...:389" with starttls = true
/// bind_dn = "CN=svc-offboard,OU=Service Accounts,DC=contoso,DC=local"
/// password_env = "CONTOSO_AD_PASSWORD"      # the password itself never goes in this file
/// base_dn = "DC=contoso,DC=local"
/// ca_file = "/etc/offboard-host/contoso-ca.pem"   # else the system roots
/// # accept_invalid_certs = true            # lab only: any certificate; logged loudly
/// disabled_ou = "OU=Disabled Users,DC=contoso,DC=local"
/// sync_scope = ["OU=Staff,DC=contoso,DC=local", "OU=Disabled Users,DC=contoso,DC=local"]
/// sync_command = ["/usr/local/bin/delta-sync", "--tenant", "contoso"]   # argv, no shell
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdSettings {
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    pub bind_dn: String,
    /// Name of the environment variable holding the bind password.
    pub password_env: String,
    pub base_dn: String,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub accept_invalid_certs: bool,
    /// Where leavers are moved (`ad::move_to_disabled_ou`).
    #[serde(default)]
    pub disabled_ou: Option<String>,
    /// The OUs Entra Connect / Cloud Sync synchronises; empty: unknown (no scope warning).
    #[serde(default)]
    pub sync_scope: Vec<String>,
    /// Run after on-premises changes to start a delta sync (program and arguments, no shell).
    #[serde(default)]
    pub sync_command: Vec<String>,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl AdSettings {
    /// Read the bind password from the environment variable the config names.
    pub fn password(&self, tenant: &str) -> Result<Secret> {
        match std::env::var(&self.password_env) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(Error::Provider {
                tenant: tenant.to_string(),
                message: format!("the AD bind password is read from the environment variable {}, which is not set", self.password_env),
            }),
        }
    }
}

impl Config {
    /// The configuration used when no file exists: the demo tenant only.
    pub fn demo() -> Config {
        let mut tenants = BTreeMap::new();
        tenants.insert(
            DEMO_TENANT.to_string(),
            TenantConfig {
                display_name: Some("Contoso (simulated)".into()),
                directory: DirectoryMode::Cloud,
                demo: true,
                script: None,
                overrides: None,
                graph: None,
                graph_write_quota: None,
                lanes: None,
                ad: None,
                deny: vec![],
                // The demo tenant's break-glass account: what a client lists here in its own file.
                protected_users: vec![crate::demo::ids::BREAK_GLASS_UPN.into()],
                protected_groups: vec![],
                allowed_roles: vec![],
                defaults: toml::Table::new(),
                psa: None,
                approval: None,
            },
        );
        // One client per simulated PSA, all on the same simulated Microsoft 365 tenant.
        for (name, display, psa) in demo_psa_settings() {
            let t = TenantConfig { display_name: Some(display.into()), psa: Some(psa), ..tenants[DEMO_TENANT].clone() };
            tenants.insert(name.to_string(), t);
        }
        Config {
            default_tenant: Some(DEMO_TENANT.into()),
            scripts_dir: None,
            msp_overrides: None,
            tenants,
            journal: None,
            console: None,
            path: None,
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut cfg: Config =
            toml::from_str(text).map_err(|e| Error::Config { path: path.display().to_string(), message: e.to_string() })?;
        cfg.path = Some(path.to_path_buf());
        cfg.check_defaults(text, path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Every tenant's `[defaults]` against the settings schema, at the line of the bad key: an
    /// unknown key (with the nearest known one) or a value of the wrong type stops here, before
    /// any command runs, rather than leaving a step on.
    fn check_defaults(&self, text: &str, path: &Path) -> Result<()> {
        for (name, t) in &self.tenants {
            for (key, v) in &t.defaults {
                if let Err(message) = crate::settings::toml_setting(key, v) {
                    let at = defaults_line(text, name, key).map(|l| format!(":{l}")).unwrap_or_default();
                    return Err(Error::Config {
                        path: format!("{}{at}", path.display()),
                        message: format!("[tenants.{name}.defaults] {message}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Load `explicit`, else `./offboard-host.toml`, else `$OFFBOARD_HOME/offboard-host.toml`,
    /// else the demo configuration.
    pub fn load(explicit: Option<&Path>, home: &Path) -> Result<Config> {
        let candidates: Vec<PathBuf> = match explicit {
            Some(p) => vec![p.to_path_buf()],
            None => vec![PathBuf::from("offboard-host.toml"), home.join("offboard-host.toml")],
        };
        for path in &candidates {
            match std::fs::read_to_string(path) {
                Ok(text) => return Config::parse(&text, path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => continue,
                Err(e) => return Err(Error::Config { path: path.display().to_string(), message: e.to_string() }),
            }
        }
        Ok(Config::demo())
    }

    fn validate(&self) -> Result<()> {
        let path = self.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        if self.tenants.is_empty() {
            return Err(Error::Config { path, message: "no [tenants.<name>] entry".into() });
        }
        for (name, t) in &self.tenants {
            if !t.demo && t.graph.is_none() && matches!(t.directory, DirectoryMode::Cloud) {
                return Err(Error::Config {
                    path: path.clone(),
                    message: format!("tenant '{name}' has directory = \"cloud\" but no [tenants.{name}.graph] section"),
                });
            }
        }
        for (name, t) in &self.tenants {
            if let Some(problem) = t.psa.as_ref().and_then(|p| p.ticket_url_problem()) {
                return Err(Error::Config { path: path.clone(), message: format!("[tenants.{name}.psa] {problem}") });
            }
            let missing = t.psa.as_ref().filter(|_| !t.demo).map(|p| p.missing()).unwrap_or_default();
            if !missing.is_empty() {
                return Err(Error::Config {
                    path: path.clone(),
                    message: format!("[tenants.{name}.psa] needs {} for this kind of PSA", missing.join(", ")),
                });
            }
            if t.ad.is_none() && matches!(t.directory, DirectoryMode::Onprem) && !t.demo {
                return Err(Error::Config {
                    path: path.clone(),
                    message: format!("tenant '{name}' has directory = \"onprem\" but no [tenants.{name}.ad] section"),
                });
            }
        }
        for (name, t) in &self.tenants {
            for (key, url) in t.endpoints() {
                secure_url(url).map_err(|why| Error::Config { path: path.clone(), message: format!("tenant '{name}': {key} {why}") })?;
            }
        }
        for (name, t) in &self.tenants {
            if t.approval.as_ref().is_some_and(|a| a.approvers.iter().all(|x| x.trim().is_empty())) {
                return Err(Error::Config {
                    path: path.clone(),
                    message: format!("[tenants.{name}.approval] needs at least one approver"),
                });
            }
        }
        if let Some(c) = &self.console {
            let names: Vec<&str> = self.tenants.keys().map(String::as_str).collect();
            c.validate(&names).map_err(|m| Error::Config { path: path.clone(), message: format!("[console] {m}") })?;
        }
        if let Some(d) = &self.default_tenant {
            if !self.tenants.contains_key(d) {
                return Err(Error::Config { path, message: format!("default_tenant '{d}' is not a configured tenant") });
            }
        }
        Ok(())
    }

    pub fn is_demo_only(&self) -> bool {
        self.path.is_none()
    }

    /// Pick the tenant: the one named, else the default, else the only one.
    pub fn tenant(&self, name: Option<&str>) -> Result<(&str, &TenantConfig)> {
        let known = || self.tenants.keys().cloned().collect::<Vec<_>>().join(", ");
        let wanted = match name.or(self.default_tenant.as_deref()) {
            Some(n) => n.to_string(),
            None if self.tenants.len() == 1 => self.tenants.keys().next().cloned().unwrap_or_default(),
            None => return Err(Error::Usage(format!("several tenants are configured ({}); choose one with --tenant", known()))),
        };
        self.tenants
            .get_key_value(&wanted)
            .map(|(k, v)| (k.as_str(), v))
            .ok_or_else(|| Error::Usage(format!("unknown tenant '{wanted}' (configured: {})", known())))
    }

    /// The directory named scripts are looked up in.
    pub fn scripts_dir(&self) -> PathBuf {
        let base = self.path.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf).unwrap_or_default();
        match &self.scripts_dir {
            Some(d) => base.join(d),
            None => PathBuf::from("scripts"),
        }
    }
}

/// The demo's PSA tenants: one per PSA, all on the simulated Microsoft 365 tenant. The
/// simulators' credentials and ids are in `demo::psa`; `secret_env` names a variable that, when
/// set, replaces the demo secret (to try bad credentials).
pub(crate) fn demo_psa_settings() -> Vec<(&'static str, &'static str, PsaSettings)> {
    use crate::demo::psa as sim;
    let base = |kind, company: &str| PsaSettings {
        kind,
        company: company.into(),
        secret_env: sim::SECRET_ENV.into(),
        on_success: OnSuccess::Close,
        base_url: None,
        auth_url: None,
        login_company: None,
        public_key: None,
        client_id: None,
        api_user: None,
        integration_code: None,
        tenant: None,
        board: None,
        queue_id: None,
        tickettype_id: None,
        status_in_progress: None,
        status_completed: None,
        status_review: None,
        timeout_secs: None,
        max_retries: None,
        retry_base_ms: None,
        // The simulators serve the PSAs' APIs, not their web pages: no address to link.
        ticket_url: None,
    };
    let cw = PsaSettings {
        login_company: Some(sim::CW_LOGIN_COMPANY.into()),
        public_key: Some(sim::CW_PUBLIC_KEY.into()),
        client_id: Some(sim::CW_CLIENT_ID.into()),
        board: Some("Service Desk".into()),
        ..base(PsaKind::Connectwise, &sim::CW_COMPANY.to_string())
    };
    let at = PsaSettings {
        api_user: Some(sim::AT_API_USER.into()),
        integration_code: Some(sim::AT_INTEGRATION_CODE.into()),
        ..base(PsaKind::Autotask, &sim::AT_COMPANY.to_string())
    };
    let halo = PsaSettings { client_id: Some(sim::HALO_CLIENT_ID.into()), ..base(PsaKind::Halo, &sim::HALO_CLIENT.to_string()) };
    vec![
        ("demo-cw", "Contoso (simulated) with ConnectWise Manage", cw),
        ("demo-autotask", "Contoso (simulated) with Autotask", at),
        ("demo-halo", "Contoso (simulated) with HaloPSA", halo),
    ]
}

/// The line (from 1) of `key = ...` in `[tenants.<tenant>.defaults]`, found by reading the lines
/// (the `toml` table keeps no positions). Inline tables (`defaults = { ... }`) give none.
fn defaults_line(text: &str, tenant: &str, key: &str) -> Option<usize> {
    let header = |l: &str| {
        let inner = l.trim().strip_prefix('[')?.strip_suffix(']')?;
        Some(inner.split('.').map(|p| p.trim().trim_matches('"').to_string()).collect::<Vec<_>>())
    };
    let want = ["tenants".to_string(), tenant.to_string(), "defaults".to_string()];
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        if let Some(h) = header(line) {
            inside = h == want;
        } else if let Some((k, _)) = line.split_once('=').filter(|_| inside) {
            if k.trim().trim_matches('"') == key {
                return Some(i + 1);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_keys_and_missing_graph() {
        let p = Path::new("x.toml");
        let e = Config::parse("[tenants.a]\ndirectory='cloud'\ndemo=true\nreset_pasword=true\n", p).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = Config::parse("[tenants.a]\ndirectory='cloud'\n", p).unwrap_err();
        assert!(e.to_string().contains("no [tenants.a.graph]"), "{e}");
    }

    #[test]
    fn the_journal_key_names_the_journal_database() {
        let p = Path::new("x.toml");
        let c = Config::parse("journal = 'postgres://db/offboard'\n[tenants.a]\ndirectory='cloud'\ndemo=true\n", p).unwrap();
        assert_eq!(c.journal.as_deref(), Some("postgres://db/offboard"));
        assert_eq!(Config::demo().journal, None, "SQLite by default");
    }

    #[test]
    fn psa_sections_are_checked_and_the_demo_has_one_tenant_per_psa() {
        let p = Path::new("x.toml");
        let base = "[tenants.a]\ndirectory='cloud'\n[tenants.a.graph]\ntenant_id='t'\nclient_id='c'\nclient_secret_env='S'\n";
        let e = Config::parse(&format!("{base}[tenants.a.psa]\nkind='connectwise'\ncompany='1'\nsecret_env='P'\n"), p).unwrap_err();
        assert!(e.to_string().contains("needs base_url, login_company, public_key, client_id"), "{e}");
        let e = Config::parse(&format!("{base}[tenants.a.psa]\nkind='halo'\ncompany='1'\nsecret_env='P'\nsecret='x'\n"), p).unwrap_err();
        assert!(e.to_string().contains("unknown field `secret`"), "{e}");
        let ok = format!("{base}[tenants.a.psa]\nkind='autotask'\ncompany='1'\nsecret_env='P'\napi_user='u@x'\nintegration_code='I'\non_success='review'\n");
        let c = Config::parse(&ok, p).unwrap();
        assert_eq!(c.tenants["a"].psa.as_ref().unwrap().on_success, OnSuccess::Review);
        let demo = Config::demo();
        assert!(demo.tenants["demo"].psa.is_none());
        for t in ["demo-cw", "demo-autotask", "demo-halo"] {
            assert!(demo.tenants[t].demo && demo.tenants[t].psa.is_some(), "{t}");
        }
    }

    #[test]
    fn endpoints_off_loopback_must_be_https() {
        for (url, ok) in [
            ("https://graph.example/v1.0", true),
            ("http://127.0.0.1:8080/v1.0", true),
            ("http://localhost:9/x", true),
            ("http://[::1]:9/x", true),
            ("http://graph.example/v1.0", false),
            ("http://10.0.0.5/v1.0", false),
            ("ftp://graph.example/", false),
        ] {
            assert_eq!(secure_url(url).is_ok(), ok, "{url}");
        }
    }

    #[test]
    fn ad_section_parses_and_onprem_needs_it() {
        let p = Path::new("x.toml");
        let e = Config::parse("[tenants.a]\ndirectory='onprem'\n", p).unwrap_err();
        assert!(e.to_string().contains("no [tenants.a.ad]"), "{e}");
        let c = Config::parse(
            "[tenants.a]\ndirectory='hybrid-synced'\ndemo=true\n[tenants.a.ad]\nurl='ldaps://dc:636'\nbind_dn='CN=svc'\n\
             password_env='X'\nbase_dn='DC=x'\nsync_scope=['OU=Staff,DC=x']\nsync_command=['/bin/true']\n",
            p,
        )
        .unwrap();
        let ad = c.tenants["a"].ad.as_ref().unwrap();
        assert_eq!(ad.sync_scope, vec!["OU=Staff,DC=x"]);
        assert!(!ad.accept_invalid_certs && !ad.starttls);
        let e = Config::parse(
            "[tenants.a]\ndirectory='onprem'\n[tenants.a.ad]\nurl='x'\nbind_dn='b'\npassword_env='X'\nbase_dn='d'\npasword='oops'\n",
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        assert_eq!(
            Config::parse("[tenants.a]\ndirectory='email-only'\ndemo=true\n", p).unwrap().tenants["a"].directory.as_str(),
            "email-only"
        );
    }

    #[test]
    fn defaults_are_checked_at_their_line() {
        let p = Path::new("x.toml");
        let text = "[tenants.a]\ndirectory='cloud'\ndemo=true\n\n[tenants.a.defaults]\n# licences\nreset_password = false\nremove_licences = false\n";
        let e = Config::parse(text, p).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let m = e.to_string();
        assert!(
            m.starts_with("configuration x.toml:8: [tenants.a.defaults] unknown setting 'remove_licences'; did you mean remove_licenses?"),
            "{m}"
        );
        let e = Config::parse(&text.replace("remove_licences = false", "shared_wait_secs = \"5m\""), p).unwrap_err();
        assert!(
            e.to_string().contains("x.toml:8: [tenants.a.defaults] setting 'shared_wait_secs' must be an integer, not a string"),
            "{e}"
        );
        assert!(Config::parse(&text.replace("remove_licences", "remove_licenses"), p).is_ok());
    }

    #[test]
    fn picks_tenants() {
        let p = Path::new("x.toml");
        let c = Config::parse("[tenants.a]\ndirectory='cloud'\ndemo=true\n[tenants.b]\ndirectory='cloud'\ndemo=true\n", p).unwrap();
        assert!(c.tenant(None).is_err());
        assert_eq!(c.tenant(Some("b")).unwrap().0, "b");
        assert!(c.tenant(Some("zz")).unwrap_err().to_string().contains("configured: a, b"));
    }
}
