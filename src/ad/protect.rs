//! Protected AD accounts: which accounts an offboarding must never touch, and which only with
//! `--allow-privileged`.
//!
//! Names lie (the built-in Administrator can be renamed, a typed UPN can differ in case from the
//! stored one), so every rule here reads what the directory says about the object: its SID's RID
//! for the built-ins, its objectGUID for the bind account, its objectClass for computers and
//! managed service accounts, adminCount, and the SIDs of the groups it is in, nested ones too.
//!
//! | rule | severity |
//! |---|---|
//! | RID 500 (Administrator), 501 (Guest), 502 (krbtgt), 503 (DefaultAccount) | never |
//! | the account this connection binds as | never |
//! | objectClass computer, msDS-ManagedServiceAccount, msDS-GroupManagedServiceAccount | never |
//! | a group the client lists in `protected_groups` (nested membership counts) | never |
//! | adminCount=1 | privileged |
//! | member (direct, nested or primary group) of a group AD protects (AdminSDHolder) | privileged |

use ldap3::{ldap_escape, Scope};

use super::model::{dn_eq, guid_to_string};
use super::{first, first_bin, AdResult, AdUser, LdapDirectory};

/// How a rule refuses: `Never` whatever the flags, `Privileged` unless `--allow-privileged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Never,
    Privileged,
}

/// One rule that matched, with the reason in words a technician can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub reason: String,
}

impl Finding {
    pub fn never(reason: impl Into<String>) -> Finding {
        Finding { severity: Severity::Never, reason: reason.into() }
    }
    pub fn privileged(reason: impl Into<String>) -> Finding {
        Finding { severity: Severity::Privileged, reason: reason.into() }
    }
}

/// A group a user is in (from [`super::OnPremDirectory::transitive_groups`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AdGroupRef {
    pub dn: String,
    pub name: String,
    pub sam: Option<String>,
    /// objectSid in string form.
    pub sid: Option<String>,
}

/// objectSid bytes ([MS-DTYP] 2.4.2.2: revision, sub-authority count, 48-bit big-endian
/// authority, little-endian 32-bit sub-authorities) to `S-1-5-21-...`.
pub fn sid_to_string(b: &[u8]) -> Option<String> {
    if b.len() < 8 || b[0] != 1 {
        return None;
    }
    let count = b[1] as usize;
    if b.len() != 8 + 4 * count {
        return None;
    }
    let authority = b[2..8].iter().fold(0u64, |a, x| (a << 8) | u64::from(*x));
    let subs = (0..count).map(|i| u32::from_le_bytes([b[8 + 4 * i], b[9 + 4 * i], b[10 + 4 * i], b[11 + 4 * i]]).to_string());
    Some(std::iter::once(format!("S-1-{authority}")).chain(subs).collect::<Vec<_>>().join("-"))
}

/// The last sub-authority of a domain SID: the relative id.
pub fn rid(sid: &str) -> Option<u32> {
    sid.rsplit('-').next()?.parse().ok()
}

/// Accounts every domain has, by RID ([MS-DTYP] 2.4.2.4).
fn builtin_account(rid: u32) -> Option<&'static str> {
    match rid {
        500 => Some("the domain's built-in Administrator (RID 500)"),
        501 => Some("the built-in Guest account (RID 501)"),
        502 => Some("krbtgt, the Kerberos ticket-granting account (RID 502)"),
        503 => Some("the built-in DefaultAccount (RID 503)"),
        _ => None,
    }
}

/// Domain groups AD protects with AdminSDHolder, by RID (also valid as a primaryGroupID).
fn protected_domain_group(rid: u32) -> Option<&'static str> {
    match rid {
        512 => Some("Domain Admins"),
        516 => Some("Domain Controllers"),
        518 => Some("Schema Admins"),
        519 => Some("Enterprise Admins"),
        521 => Some("Read-only Domain Controllers"),
        526 => Some("Key Admins"),
        527 => Some("Enterprise Key Admins"),
        _ => None,
    }
}

/// Is this group SID one AD protects? Built-in (`S-1-5-32-*`) or domain (`S-1-5-21-*`) groups.
pub fn protected_group_sid(sid: &str) -> Option<&'static str> {
    let r = rid(sid)?;
    if let Some(rest) = sid.strip_prefix("S-1-5-32-") {
        if rest.contains('-') {
            return None;
        }
        return match r {
            544 => Some("Administrators"),
            548 => Some("Account Operators"),
            549 => Some("Server Operators"),
            550 => Some("Print Operators"),
            551 => Some("Backup Operators"),
            552 => Some("Replicator"),
            _ => None,
        };
    }
    sid.starts_with("S-1-5-21-").then(|| protected_domain_group(r)).flatten()
}

/// Every rule `user` matches. `groups`: its transitive groups; `bind_guid`: the bind account's
/// objectGUID; `client_groups`: the client's `protected_groups` (name, sAMAccountName or DN).
pub fn findings(user: &AdUser, groups: &[AdGroupRef], bind_guid: Option<&str>, client_groups: &[String]) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(what) = user.sid.as_deref().and_then(rid).and_then(builtin_account) {
        out.push(Finding::never(format!("{} is {what}", user.dn)));
    }
    if bind_guid.is_some_and(|g| g.eq_ignore_ascii_case(&user.guid)) {
        out.push(Finding::never(format!("{} is the account offboard-host binds to AD as", user.dn)));
    }
    let classes = &user.object_classes;
    if classes.iter().any(|c| c == "msds-managedserviceaccount" || c == "msds-groupmanagedserviceaccount") {
        out.push(Finding::never(format!("{} is a managed service account", user.dn)));
    } else if classes.iter().any(|c| c == "computer") {
        out.push(Finding::never(format!("{} is a computer account", user.dn)));
    }
    for g in groups {
        let listed = client_groups
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&g.name) || g.sam.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(c)) || dn_eq(c, &g.dn));
        if listed {
            out.push(Finding::never(format!("member of {}, which the client lists in protected_groups", g.name)));
        }
    }
    if user.admin_count {
        out.push(Finding::privileged(format!("{} has adminCount=1 (AD protects it as an administrator)", user.dn)));
    }
    let mut protected: Vec<&str> = groups.iter().filter_map(|g| g.sid.as_deref().and_then(protected_group_sid)).collect();
    if let Some(name) = protected_domain_group(user.primary_group_id) {
        protected.push(name);
    }
    protected.sort_unstable();
    protected.dedup();
    if !protected.is_empty() {
        out.push(Finding::privileged(format!("member of {}", protected.join(", "))));
    }
    out
}

impl LdapDirectory {
    pub(super) async fn transitive_groups_of(&self, user_dn: &str) -> AdResult<Vec<AdGroupRef>> {
        let filter = format!("(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={}))", ldap_escape(user_dn));
        let found = self.search(&self.base_dn, Scope::Subtree, &filter, &["cn", "sAMAccountName", "objectSid"]).await?;
        Ok(found
            .iter()
            .map(|g| AdGroupRef {
                dn: g.dn.clone(),
                name: first(g, "cn").unwrap_or_else(|| super::model::rdn_value(&g.dn)),
                sam: first(g, "sAMAccountName"),
                sid: first_bin(g, "objectSid").and_then(|b| sid_to_string(&b)),
            })
            .collect())
    }

    /// The bind name as configured: a DN is read directly; a UPN or `DOMAIN\name` is found as a user.
    pub(super) async fn bind_account_guid(&self) -> AdResult<Option<String>> {
        if self.bind_dn.contains('=') {
            let found = self.search(&self.bind_dn, Scope::Base, "(objectClass=*)", &["objectGUID"]).await;
            return match found {
                Ok(v) => Ok(v.first().and_then(|e| first_bin(e, "objectGUID")).and_then(|b| guid_to_string(&b))),
                // noSuchObject: the bind DN is outside what we can read; nothing to match.
                Err(super::AdError::Ldap(ldap3::LdapError::LdapResult { result })) if result.rc == 32 => Ok(None),
                Err(e) => Err(e),
            };
        }
        let name = self.bind_dn.rsplit('\\').next().unwrap_or(&self.bind_dn);
        Ok(self.find_one(&super::user_filter(name), "the bind account").await?.map(|u| u.guid))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An ordinary AD user with this SID (also used by `run::guard`'s tests).
    pub(crate) fn user(sid: &str) -> AdUser {
        AdUser {
            guid: "11111111-2222-3333-4444-555555555555".into(),
            dn: "CN=X,OU=Staff,DC=contoso,DC=test".into(),
            cn: "X".into(),
            sam: "x".into(),
            upn: None,
            mail: None,
            display_name: None,
            uac: 512,
            primary_group_id: 513,
            groups: vec![],
            manager: None,
            employee_id: None,
            employee_number: None,
            pwd_last_set: None,
            exchange: None,
            sid: Some(sid.into()),
            admin_count: false,
            object_classes: vec!["top".into(), "person".into(), "user".into()],
            consistency_guid: None,
        }
    }

    const DOMAIN: &str = "S-1-5-21-537184514-2140326730-2703224017";

    #[test]
    fn sids_parse_and_name_the_protected_groups() {
        let b = [1u8, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 0x02, 0, 0];
        assert_eq!(sid_to_string(&b).as_deref(), Some("S-1-5-32-544"));
        assert_eq!(protected_group_sid("S-1-5-32-544"), Some("Administrators"));
        assert_eq!(protected_group_sid(&format!("{DOMAIN}-512")), Some("Domain Admins"));
        assert_eq!(protected_group_sid(&format!("{DOMAIN}-513")), None);
        assert_eq!(protected_group_sid("S-1-5-32-545"), None, "Users is not protected");
        assert!(sid_to_string(&b[..10]).is_none());
    }

    #[test]
    fn built_ins_bind_account_and_machines_are_never_offboarded() {
        let f = findings(&user(&format!("{DOMAIN}-500")), &[], None, &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Never);
        assert!(f[0].reason.contains("RID 500"));
        assert!(findings(&user(&format!("{DOMAIN}-502")), &[], None, &[])[0].reason.contains("krbtgt"));
        let u = user(&format!("{DOMAIN}-1104"));
        assert!(findings(&u, &[], None, &[]).is_empty());
        assert_eq!(findings(&u, &[], Some("11111111-2222-3333-4444-555555555555"), &[])[0].severity, Severity::Never);
        let mut pc = u.clone();
        pc.object_classes.push("computer".into());
        assert!(findings(&pc, &[], None, &[])[0].reason.contains("computer account"));
        pc.object_classes.push("msds-groupmanagedserviceaccount".into());
        assert!(findings(&pc, &[], None, &[])[0].reason.contains("managed service account"));
    }

    #[test]
    fn admins_are_privileged_and_client_groups_are_never() {
        let mut u = user(&format!("{DOMAIN}-1104"));
        let nested = AdGroupRef {
            dn: "CN=Domain Admins,CN=Users,DC=contoso,DC=test".into(),
            name: "Domain Admins".into(),
            sam: Some("Domain Admins".into()),
            sid: Some(format!("{DOMAIN}-512")),
        };
        let tier0 = AdGroupRef { dn: "CN=Tier0,OU=Groups,DC=contoso,DC=test".into(), name: "Tier0".into(), sam: None, sid: None };
        let f = findings(&u, std::slice::from_ref(&nested), None, &[]);
        assert_eq!(f, vec![Finding::privileged("member of Domain Admins")]);
        u.admin_count = true;
        assert_eq!(findings(&u, &[], None, &[])[0].severity, Severity::Privileged);
        u.admin_count = false;
        u.primary_group_id = 512;
        assert_eq!(findings(&u, &[], None, &[]), vec![Finding::privileged("member of Domain Admins")]);
        u.primary_group_id = 513;
        let f = findings(&u, &[tier0], None, &["cn=tier0, ou=groups,dc=contoso,dc=test".into()]);
        assert_eq!(f[0].severity, Severity::Never, "{f:?}");
    }
}
