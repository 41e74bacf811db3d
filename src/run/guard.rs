//! The guard a run passes before its script starts: who is being offboarded, and may they be.
//!
//! It runs in [`super::run_script`], before the lock, the journal and the engine, so no script
//! (the default one, a client's own, an overrides layer) can skip it or reach a protected account
//! first. It resolves the run's subject in every directory this tenant has, whatever directory
//! mode a script later picks:
//!
//! - in the cloud: the user, its active directory roles, its groups;
//! - in AD: the account (for a synced cloud user, the one its `onPremisesImmutableId` names, see
//!   [`match_synced`]), its transitive groups, and the bind account.
//!
//! Then it refuses ([`Error::Protected`], exit 9) what must never be offboarded (the rules in
//! `ad::protect` and [`cloud_findings`]), and administrators unless `--allow-privileged`. The
//! accounts the client lists in `protected_users` are compared by the object they resolve to, so
//! another spelling of the same account (case, sAMAccountName for a UPN, object id) is refused too.

use base64::Engine as _;

use crate::ad::model::guid_to_string;
use crate::ad::protect::findings as ad_findings;
use crate::ad::{AdAccess, AdUser, Finding, OnPremDirectory, Severity};
use crate::entra::{CloudAccess, CloudUser, DirectoryRole};
use crate::error::{Error, Result};
use crate::exec::Providers;

/// The client's protected-account settings and the run's `--allow-privileged`.
#[derive(Debug, Clone, Default)]
pub struct Protection {
    pub protected_users: Vec<String>,
    pub protected_groups: Vec<String>,
    pub allowed_roles: Vec<String>,
    pub allow_privileged: bool,
}

/// The subject as the guard resolved it: what the run pins for the script and removes first.
#[derive(Debug, Default)]
pub struct Subject {
    pub cloud: Option<CloudUser>,
    /// For a synced user, the AD account its immutable id names (the script's `ad::get_user(USER)`
    /// resolves to this one, not to whatever shares the UPN).
    pub ad: Option<AdUser>,
    /// Active directory roles, removed in the run's first phase (`--allow-privileged` only).
    pub roles: Vec<DirectoryRole>,
}

const PRIVILEGED_HINT: &str =
    "; an administrator may be offboarded with --allow-privileged (their Entra directory roles are removed first)";

fn provider(tenant: &str, e: impl std::fmt::Display) -> Error {
    Error::Provider { tenant: tenant.to_string(), message: e.to_string() }
}

/// Resolve `user` everywhere, refuse protected accounts, and say what to pin and remove.
pub async fn check(providers: &Providers, tenant: &str, user: &str, p: &Protection) -> Result<Subject> {
    let mut found: Vec<Finding> = Vec::new();
    let mut subject = Subject::default();
    if let Ok(cloud) = providers.cloud() {
        // The roles and the protected accounts are read alongside the user (one round trip, not
        // one after another); they count only when the user exists.
        let listed = futures::future::join_all(p.protected_users.iter().map(|e| cloud.resolve_user(e)));
        let (u, roles, listed) = tokio::join!(cloud.resolve_user(user), cloud.directory_roles(user), listed);
        if let Some(u) = u? {
            let roles = roles?;
            found.extend(cloud_findings(&u, &roles, p));
            found.extend(listed_in_cloud(&u, &p.protected_users, listed)?);
            subject.roles = roles;
            subject.cloud = Some(u);
        }
    }
    if let Ok(ad) = providers.ad() {
        let account = match subject.cloud.as_ref().filter(|c| c.synced) {
            Some(c) => Some(match_synced(ad.as_ref(), c).await.map_err(|e| match e {
                MatchError::Ad(e) => provider(tenant, e),
                MatchError::Mismatch { ad, reason } => Error::IdentityMismatch { cloud: c.upn.clone(), ad, reason },
            })?),
            None => ad.find_user(user).await.map_err(|e| provider(tenant, e))?,
        };
        if let Some(a) = account {
            let groups = ad.transitive_groups(&a.dn).await.map_err(|e| provider(tenant, e))?;
            let bind = ad.bind_account().await.map_err(|e| provider(tenant, e))?;
            found.extend(ad_findings(&a, &groups, bind.as_deref(), &p.protected_groups));
            found.extend(listed_in_ad(ad.as_ref(), &a, &p.protected_users).await.map_err(|e| provider(tenant, e))?);
            subject.ad = Some(a);
        }
    }
    refuse(tenant, user, found, p.allow_privileged)?;
    Ok(subject)
}

/// Exit 9 if any rule says never, or says privileged without `--allow-privileged`.
fn refuse(tenant: &str, user: &str, found: Vec<Finding>, allow_privileged: bool) -> Result<()> {
    let never = found.iter().any(|f| f.severity == Severity::Never);
    if found.is_empty() || (!never && allow_privileged) {
        return Ok(());
    }
    let hint = if never { String::new() } else { PRIVILEGED_HINT.to_string() };
    let reasons = found.into_iter().map(|f| f.reason).collect();
    Err(Error::Protected { user: user.to_string(), tenant: tenant.to_string(), reasons, hint })
}

/// Directory roles the client does not allow make the user privileged; a group the client lists
/// in `protected_groups` protects its (direct) members outright.
pub fn cloud_findings(u: &CloudUser, roles: &[DirectoryRole], p: &Protection) -> Vec<Finding> {
    let mut out = Vec::new();
    let held: Vec<&str> = roles.iter().filter(|r| !r.allowed_by(&p.allowed_roles)).map(|r| r.display_name.as_str()).collect();
    if !held.is_empty() {
        out.push(Finding::privileged(format!("{} holds the Entra directory role(s) {}", u.upn, held.join(", "))));
    }
    for g in &u.groups {
        if p.protected_groups.iter().any(|c| c.eq_ignore_ascii_case(&g.id) || c.eq_ignore_ascii_case(&g.name)) {
            out.push(Finding::never(format!(
                "{} is a member of the cloud group {}, which the client lists in protected_groups",
                u.upn, g.name
            )));
        }
    }
    out
}

/// `protected_users` entries that resolve, in the cloud, to this very user (`resolved`: each
/// entry as the directory resolved it; its error counts only for an entry not named by id or UPN).
fn listed_in_cloud<E>(u: &CloudUser, listed: &[String], resolved: Vec<std::result::Result<Option<CloudUser>, E>>) -> Result<Vec<Finding>>
where
    Error: From<E>,
{
    let mut out = Vec::new();
    for (entry, other) in listed.iter().zip(resolved) {
        let same = entry.eq_ignore_ascii_case(&u.id)
            || entry.eq_ignore_ascii_case(&u.upn)
            || other?.is_some_and(|other| other.id.eq_ignore_ascii_case(&u.id));
        if same {
            out.push(Finding::never(format!("{} is listed in the client's protected_users (as '{entry}')", u.upn)));
        }
    }
    Ok(out)
}

/// `protected_users` entries that resolve, in AD, to this very account.
async fn listed_in_ad(ad: &dyn OnPremDirectory, a: &AdUser, listed: &[String]) -> crate::ad::AdResult<Vec<Finding>> {
    let mut out = Vec::new();
    for entry in listed {
        let same = if crate::input::is_guid(entry) {
            entry.eq_ignore_ascii_case(&a.guid)
        } else if crate::input::validate_ad_user(entry).is_ok() {
            ad.find_user(entry).await?.is_some_and(|other| other.guid.eq_ignore_ascii_case(&a.guid))
        } else {
            false
        };
        if same {
            out.push(Finding::never(format!("{} is listed in the client's protected_users (as '{entry}')", a.dn)));
        }
    }
    Ok(out)
}

pub enum MatchError {
    Ad(crate::ad::AdError),
    Mismatch { ad: String, reason: String },
}

/// The AD account of a synced cloud user: the one whose ms-DS-ConsistencyGuid (or objectGUID) is
/// the bytes of `onPremisesImmutableId`, which is what Entra Connect joined them by. A UPN names
/// nothing reliably (two forests can hold the same UPN; a UPN can be changed on one side), so it is
/// not used. The anchor's account must also agree on sAMAccountName and domain.
pub async fn match_synced(ad: &dyn OnPremDirectory, c: &CloudUser) -> std::result::Result<AdUser, MatchError> {
    let by_upn = || async { ad.find_user(&c.upn).await.ok().flatten().map(|a| a.dn).unwrap_or_else(|| "(none by that UPN)".into()) };
    let Some(anchor) = c.on_premises_immutable_id.as_deref().and_then(anchor_bytes) else {
        let reason = format!(
            "the cloud user is synced but its onPremisesImmutableId ({}) is not the base64 of a GUID",
            c.on_premises_immutable_id.as_deref().unwrap_or("missing")
        );
        return Err(MatchError::Mismatch { ad: by_upn().await, reason });
    };
    let Some(a) = ad.user_by_anchor(&anchor).await.map_err(MatchError::Ad)? else {
        let reason = format!(
            "no AD account has ms-DS-ConsistencyGuid or objectGUID {} (onPremisesImmutableId {})",
            guid_to_string(&anchor).unwrap_or_default(),
            c.on_premises_immutable_id.as_deref().unwrap_or_default()
        );
        return Err(MatchError::Mismatch { ad: by_upn().await, reason });
    };
    match cross_check(c, &a) {
        Some(reason) => Err(MatchError::Mismatch { ad: a.dn, reason }),
        None => Ok(a),
    }
}

/// The 16 bytes behind an `onPremisesImmutableId` (standard base64, as Entra Connect writes it).
pub fn anchor_bytes(immutable_id: &str) -> Option<[u8; 16]> {
    let b = base64::engine::general_purpose::STANDARD.decode(immutable_id.trim()).ok()?;
    b.try_into().ok()
}

/// `None` when the anchored account agrees with the cloud user's on-premises facts.
pub fn cross_check(c: &CloudUser, a: &AdUser) -> Option<String> {
    if let Some(sam) = c.on_premises_sam.as_deref().filter(|s| !s.eq_ignore_ascii_case(&a.sam)) {
        return Some(format!("onPremisesSamAccountName is {sam}, the AD account's sAMAccountName is {}", a.sam));
    }
    let domain = dn_domain(&a.dn);
    if let Some(d) = c.on_premises_domain_name.as_deref().filter(|d| !d.eq_ignore_ascii_case(&domain)) {
        return Some(format!("onPremisesDomainName is {d}, the AD account is in {domain}"));
    }
    if let Some(dn) = c.on_premises_dn.as_deref() {
        let suffix = dn_domain(dn);
        if !suffix.eq_ignore_ascii_case(&domain) {
            return Some(format!("onPremisesDistinguishedName {dn} is in {suffix}, the AD account {} is in {domain}", a.dn));
        }
    }
    None
}

/// `CN=x,OU=y,DC=corp,DC=example` → `corp.example`.
fn dn_domain(dn: &str) -> String {
    dn.split(',')
        .filter_map(|p| p.trim().split_once('='))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("dc"))
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ad::model::guid_to_bytes;

    fn cloud(dn: &str, sam: &str, domain: Option<&str>) -> CloudUser {
        let v = serde_json::json!({
            "id": "c1", "userPrincipalName": "sam@contoso.test", "onPremisesSyncEnabled": true,
            "onPremisesDistinguishedName": dn, "onPremisesSamAccountName": sam, "onPremisesDomainName": domain,
            "onPremisesImmutableId": "PgwdWi97ak6cgQ0uP0pbbA==",
        });
        CloudUser::from_graph(&v, &[], None, &Default::default())
    }

    fn ad(dn: &str, sam: &str) -> AdUser {
        AdUser { dn: dn.into(), sam: sam.into(), sid: None, ..crate::ad::protect::tests::user("") }
    }

    #[test]
    fn the_immutable_id_is_the_base64_of_the_anchor_bytes() {
        let b = anchor_bytes("PgwdWi97ak6cgQ0uP0pbbA==").unwrap();
        assert_eq!(b[0], 0x3e);
        assert_eq!(guid_to_string(&b).as_deref(), Some("5a1d0c3e-7b2f-4e6a-9c81-0d2e3f4a5b6c"));
        assert_eq!(guid_to_bytes("5a1d0c3e-7b2f-4e6a-9c81-0d2e3f4a5b6c"), Some(b));
        assert!(anchor_bytes("c2FtLnN5bmNlZEBjb250b3NvLnRlc3Q=").is_none(), "a UPN in base64 is not a GUID");
        assert!(anchor_bytes("not base64!").is_none());
    }

    #[test]
    fn a_same_upn_in_another_domain_or_another_sam_is_a_mismatch() {
        let c = cloud("CN=Sam Synced,OU=Staff,DC=contoso,DC=test", "ssynced", Some("contoso.test"));
        assert_eq!(cross_check(&c, &ad("CN=Sam Synced,OU=Disabled Users,DC=contoso,DC=test", "SSYNCED")), None, "moved, same account");
        let other_forest = cross_check(&c, &ad("CN=Sam Synced,OU=Staff,DC=corp,DC=example,DC=test", "ssynced")).unwrap();
        assert!(other_forest.contains("contoso.test") && other_forest.contains("corp.example.test"), "{other_forest}");
        let c = cloud("CN=Sam Synced,OU=Staff,DC=contoso,DC=test", "ssynced", None);
        let by_dn = cross_check(&c, &ad("CN=Sam Synced,OU=Staff,DC=corp,DC=example,DC=test", "ssynced")).unwrap();
        assert!(by_dn.contains("onPremisesDistinguishedName"), "{by_dn}");
        let sam = cross_check(&c, &ad("CN=Sam Synced,OU=Staff,DC=contoso,DC=test", "ssynced2")).unwrap();
        assert!(sam.contains("onPremisesSamAccountName is ssynced"), "{sam}");
    }

    #[test]
    fn roles_the_client_allows_are_not_privileged() {
        let c = cloud("CN=x,DC=contoso,DC=test", "x", None);
        let ga = DirectoryRole {
            id: "r1".into(),
            display_name: "Global Administrator".into(),
            role_template_id: "62e90394-69f5-4237-9190-012177145e10".into(),
        };
        let p = Protection::default();
        assert_eq!(cloud_findings(&c, std::slice::from_ref(&ga), &p)[0].severity, Severity::Privileged);
        let p = Protection { allowed_roles: vec!["62E90394-69F5-4237-9190-012177145E10".into()], ..Protection::default() };
        assert!(cloud_findings(&c, &[ga], &p).is_empty());
        assert!(refuse("t", "u", vec![Finding::privileged("x")], true).is_ok());
        assert!(matches!(refuse("t", "u", vec![Finding::never("x")], true), Err(Error::Protected { .. })));
    }
}
