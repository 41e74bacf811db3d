//! On-premises Active Directory over LDAP: the provider trait, its ldap3 implementation and the
//! actions.
//!
//! [`OnPremDirectory`] is what the actions and the `ad::` script functions need from AD, one
//! method per LDAP operation; [`LdapDirectory`] implements it with `ldap3` over LDAPS or StartTLS
//! (offboarding-anchors b.0, F6, F14–F19, F8/F10-hybrid).
//!
//! Injection (style-and-reliability B6): scripts never pass a filter, a DN or an attribute name.
//! They pass a user name (validated by [`crate::input::validate_ad_user`]) or a handle the
//! directory returned. Every filter value goes through [`ldap3::ldap_escape`] (RFC 4515) or, for
//! binary values, [`escape_bytes`]; every RDN we build goes through [`ldap3::dn_escape`]
//! (RFC 4514); attributes we write are the closed set [`AdAttr`].
//!
//! Password writes need an encrypted connection (MS-ADTS 3.1.1.3.1.5.1): over plain `ldap://`
//! without StartTLS, [`LdapDirectory::set_password`] refuses before anything is sent, rather than
//! leaving it to AD's `WILL_NOT_PERFORM (53)` after the password has crossed the wire.

mod access;
pub mod actions;
pub mod model;
pub mod protect;
mod raw;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ldap3::{ldap_escape, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use tokio::sync::OnceCell;

use crate::graph::GraphStats;
use crate::secret::Secret;
pub use access::{provide_ad, AdAccess, AdUsers};
pub use model::{AdGroup, AdUser, ExchangeAttrs, GroupScope};
pub use protect::{AdGroupRef, Finding, Severity};
pub use raw::{under_base, RawEntry, RawMod, RawOp, GUARD_ATTRS};

#[derive(Debug, thiserror::Error)]
pub enum AdError {
    #[error("LDAP: {0}")]
    Ldap(#[from] ldap3::LdapError),
    /// Refused by us before sending (clear-text password, plan mode, bad input).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Other(String),
}

impl AdError {
    /// The LDAP result code, when the server answered with one.
    pub fn rc(&self) -> Option<u32> {
        match self {
            AdError::Ldap(ldap3::LdapError::LdapResult { result }) => Some(result.rc),
            _ => None,
        }
    }
}

impl From<AdError> for crate::action_error::ActionError {
    fn from(e: AdError) -> Self {
        crate::action_error::ActionError::Other(format!("AD: {e}"))
    }
}

pub type AdResult<T> = Result<T, AdError>;

/// The attributes our writes touch: a closed set, so no attribute name comes from a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdAttr {
    EmployeeId,
    EmployeeNumber,
    Manager,
    HideFromAddressLists,
    RemoteRecipientType,
    RecipientTypeDetails,
}

impl AdAttr {
    pub fn name(self) -> &'static str {
        match self {
            AdAttr::EmployeeId => "employeeID",
            AdAttr::EmployeeNumber => "employeeNumber",
            AdAttr::Manager => "manager",
            AdAttr::HideFromAddressLists => "msExchHideFromAddressLists",
            AdAttr::RemoteRecipientType => "msExchRemoteRecipientType",
            AdAttr::RecipientTypeDetails => "msExchRecipientTypeDetails",
        }
    }
}

/// The client's AD conventions the actions need (from `[tenants.x.ad]`).
#[derive(Debug, Clone, Default)]
pub struct AdPolicy {
    pub disabled_ou: Option<String>,
    pub sync_scope: Vec<String>,
    pub sync_command: Vec<String>,
}

#[async_trait]
pub trait OnPremDirectory: Send + Sync {
    /// Find a user by UPN, sAMAccountName or mail: one subtree search under the base DN with
    /// `(&(objectClass=user)(|(userPrincipalName=v)(sAMAccountName=v)(mail=v)))`,
    /// `v` escaped (RFC 4515). `None`: no such user; two matches are an error.
    async fn find_user(&self, name: &str) -> AdResult<Option<AdUser>>;
    /// Re-read a user by objectGUID (`(objectGUID=\xx...)`): stable across moves and renames.
    async fn user_by_guid(&self, guid: &str) -> AdResult<Option<AdUser>>;
    /// Every group the user is a member of, directly or through nested groups
    /// (`member:1.2.840.113556.1.4.1941:=<dn>`, LDAP_MATCHING_RULE_IN_CHAIN), with their SIDs: what
    /// the protected-account check reads.
    async fn transitive_groups(&self, user_dn: &str) -> AdResult<Vec<AdGroupRef>>;
    /// The objectGUID of the account this connection is bound as (`None`: not found in the base DN).
    async fn bind_account(&self) -> AdResult<Option<String>>;
    /// The account whose ms-DS-ConsistencyGuid, or else objectGUID, is these 16 bytes (the bytes
    /// behind a cloud user's `onPremisesImmutableId`).
    async fn user_by_anchor(&self, anchor: &[u8; 16]) -> AdResult<Option<AdUser>>;
    /// Does the schema define the Exchange attributes (msExchHideFromAddressLists,
    /// msExchRemoteRecipientType, msExchRecipientTypeDetails)? Read once.
    async fn has_exchange_schema(&self) -> AdResult<bool>;
    /// `modify dn: replace userAccountControl = uac`
    async fn set_user_account_control(&self, dn: &str, uac: u32) -> AdResult<()>;
    /// `modify dn: replace unicodePwd = UTF-16LE("\"" + password + "\"")` (an admin reset: one
    /// Replace). Refused unless the connection is encrypted.
    async fn set_password(&self, dn: &str, password: &Secret) -> AdResult<()>;
    /// `modifyDN dn: newrdn CN=<dn_escape(cn)>, deleteoldrdn, newSuperior new_parent`; returns
    /// the new DN.
    async fn move_user(&self, dn: &str, cn: &str, new_parent: &str) -> AdResult<String>;
    /// `modify group_dn: delete member = user_dn` (memberOf is a read-only back-link).
    async fn remove_group_member(&self, group_dn: &str, user_dn: &str) -> AdResult<()>;
    /// `modify group_dn: add member = user_dn` (restore).
    async fn add_group_member(&self, group_dn: &str, user_dn: &str) -> AdResult<()>;
    /// `modify dn: delete attr` for each attribute (every value).
    async fn clear_attributes(&self, dn: &str, attrs: &[AdAttr]) -> AdResult<()>;
    /// `modify dn: replace attr = value` for each pair, in one modify.
    async fn replace_attributes(&self, dn: &str, values: &[(AdAttr, String)]) -> AdResult<()>;
    /// A script's own search (`ad::search`): subtree under `base` (empty: the base DN), which
    /// must be inside the client's base DN; `filter` as given (build it with `ad::escape_filter`).
    async fn raw_search(&self, _base: &str, _filter: &str, _attrs: &[String]) -> AdResult<Vec<RawEntry>> {
        Err(AdError::Other("generic LDAP searches are not supported by this directory".into()))
    }
    /// A script's own modify (`ad::modify`), refused outside the base DN, on objects AD guards
    /// and for passwords (see `raw.rs`).
    async fn raw_modify(&self, _dn: &str, _changes: &[RawMod]) -> AdResult<()> {
        Err(AdError::Other("generic LDAP writes are not supported by this directory".into()))
    }
    /// LDAPS or StartTLS: password writes are possible.
    fn encrypted(&self) -> bool;
    fn policy(&self) -> &AdPolicy;
    /// LDAP operations (as `http_requests`/`operations`) and writes sent.
    fn stats(&self) -> GraphStats;
}

/// RFC 4515 escaping of a binary value (objectGUID, objectSid): every byte as `\xx`.
pub fn escape_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("\\{x:02x}")).collect()
}

/// The filter [`OnPremDirectory::find_user`] sends for `name`. Every `user` object, computers
/// and managed service accounts included (they are `user` subclasses): they must be found so the
/// protected-account check can refuse them by name, not pass as "no such user".
pub fn user_filter(name: &str) -> String {
    let v = ldap_escape(name);
    format!("(&(objectClass=user)(|(userPrincipalName={v})(sAMAccountName={v})(mail={v})))")
}

const USER_ATTRS: &[&str] = &[
    "objectGUID",
    "objectSid",
    "distinguishedName",
    "cn",
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "displayName",
    "userAccountControl",
    "primaryGroupID",
    "memberOf",
    "manager",
    "employeeID",
    "employeeNumber",
    "pwdLastSet",
    "adminCount",
    "objectClass",
    "mS-DS-ConsistencyGuid",
];
const EXCHANGE_ATTRS: &[&str] = &["msExchHideFromAddressLists", "msExchRemoteRecipientType", "msExchRecipientTypeDetails", "mailNickname"];

/// How to reach AD (built from `[tenants.x.ad]` by the CLI, or directly by tests).
#[derive(Clone)]
pub struct LdapConfig {
    pub url: String,
    pub starttls: bool,
    pub bind_dn: String,
    pub password: Secret,
    pub base_dn: String,
    pub ca_file: Option<PathBuf>,
    pub accept_invalid_certs: bool,
    /// Plan mode: every write is refused locally.
    pub read_only: bool,
    pub timeout: Duration,
    pub policy: AdPolicy,
}

pub struct LdapDirectory {
    ldap: ldap3::Ldap,
    base_dn: String,
    /// As configured (a DN, a UPN or DOMAIN\\name): the account that must never be offboarded.
    bind_dn: String,
    encrypted: bool,
    read_only: bool,
    timeout: Duration,
    policy: AdPolicy,
    exchange_schema: OnceCell<bool>,
    requests: AtomicU64,
    writes: AtomicU64,
}

fn tls_config(ca_file: &std::path::Path) -> AdResult<rustls::ClientConfig> {
    let pem = std::fs::read(ca_file).map_err(|e| AdError::Other(format!("reading CA file {}: {e}", ca_file.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| AdError::Other(format!("CA file {}: {e}", ca_file.display())))?;
        roots.add(cert).map_err(|e| AdError::Other(format!("CA file {}: {e}", ca_file.display())))?;
    }
    if roots.is_empty() {
        return Err(AdError::Other(format!("CA file {} holds no PEM certificate", ca_file.display())));
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| AdError::Other(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(cfg)
}

fn attr<'a>(e: &'a SearchEntry, name: &str) -> Option<&'a Vec<String>> {
    e.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn first(e: &SearchEntry, name: &str) -> Option<String> {
    attr(e, name).and_then(|v| v.first().cloned())
}

/// A binary attribute: ldap3 puts values that are not UTF-8 in `bin_attrs`, the rest in `attrs`.
fn first_bin(e: &SearchEntry, name: &str) -> Option<Vec<u8>> {
    e.bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first().cloned())
        .or_else(|| first(e, name).map(String::into_bytes))
}

impl LdapDirectory {
    /// Connect, upgrade with StartTLS if configured, and bind. Fails early on a bad URL, an
    /// untrusted certificate or wrong credentials.
    pub async fn connect(cfg: LdapConfig) -> AdResult<Arc<LdapDirectory>> {
        let url = url::Url::parse(&cfg.url).map_err(|e| AdError::Other(format!("AD url '{}': {e}", cfg.url)))?;
        let encrypted = match (url.scheme(), cfg.starttls) {
            ("ldaps", _) => true,
            ("ldap", true) => true,
            ("ldap", false) => {
                tracing::warn!(
                    "AD connection {} is not encrypted (no ldaps://, no starttls): the bind password crosses in clear and password resets will be refused",
                    cfg.url
                );
                false
            }
            (s, _) => return Err(AdError::Other(format!("AD url '{}': scheme {s} is not ldaps:// or ldap://", cfg.url))),
        };
        let mut settings = LdapConnSettings::new().set_conn_timeout(cfg.timeout).set_starttls(cfg.starttls && url.scheme() == "ldap");
        if cfg.accept_invalid_certs {
            tracing::warn!(
                "AD: accept_invalid_certs = true: the server certificate of {} is NOT verified; anyone on the path can read the bind password and the reset passwords (lab use only)",
                cfg.url
            );
            settings = settings.set_no_tls_verify(true);
        } else if let Some(ca) = &cfg.ca_file {
            settings = settings.set_config(Arc::new(tls_config(ca)?));
        }
        let (conn, mut ldap) = LdapConnAsync::from_url_with_settings(settings, &url).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::warn!("AD connection closed: {e}");
            }
        });
        ldap.with_timeout(cfg.timeout).simple_bind(&cfg.bind_dn, cfg.password.expose()).await?.success()?;
        Ok(Arc::new(LdapDirectory {
            ldap,
            base_dn: cfg.base_dn,
            bind_dn: cfg.bind_dn,
            encrypted,
            read_only: cfg.read_only,
            timeout: cfg.timeout,
            policy: cfg.policy,
            exchange_schema: OnceCell::new(),
            requests: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }))
    }

    fn handle(&self) -> ldap3::Ldap {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut l = self.ldap.clone();
        l.with_timeout(self.timeout);
        l
    }

    fn write_handle(&self, what: &str) -> AdResult<ldap3::Ldap> {
        if self.read_only {
            return Err(AdError::Refused(format!("{what}: refused, this AD connection is read-only (plan)")));
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(self.handle())
    }

    async fn search(&self, base: &str, scope: Scope, filter: &str, attrs: &[&str]) -> AdResult<Vec<SearchEntry>> {
        let (entries, _) = self.handle().search(base, scope, filter, attrs.to_vec()).await?.success()?;
        // Search references (referrals to other partitions) are not entries.
        Ok(entries.into_iter().filter(|e| !e.is_ref() && !e.is_intermediate()).map(SearchEntry::construct).collect())
    }

    async fn find_one(&self, filter: &str, what: &str) -> AdResult<Option<AdUser>> {
        let exchange = self.has_exchange_schema().await?;
        let mut attrs: Vec<&str> = USER_ATTRS.to_vec();
        if exchange {
            attrs.extend_from_slice(EXCHANGE_ATTRS);
        }
        let mut found = self.search(&self.base_dn, Scope::Subtree, filter, &attrs).await?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(self.user_from_entry(found.remove(0), exchange).await?)),
            n => Err(AdError::Other(format!(
                "{n} AD users match {what}: {}; name the user by a unique UPN or sAMAccountName",
                found.iter().map(|e| e.dn.as_str()).collect::<Vec<_>>().join("; ")
            ))),
        }
    }

    async fn user_from_entry(&self, e: SearchEntry, exchange: bool) -> AdResult<AdUser> {
        let guid = first_bin(&e, "objectGUID")
            .and_then(|b| model::guid_to_string(&b))
            .ok_or_else(|| AdError::Other(format!("{}: no objectGUID", e.dn)))?;
        let num = |n: &str| first(&e, n).and_then(|v| v.parse::<i64>().ok());
        let uac = num("userAccountControl").unwrap_or(0) as u32;
        let primary_group_id = num("primaryGroupID").unwrap_or(513) as u32;
        let member_of = attr(&e, "memberOf").cloned().unwrap_or_default();
        let mut groups = self.groups_of(&e.dn, &member_of).await?;
        groups.push(self.primary_group(&e, primary_group_id).await?);
        let exchange = exchange.then(|| ExchangeAttrs {
            hidden_from_gal: first(&e, "msExchHideFromAddressLists").map(|v| v.eq_ignore_ascii_case("TRUE")),
            remote_recipient_type: num("msExchRemoteRecipientType"),
            recipient_type_details: num("msExchRecipientTypeDetails"),
            mail_nickname: first(&e, "mailNickname"),
        });
        Ok(AdUser {
            guid,
            cn: first(&e, "cn").unwrap_or_else(|| model::rdn_value(&e.dn)),
            sam: first(&e, "sAMAccountName").unwrap_or_default(),
            upn: first(&e, "userPrincipalName"),
            mail: first(&e, "mail"),
            display_name: first(&e, "displayName"),
            uac,
            primary_group_id,
            groups,
            manager: first(&e, "manager"),
            employee_id: first(&e, "employeeID"),
            employee_number: first(&e, "employeeNumber"),
            pwd_last_set: num("pwdLastSet"),
            exchange,
            sid: first_bin(&e, "objectSid").and_then(|b| protect::sid_to_string(&b)),
            admin_count: num("adminCount") == Some(1),
            object_classes: attr(&e, "objectClass").map(|v| v.iter().map(|c| c.to_ascii_lowercase()).collect()).unwrap_or_default(),
            consistency_guid: first_bin(&e, "mS-DS-ConsistencyGuid").and_then(|b| model::guid_to_string(&b)),
            dn: e.dn,
        })
    }

    /// memberOf, with each group's name and scope from one search on the groups' `member`.
    async fn groups_of(&self, user_dn: &str, member_of: &[String]) -> AdResult<Vec<AdGroup>> {
        if member_of.is_empty() {
            return Ok(vec![]);
        }
        let filter = format!("(&(objectClass=group)(member={}))", ldap_escape(user_dn));
        let found = self.search(&self.base_dn, Scope::Subtree, &filter, &["cn", "groupType"]).await?;
        let by_dn: HashMap<String, &SearchEntry> = found.iter().map(|g| (g.dn.to_ascii_lowercase(), g)).collect();
        Ok(member_of
            .iter()
            .map(|dn| {
                let g = by_dn.get(&dn.to_ascii_lowercase());
                let group_type = g.and_then(|g| first(g, "groupType")).and_then(|t| t.parse::<i64>().ok());
                AdGroup {
                    dn: dn.clone(),
                    name: g.and_then(|g| first(g, "cn")).unwrap_or_else(|| model::rdn_value(dn)),
                    scope: group_type.map(GroupScope::from_group_type).unwrap_or(GroupScope::Unknown),
                    security: group_type.is_some_and(|t| t & 0x8000_0000 != 0),
                    primary: false,
                }
            })
            .collect())
    }

    /// The primary group: domain SID (the user's objectSid without its RID) + primaryGroupID.
    async fn primary_group(&self, e: &SearchEntry, rid: u32) -> AdResult<AdGroup> {
        let fallback =
            AdGroup { dn: String::new(), name: model::primary_group_name(rid), scope: GroupScope::Global, security: true, primary: true };
        let Some(mut sid) = first_bin(e, "objectSid").filter(|s| s.len() >= 12) else {
            return Ok(fallback);
        };
        let n = sid.len();
        sid[n - 4..].copy_from_slice(&rid.to_le_bytes());
        let filter = format!("(objectSid={})", escape_bytes(&sid));
        let found = self.search(&self.base_dn, Scope::Subtree, &filter, &["cn"]).await?;
        Ok(match found.first() {
            Some(g) => AdGroup { dn: g.dn.clone(), name: first(g, "cn").unwrap_or(fallback.name), ..fallback },
            None => fallback,
        })
    }

    async fn modify(&self, what: &str, dn: &str, mods: Vec<Mod<Vec<u8>>>) -> AdResult<()> {
        self.write_handle(what)?.modify(dn, mods).await?.success()?;
        Ok(())
    }
}

fn set(v: impl Into<Vec<u8>>) -> std::collections::HashSet<Vec<u8>> {
    std::iter::once(v.into()).collect()
}

#[async_trait]
impl OnPremDirectory for LdapDirectory {
    async fn find_user(&self, name: &str) -> AdResult<Option<AdUser>> {
        self.find_one(&user_filter(name), &format!("'{}'", name.escape_debug())).await
    }

    async fn user_by_guid(&self, guid: &str) -> AdResult<Option<AdUser>> {
        let bytes = model::guid_to_bytes(guid).ok_or_else(|| AdError::Refused(format!("'{guid}' is not an objectGUID")))?;
        self.find_one(&format!("(objectGUID={})", escape_bytes(&bytes)), guid).await
    }

    async fn transitive_groups(&self, user_dn: &str) -> AdResult<Vec<AdGroupRef>> {
        self.transitive_groups_of(user_dn).await
    }

    async fn bind_account(&self) -> AdResult<Option<String>> {
        self.bind_account_guid().await
    }

    async fn user_by_anchor(&self, anchor: &[u8; 16]) -> AdResult<Option<AdUser>> {
        let v = escape_bytes(anchor);
        // The consistency guid first: after a forest migration objectGUID changes, the anchor does not.
        if let Some(u) = self.find_one(&format!("(&(objectClass=user)(mS-DS-ConsistencyGuid={v}))"), "the immutable id").await? {
            return Ok(Some(u));
        }
        self.find_one(&format!("(&(objectClass=user)(objectGUID={v}))"), "the immutable id").await
    }

    async fn has_exchange_schema(&self) -> AdResult<bool> {
        self.exchange_schema
            .get_or_try_init(|| async {
                let root = self.search("", Scope::Base, "(objectClass=*)", &["schemaNamingContext"]).await?;
                let schema = root
                    .first()
                    .and_then(|r| first(r, "schemaNamingContext"))
                    .ok_or_else(|| AdError::Other("the rootDSE has no schemaNamingContext".into()))?;
                let filter = "(|(lDAPDisplayName=msExchHideFromAddressLists)(lDAPDisplayName=msExchRemoteRecipientType)(lDAPDisplayName=msExchRecipientTypeDetails))";
                let found = self.search(&schema, Scope::OneLevel, filter, &["lDAPDisplayName"]).await?;
                Ok(found.len() == 3)
            })
            .await
            .copied()
    }

    async fn set_user_account_control(&self, dn: &str, uac: u32) -> AdResult<()> {
        let mods = vec![Mod::Replace(b"userAccountControl".to_vec(), set(uac.to_string()))];
        self.modify("set userAccountControl", dn, mods).await
    }

    async fn set_password(&self, dn: &str, password: &Secret) -> AdResult<()> {
        if !self.encrypted {
            return Err(AdError::Refused(
                "refused to send a password over an unencrypted LDAP connection: use ldaps:// or starttls = true (AD requires an encrypted connection for unicodePwd, MS-ADTS 3.1.1.3.1.5.1)".into(),
            ));
        }
        let quoted = format!("\"{}\"", password.expose());
        let utf16: Vec<u8> = quoted.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mods = vec![Mod::Replace(b"unicodePwd".to_vec(), set(utf16))];
        self.modify("reset password", dn, mods).await
    }

    async fn move_user(&self, dn: &str, cn: &str, new_parent: &str) -> AdResult<String> {
        let rdn = model::cn_rdn(cn);
        self.write_handle("move user")?.modifydn(dn, &rdn, true, Some(new_parent)).await?.success()?;
        Ok(format!("{rdn},{new_parent}"))
    }

    async fn remove_group_member(&self, group_dn: &str, user_dn: &str) -> AdResult<()> {
        let mods = vec![Mod::Delete(b"member".to_vec(), set(user_dn.as_bytes().to_vec()))];
        self.modify("remove group member", group_dn, mods).await
    }

    async fn add_group_member(&self, group_dn: &str, user_dn: &str) -> AdResult<()> {
        let mods = vec![Mod::Add(b"member".to_vec(), set(user_dn.as_bytes().to_vec()))];
        self.modify("add group member", group_dn, mods).await
    }

    async fn clear_attributes(&self, dn: &str, attrs: &[AdAttr]) -> AdResult<()> {
        let mods = attrs.iter().map(|a| Mod::Delete(a.name().as_bytes().to_vec(), Default::default())).collect();
        self.modify("clear attributes", dn, mods).await
    }

    async fn raw_search(&self, base: &str, filter: &str, attrs: &[String]) -> AdResult<Vec<RawEntry>> {
        self.raw_search_impl(base, filter, attrs).await
    }

    async fn raw_modify(&self, dn: &str, changes: &[RawMod]) -> AdResult<()> {
        self.raw_modify_impl(dn, changes).await
    }

    async fn replace_attributes(&self, dn: &str, values: &[(AdAttr, String)]) -> AdResult<()> {
        let mods = values.iter().map(|(a, v)| Mod::Replace(a.name().as_bytes().to_vec(), set(v.clone()))).collect();
        self.modify("replace attributes", dn, mods).await
    }

    fn encrypted(&self) -> bool {
        self.encrypted
    }

    fn policy(&self) -> &AdPolicy {
        &self.policy
    }

    fn stats(&self) -> GraphStats {
        let requests = self.requests.load(Ordering::Relaxed);
        GraphStats {
            http_requests: requests,
            operations: requests,
            writes: self.writes.load(Ordering::Relaxed),
            round_trips: requests,
            ..GraphStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The injection vectors of style-and-reliability B6 / P15.
    const VECTORS: &[&str] = &["*)(uid=*))(|(uid=*", "a\0b", "#leading", "trailing ", "\\5c", "*", "(", ")"];

    #[test]
    fn filters_escape_every_metacharacter() {
        assert_eq!(
            user_filter("*)(uid=*))(|(uid=*"),
            "(&(objectClass=user)(|(userPrincipalName=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)(sAMAccountName=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)(mail=\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a)))"
        );
        assert!(user_filter("a\0b").contains("=a\\00b)"));
        for v in VECTORS {
            let f = user_filter(v);
            // Still one well-formed filter, and the value reads back unchanged.
            assert!(ldap3::parse_filter(&f).is_ok(), "{f}");
            let inner = format!("(sAMAccountName={})", ldap_escape(*v));
            assert!(ldap3::parse_filter(&inner).is_ok());
            assert_eq!(ldap3::ldap_unescape(ldap_escape(*v)).unwrap(), *v);
            // Nothing unescaped that could open or close a filter component or match anything.
            let value = ldap_escape(*v);
            assert!(!value.contains('*') && !value.contains('(') && !value.contains(')') && !value.contains('\0'), "{value}");
        }
    }

    #[test]
    fn binary_values_are_fully_escaped() {
        assert_eq!(escape_bytes(&[0x00, 0x2a, 0xff]), "\\00\\2a\\ff");
        assert!(ldap3::parse_filter(format!("(objectGUID={})", escape_bytes(&[0x28, 0x29, 0x2a, 0x5c, 0]))).is_ok());
    }

    #[test]
    fn written_attributes_are_a_closed_set() {
        let names: Vec<&str> = [
            AdAttr::EmployeeId,
            AdAttr::EmployeeNumber,
            AdAttr::Manager,
            AdAttr::HideFromAddressLists,
            AdAttr::RemoteRecipientType,
            AdAttr::RecipientTypeDetails,
        ]
        .iter()
        .map(|a| a.name())
        .collect();
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_alphanumeric())));
    }
}
