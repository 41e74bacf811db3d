//! A script's own LDAP calls (`ad::search`, `ad::modify`): what the built-in AD actions do not
//! cover. Searches stay under the client's base DN; a modify is refused on objects AD itself
//! guards (adminCount=1, isCriticalSystemObject) and never touches passwords, which go through
//! `ad::reset_password` and its encryption check.

use std::collections::{BTreeMap, HashSet};

use ldap3::{Mod, Scope, SearchEntry};

use super::{AdError, AdResult, LdapDirectory};

/// One entry a script's search found: its DN and each attribute's values (binary values as
/// base64, prefixed `base64:`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RawEntry {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<String>>,
}

/// One change of a script's modify (as the journal keeps a script step's undo, too).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RawMod {
    pub op: RawOp,
    pub attr: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawOp {
    Add,
    Replace,
    Delete,
}

/// Attributes a script may not write: passwords (no encryption check here) and the security
/// descriptor and identity of the object.
const NEVER_WRITTEN: &[&str] = &["unicodePwd", "userPassword", "nTSecurityDescriptor", "objectSid", "objectGUID", "sAMAccountType"];

impl RawEntry {
    /// AD guards the object itself (adminCount=1 under AdminSDHolder, or a critical system
    /// object): offboarding never changes it. Read `adminCount` and `isCriticalSystemObject`.
    pub fn guarded(&self) -> bool {
        let first = |a: &str| self.attrs.get(a).and_then(|v| v.first()).map(String::as_str);
        first("adminCount") == Some("1") || first("isCriticalSystemObject").is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
    }
}

/// The attributes [`RawEntry::guarded`] reads.
pub const GUARD_ATTRS: [&str; 2] = ["adminCount", "isCriticalSystemObject"];

/// `dn` is the base DN or below it (compared ignoring case and spaces after commas).
pub fn under_base(dn: &str, base: &str) -> bool {
    let norm = |s: &str| s.split(',').map(|p| p.trim().to_ascii_lowercase()).collect::<Vec<_>>().join(",");
    let (dn, base) = (norm(dn), norm(base));
    dn == base || dn.ends_with(&format!(",{base}"))
}

impl LdapDirectory {
    pub(super) async fn raw_search_impl(&self, base: &str, filter: &str, attrs: &[String]) -> AdResult<Vec<RawEntry>> {
        let base = if base.trim().is_empty() { self.base_dn.clone() } else { base.to_string() };
        if !under_base(&base, &self.base_dn) {
            return Err(AdError::Refused(format!("search base '{base}' is outside the client's base DN '{}'", self.base_dn)));
        }
        let attrs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let found = self.search(&base, Scope::Subtree, filter, &attrs).await?;
        Ok(found.into_iter().map(raw_entry).collect())
    }

    pub(super) async fn raw_modify_impl(&self, dn: &str, changes: &[RawMod]) -> AdResult<()> {
        if !under_base(dn, &self.base_dn) {
            return Err(AdError::Refused(format!("'{dn}' is outside the client's base DN '{}'", self.base_dn)));
        }
        if let Some(c) = changes.iter().find(|c| NEVER_WRITTEN.iter().any(|n| n.eq_ignore_ascii_case(&c.attr))) {
            return Err(AdError::Refused(format!("{} is never written by a script's ad::modify", c.attr)));
        }
        // AD guards these itself (AdminSDHolder, system objects): a script must not change them.
        let found = self.search(dn, Scope::Base, "(objectClass=*)", &GUARD_ATTRS).await?;
        let Some(e) = found.into_iter().next().map(raw_entry) else { return Err(AdError::Other(format!("no object '{dn}'"))) };
        if e.guarded() {
            return Err(AdError::Refused(format!("'{dn}' is protected by AD (adminCount=1 or a critical system object): not modified")));
        }
        let set = |vs: &[String]| vs.iter().map(|v| v.as_bytes().to_vec()).collect::<HashSet<Vec<u8>>>();
        let mods = changes
            .iter()
            .map(|c| {
                let (attr, values) = (c.attr.as_bytes().to_vec(), set(&c.values));
                match c.op {
                    RawOp::Add => Mod::Add(attr, values),
                    RawOp::Replace => Mod::Replace(attr, values),
                    RawOp::Delete => Mod::Delete(attr, values),
                }
            })
            .collect();
        self.modify("ad::modify", dn, mods).await
    }
}

fn raw_entry(e: SearchEntry) -> RawEntry {
    use base64::Engine as _;
    let mut attrs: BTreeMap<String, Vec<String>> = e.attrs.into_iter().collect();
    for (k, vs) in e.bin_attrs {
        attrs.insert(k, vs.iter().map(|v| format!("base64:{}", base64::engine::general_purpose::STANDARD.encode(v))).collect());
    }
    RawEntry { dn: e.dn, attrs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_base_and_below_are_under_the_base() {
        assert!(under_base("CN=x,OU=Staff,DC=corp,DC=test", "DC=corp,DC=test"));
        assert!(under_base("dc=corp, dc=test", "DC=corp,DC=test"));
        assert!(!under_base("CN=x,DC=evilcorp,DC=test", "DC=corp,DC=test"));
        assert!(!under_base("DC=test", "DC=corp,DC=test"));
    }
}
