//! What we read from Exchange Online, parsed from the cmdlet output objects into plain types.
//!
//! InvokeCommand returns the PowerShell objects serialised as JSON with their PowerShell property
//! names (`RecipientTypeDetails`, `ForwardingSmtpAddress`, ...). Only what the actions need is kept.

use serde::Serialize;
use serde_json::Value;

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}
fn b(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}
fn strings(v: &Value, k: &str) -> Vec<String> {
    match v.get(k) {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => vec![],
    }
}

/// `Get-Mailbox` output.
/// 49 GB: a shared mailbox over 50 GB needs a licence (warned from 49 GB, CIPP's threshold).
pub const LARGE_MAILBOX_BYTES: u64 = 49 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mailbox {
    pub identity: String,
    pub upn: String,
    pub primary_smtp: String,
    /// `UserMailbox`, `SharedMailbox`, `RoomMailbox`, ...
    pub type_details: String,
    pub hidden: bool,
    /// Internal forwarding target (a recipient's identity), set by an admin.
    pub forwarding_address: Option<String>,
    /// External forwarding (`smtp:x@y`), what a user sets in Outlook on the web.
    pub forwarding_smtp: Option<String>,
    pub deliver_and_forward: bool,
    pub dir_synced: bool,
    /// Exchange attributes mastered in the cloud even though the user is synced.
    pub cloud_managed: bool,
    /// An online archive is enabled (`ArchiveStatus` Active).
    pub archive: bool,
    /// The holds on the mailbox: `litigation hold` (`LitigationHoldEnabled`) and each of
    /// `InPlaceHolds` (eDiscovery and retention policies).
    pub holds: Vec<String>,
}

impl Mailbox {
    pub fn from_exo(v: &Value) -> Mailbox {
        Mailbox {
            identity: s(v, "Identity").unwrap_or_default(),
            upn: s(v, "UserPrincipalName").unwrap_or_default(),
            primary_smtp: s(v, "PrimarySmtpAddress").unwrap_or_default(),
            type_details: s(v, "RecipientTypeDetails").unwrap_or_default(),
            hidden: b(v, "HiddenFromAddressListsEnabled"),
            forwarding_address: s(v, "ForwardingAddress"),
            forwarding_smtp: s(v, "ForwardingSmtpAddress"),
            deliver_and_forward: b(v, "DeliverToMailboxAndForward"),
            dir_synced: b(v, "IsDirSynced"),
            cloud_managed: b(v, "IsExchangeCloudManaged"),
            archive: s(v, "ArchiveStatus").is_some_and(|a| a.eq_ignore_ascii_case("Active")),
            holds: b(v, "LitigationHoldEnabled")
                .then(|| "litigation hold".to_string())
                .into_iter()
                .chain(v.get("InPlaceHolds").and_then(Value::as_array).into_iter().flatten().filter_map(|h| h.as_str().map(String::from)))
                .collect(),
        }
    }

    pub fn is_shared(&self) -> bool {
        self.type_details == "SharedMailbox"
    }

    /// The forwarding fields as the journal records them (the prior state of a forwarding change).
    pub fn forwarding_json(&self) -> Value {
        serde_json::json!({
            "ForwardingAddress": self.forwarding_address,
            "ForwardingSmtpAddress": self.forwarding_smtp,
            "DeliverToMailboxAndForward": self.deliver_and_forward,
        })
    }

    pub fn has_forwarding(&self) -> bool {
        self.forwarding_address.is_some() || self.forwarding_smtp.is_some()
    }
}

/// `Get-Recipient` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Recipient {
    pub identity: String,
    pub name: String,
    pub primary_smtp: String,
    pub type_details: String,
    /// The Entra object id, when the recipient is a cloud object.
    pub object_id: Option<String>,
}

impl Recipient {
    pub fn from_exo(v: &Value) -> Recipient {
        Recipient {
            identity: s(v, "Identity").unwrap_or_default(),
            name: s(v, "Name").or_else(|| s(v, "DisplayName")).unwrap_or_default(),
            primary_smtp: s(v, "PrimarySmtpAddress").unwrap_or_default(),
            type_details: s(v, "RecipientTypeDetails").unwrap_or_default(),
            object_id: s(v, "ExternalDirectoryObjectId"),
        }
    }

    /// Does `who` (UPN, address, identity or object id) name this recipient?
    pub fn is(&self, who: &str) -> bool {
        [Some(&self.identity), Some(&self.primary_smtp), Some(&self.name), self.object_id.as_ref()]
            .into_iter()
            .flatten()
            .any(|x| x.eq_ignore_ascii_case(who))
    }
}

/// One entry of `Get-MailboxPermission` or `Get-RecipientPermission`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Permission {
    /// `User` (mailbox permission) or `Trustee` (recipient permission).
    pub trustee: String,
    pub access_rights: Vec<String>,
    pub inherited: bool,
    pub deny: bool,
}

impl Permission {
    pub fn from_exo(v: &Value) -> Permission {
        Permission {
            trustee: s(v, "User").or_else(|| s(v, "Trustee")).unwrap_or_default(),
            access_rights: strings(v, "AccessRights"),
            inherited: b(v, "IsInherited"),
            deny: b(v, "Deny") || s(v, "AccessControlType").is_some_and(|t| t == "Deny"),
        }
    }

    pub fn grants(&self, right: &str, trustee: &Recipient) -> bool {
        !self.deny && trustee.is(&self.trustee) && self.access_rights.iter().any(|r| r.eq_ignore_ascii_case(right))
    }
}

/// `Get-MobileDevice` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MobileDevice {
    pub identity: String,
    /// The ActiveSync device id (what `ActiveSyncBlockedDeviceIDs` holds).
    pub device_id: String,
    pub friendly_name: String,
    pub model: String,
    pub os: String,
}

impl MobileDevice {
    pub fn from_exo(v: &Value) -> MobileDevice {
        MobileDevice {
            identity: s(v, "Identity").unwrap_or_default(),
            device_id: s(v, "DeviceId").unwrap_or_default(),
            friendly_name: s(v, "FriendlyName").unwrap_or_default(),
            model: s(v, "DeviceModel").unwrap_or_default(),
            os: s(v, "DeviceOS").unwrap_or_default(),
        }
    }

    pub fn label(&self) -> String {
        let name = if self.friendly_name.is_empty() { &self.model } else { &self.friendly_name };
        format!("{name} ({})", self.device_id)
    }
}

/// `Get-InboxRule` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InboxRule {
    pub identity: String,
    pub name: String,
    pub enabled: bool,
    pub description: String,
    /// Where the rule forwards or redirects to, if anywhere.
    pub forwards_to: Vec<String>,
}

impl InboxRule {
    pub fn from_exo(v: &Value) -> InboxRule {
        let mut forwards_to = strings(v, "ForwardTo");
        forwards_to.extend(strings(v, "RedirectTo"));
        forwards_to.extend(strings(v, "ForwardAsAttachmentTo"));
        InboxRule {
            identity: s(v, "Identity").unwrap_or_default(),
            name: s(v, "Name").unwrap_or_default(),
            enabled: b(v, "Enabled"),
            description: s(v, "Description").unwrap_or_default(),
            forwards_to,
        }
    }

    /// Rules Exchange itself keeps (junk filtering, out-of-office): never removed.
    pub fn is_system(&self) -> bool {
        self.name == "Junk E-Mail Rule" || self.name.starts_with("Microsoft.Exchange.OOF.")
    }
}

/// The number of bytes in a `TotalItemSize` such as `"1.5 GB (1,610,612,736 bytes)"`.
pub fn parse_item_size(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let text = v.as_str()?;
    let inner = text.rsplit_once('(')?.1.split_once("bytes")?.0;
    inner.chars().filter(char::is_ascii_digit).collect::<String>().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_and_system_rules() {
        assert_eq!(parse_item_size(&json!("1.5 GB (1,610,612,736 bytes)")), Some(1_610_612_736));
        assert_eq!(parse_item_size(&json!(42)), Some(42));
        assert_eq!(parse_item_size(&json!("Unlimited")), None);
        let rule = |n: &str| InboxRule::from_exo(&json!({"Name": n, "Identity": "x"}));
        assert!(rule("Junk E-Mail Rule").is_system());
        assert!(rule("Microsoft.Exchange.OOF.KnownSenders.Rule").is_system());
        assert!(!rule("Forward invoices").is_system());
    }

    #[test]
    fn permissions_match_the_trustee_by_any_name() {
        let r = Recipient::from_exo(
            &json!({"Identity": "Morgan Manager", "PrimarySmtpAddress": "manager@contoso.test", "ExternalDirectoryObjectId": "m1"}),
        );
        let p = Permission::from_exo(&json!({"User": "manager@contoso.test", "AccessRights": ["FullAccess"], "IsInherited": false}));
        assert!(p.grants("FullAccess", &r));
        assert!(!p.grants("SendAs", &r));
        let deny = Permission::from_exo(&json!({"User": "m1", "AccessRights": "FullAccess", "Deny": true}));
        assert!(!deny.grants("FullAccess", &r));
    }
}
