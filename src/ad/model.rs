//! What we read from on-premises AD: the user, its groups, and the rules for the bits we change.
//!
//! Also the two pure pieces the actions depend on: `userAccountControl` bit logic (F14: set
//! ACCOUNTDISABLE and keep every other flag) and DN handling (RFC 4514: split a DN at its first
//! unescaped comma, compare DNs, build an RDN with `ldap3::dn_escape`).

use serde_json::{json, Value};

/// userAccountControl flags we name in reports ([MS-ADTS] 2.2.16).
pub const UAC_ACCOUNTDISABLE: u32 = 0x2;
const UAC_NAMES: &[(u32, &str)] = &[
    (0x2, "ACCOUNTDISABLE"),
    (0x10, "LOCKOUT"),
    (0x20, "PASSWD_NOTREQD"),
    (0x200, "NORMAL_ACCOUNT"),
    (0x10000, "DONT_EXPIRE_PASSWORD"),
    (0x40000, "SMARTCARD_REQUIRED"),
    (0x80000, "TRUSTED_FOR_DELEGATION"),
    (0x100000, "NOT_DELEGATED"),
    (0x800000, "PASSWORD_EXPIRED"),
];

pub fn uac_disabled(uac: u32) -> bool {
    uac & UAC_ACCOUNTDISABLE != 0
}

/// The value to write to disable the account: the same flags plus ACCOUNTDISABLE. Never a fixed
/// 514, which would drop flags such as DONT_EXPIRE_PASSWORD (offboarding-anchors F14).
pub fn uac_with_disabled(uac: u32) -> u32 {
    uac | UAC_ACCOUNTDISABLE
}

/// `0x10200 (NORMAL_ACCOUNT|DONT_EXPIRE_PASSWORD)`.
pub fn uac_describe(uac: u32) -> String {
    let names: Vec<&str> = UAC_NAMES.iter().filter(|(bit, _)| uac & bit != 0).map(|(_, n)| *n).collect();
    format!("{uac:#x} ({})", if names.is_empty() { "none".to_string() } else { names.join("|") })
}

/// msExchRemoteRecipientType for a remote shared mailbox: 96 (SharedMailbox) + 4 (Migrated), or
/// + 1 (ProvisionMailbox) for a mailbox that was created in the cloud (F8-hybrid, KB2710029).
pub fn remote_shared_type(current: Option<i64>) -> i64 {
    if current.is_some_and(|t| t & 1 != 0) {
        97
    } else {
        100
    }
}
/// msExchRecipientTypeDetails of a RemoteSharedMailbox.
pub const REMOTE_SHARED_DETAILS: i64 = 34_359_738_368;
/// The SharedMailbox bit of msExchRemoteRecipientType.
pub const REMOTE_TYPE_SHARED: i64 = 64;

/// The Exchange attributes on a user, when the schema has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExchangeAttrs {
    pub hidden_from_gal: Option<bool>,
    pub remote_recipient_type: Option<i64>,
    pub recipient_type_details: Option<i64>,
    pub mail_nickname: Option<String>,
}

impl ExchangeAttrs {
    pub fn is_remote_shared(&self) -> bool {
        self.remote_recipient_type.is_some_and(|t| t & REMOTE_TYPE_SHARED != 0)
            && self.recipient_type_details == Some(REMOTE_SHARED_DETAILS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupScope {
    Global,
    DomainLocal,
    Universal,
    Unknown,
}

impl GroupScope {
    /// From `groupType` ([MS-ADTS] 2.2.12): 0x2 global, 0x4 domain local, 0x8 universal.
    pub fn from_group_type(t: i64) -> GroupScope {
        if t & 0x2 != 0 {
            GroupScope::Global
        } else if t & 0x4 != 0 {
            GroupScope::DomainLocal
        } else if t & 0x8 != 0 {
            GroupScope::Universal
        } else {
            GroupScope::Unknown
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupScope::Global => "global",
            GroupScope::DomainLocal => "domain_local",
            GroupScope::Universal => "universal",
            GroupScope::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdGroup {
    pub dn: String,
    pub name: String,
    pub scope: GroupScope,
    /// Security group (groupType 0x80000000) rather than distribution list.
    pub security: bool,
    /// The user's primary group (primaryGroupID): not in memberOf and not removable this way.
    pub primary: bool,
}

/// An AD user as read by [`super::OnPremDirectory::find_user`].
#[derive(Debug, Clone)]
pub struct AdUser {
    /// objectGUID in its usual string form: stable across renames and moves.
    pub guid: String,
    pub dn: String,
    /// The RDN value (cn), as stored (unescaped).
    pub cn: String,
    pub sam: String,
    pub upn: Option<String>,
    pub mail: Option<String>,
    pub display_name: Option<String>,
    pub uac: u32,
    pub primary_group_id: u32,
    /// memberOf plus the primary group (flagged).
    pub groups: Vec<AdGroup>,
    /// The manager's DN.
    pub manager: Option<String>,
    pub employee_id: Option<String>,
    pub employee_number: Option<String>,
    /// pwdLastSet (FILETIME: 100 ns since 1601-01-01 UTC).
    pub pwd_last_set: Option<i64>,
    /// `None` when the schema has no Exchange attributes.
    pub exchange: Option<ExchangeAttrs>,
    /// objectSid in its string form (`S-1-5-21-...-1104`): its last part, the RID, names the
    /// built-in accounts (500 Administrator, 502 krbtgt) whatever they were renamed to.
    pub sid: Option<String>,
    /// adminCount=1: AD's SDProp marked the account as a member (now or once) of a protected group.
    pub admin_count: bool,
    /// objectClass values, lower case (`computer`, `msds-managedserviceaccount`, ...).
    pub object_classes: Vec<String>,
    /// ms-DS-ConsistencyGuid in GUID string form, when set: the Entra Connect source anchor.
    pub consistency_guid: Option<String>,
}

impl AdUser {
    pub fn enabled(&self) -> bool {
        !uac_disabled(self.uac)
    }

    /// The name shown in reports: the UPN, else DOMAIN-less sAMAccountName.
    pub fn display(&self) -> String {
        self.upn.clone().unwrap_or_else(|| self.sam.clone())
    }

    /// The container the user is in.
    pub fn parent(&self) -> &str {
        split_rdn(&self.dn).1
    }

    pub fn member_of(&self, group_dn: &str) -> bool {
        self.groups.iter().any(|g| !g.primary && dn_eq(&g.dn, group_dn))
    }

    pub fn primary_group(&self) -> Option<&AdGroup> {
        self.groups.iter().find(|g| g.primary)
    }

    /// A snapshot for the journal (no secrets: AD never returns the password).
    pub fn snapshot(&self) -> Value {
        json!({"dn": self.dn, "sAMAccountName": self.sam, "userAccountControl": self.uac})
    }
}

/// Well-known primary groups by RID (the rest are named by RID only).
pub fn primary_group_name(rid: u32) -> String {
    match rid {
        513 => "Domain Users".into(),
        514 => "Domain Guests".into(),
        512 => "Domain Admins".into(),
        515 => "Domain Computers".into(),
        _ => format!("primary group RID {rid}"),
    }
}

/// Split `CN=a\,b,OU=x,DC=y` into (`CN=a\,b`, `OU=x,DC=y`) at the first comma not escaped by a
/// backslash (RFC 4514 section 2.4). A DN with one RDN has an empty parent.
pub fn split_rdn(dn: &str) -> (&str, &str) {
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return (&dn[..i], dn[i + 1..].trim_start()),
            _ => i += 1,
        }
    }
    (dn, "")
}

/// Compare two DNs as AD does for our purposes: case-insensitive, ignoring spaces after commas.
pub fn dn_eq(a: &str, b: &str) -> bool {
    normalize_dn(a) == normalize_dn(b)
}

fn normalize_dn(dn: &str) -> String {
    let mut parts = Vec::new();
    let mut rest = dn.trim();
    while !rest.is_empty() {
        let (rdn, parent) = split_rdn(rest);
        parts.push(rdn.trim().to_ascii_lowercase());
        rest = parent;
    }
    parts.join(",")
}

/// Is `dn` inside (or equal to) `container`?
pub fn dn_within(dn: &str, container: &str) -> bool {
    let (d, c) = (normalize_dn(dn), normalize_dn(container));
    d == c || d.ends_with(&format!(",{c}"))
}

/// The RDN for a ModifyDN: `CN=` plus the value escaped by RFC 4514 (`ldap3::dn_escape`).
pub fn cn_rdn(cn: &str) -> String {
    format!("CN={}", ldap3::dn_escape(cn))
}

/// The common name of a DN's first RDN, unescaped, for display (`CN=O'Brien\, Pat,...` → `O'Brien, Pat`).
pub fn rdn_value(dn: &str) -> String {
    let rdn = split_rdn(dn).0;
    let value = rdn.split_once('=').map(|(_, v)| v).unwrap_or(rdn);
    let mut out = Vec::new();
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let hex = value.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(b[i + 1]);
                    i += 2;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// FILETIME (100 ns ticks since 1601) to UTC.
pub fn filetime_to_utc(ft: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    if ft <= 0 {
        return None;
    }
    let secs = ft / 10_000_000 - EPOCH_DIFF_SECS;
    let nanos = (ft % 10_000_000) * 100;
    chrono::DateTime::from_timestamp(secs, nanos as u32)
}

/// objectGUID bytes (little-endian first three fields, as Windows stores it) to the usual string.
pub fn guid_to_string(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    ))
}

/// The inverse of [`guid_to_string`], for an `(objectGUID=\xx...)` filter.
pub fn guid_to_bytes(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let raw: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
    let mut b = [0u8; 16];
    b[0] = raw[3];
    b[1] = raw[2];
    b[2] = raw[1];
    b[3] = raw[0];
    b[4] = raw[5];
    b[5] = raw[4];
    b[6] = raw[7];
    b[7] = raw[6];
    b[8..].copy_from_slice(&raw[8..]);
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabling_keeps_every_other_flag() {
        // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD: a blind 514 would drop 0x10000.
        assert_eq!(uac_with_disabled(0x10200), 0x10202);
        assert_eq!(uac_with_disabled(512), 514);
        assert_eq!(uac_with_disabled(514), 514, "already disabled: unchanged");
        assert_eq!(uac_with_disabled(0x80200), 0x80202, "TRUSTED_FOR_DELEGATION kept");
        for uac in [0u32, 0x200, 0x10200, 0x40220, 0xffff_fffd] {
            let d = uac_with_disabled(uac);
            assert!(uac_disabled(d));
            assert_eq!(d & !UAC_ACCOUNTDISABLE, uac & !UAC_ACCOUNTDISABLE, "{uac:#x}");
        }
        assert!(!uac_disabled(0x10200));
        assert_eq!(uac_describe(0x10202), "0x10202 (ACCOUNTDISABLE|NORMAL_ACCOUNT|DONT_EXPIRE_PASSWORD)");
    }

    #[test]
    fn dns_split_and_compare_with_escapes() {
        assert_eq!(split_rdn("CN=O'Brien\\, Pat,OU=Staff,DC=contoso,DC=test"), ("CN=O'Brien\\, Pat", "OU=Staff,DC=contoso,DC=test"));
        assert_eq!(split_rdn("CN=a\\\\,OU=x"), ("CN=a\\\\", "OU=x"));
        assert_eq!(split_rdn("DC=test"), ("DC=test", ""));
        assert!(dn_eq("OU=Disabled Users, DC=Contoso,DC=test", "ou=disabled users,dc=contoso,dc=test"));
        assert!(dn_within("CN=x,OU=Disabled Users,DC=contoso,DC=test", "OU=Disabled Users,DC=contoso,DC=test"));
        assert!(!dn_within("CN=x,OU=Archive,DC=contoso,DC=test", "OU=Disabled Users,DC=contoso,DC=test"));
        assert!(!dn_within("CN=x,OU=xDisabled Users,DC=contoso,DC=test", "OU=Disabled Users,DC=contoso,DC=test"));
        assert_eq!(rdn_value("CN=O'Brien\\, Pat,OU=Staff"), "O'Brien, Pat");
        assert_eq!(rdn_value("CN=Star *)(cn\\3D*,OU=Staff"), "Star *)(cn=*");
    }

    #[test]
    fn rdns_are_escaped_by_rfc_4514() {
        assert_eq!(cn_rdn("O'Brien, Pat"), "CN=O'Brien\\2c Pat");
        assert_eq!(cn_rdn("#lead"), "CN=\\23lead");
        assert_eq!(cn_rdn("trailing "), "CN=trailing\\20");
        assert_eq!(cn_rdn("a\0b"), "CN=a\\00b");
        assert_eq!(cn_rdn("x=y+z;<>\"\\"), "CN=x\\3dy\\2bz\\3b\\3c\\3e\\22\\5c");
        // Whatever the escaping, reading the RDN back gives the original value.
        for s in ["O'Brien, Pat", "#lead", "trailing ", "Star *)(cn=*", "x=y+z;<>\"\\"] {
            assert_eq!(rdn_value(&format!("{},OU=x", cn_rdn(s))), s);
        }
    }

    #[test]
    fn guids_round_trip_and_filetimes_convert() {
        let s = "01234567-89ab-cdef-0123-456789abcdef";
        let b = guid_to_bytes(s).unwrap();
        assert_eq!(&b[..4], &[0x67, 0x45, 0x23, 0x01]);
        assert_eq!(guid_to_string(&b).unwrap(), s);
        assert!(guid_to_bytes("not-a-guid").is_none());
        let t = filetime_to_utc(133_000_000_000_000_000).unwrap();
        assert_eq!(t.format("%Y").to_string(), "2022");
        assert!(filetime_to_utc(0).is_none());
    }

    #[test]
    fn remote_shared_values() {
        assert_eq!(remote_shared_type(Some(4)), 100);
        assert_eq!(remote_shared_type(None), 100);
        assert_eq!(remote_shared_type(Some(1)), 97);
        let x =
            ExchangeAttrs { remote_recipient_type: Some(100), recipient_type_details: Some(REMOTE_SHARED_DETAILS), ..Default::default() };
        assert!(x.is_remote_shared());
        let y = ExchangeAttrs { remote_recipient_type: Some(4), recipient_type_details: Some(2_147_483_648), ..Default::default() };
        assert!(!y.is_remote_shared());
        assert_eq!(GroupScope::from_group_type(-2147483646), GroupScope::Global);
        assert_eq!(GroupScope::from_group_type(-2147483640), GroupScope::Universal);
        assert_eq!(GroupScope::from_group_type(-2147483644), GroupScope::DomainLocal);
    }
}
