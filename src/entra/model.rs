//! What we know about a cloud user, parsed from Graph JSON into plain types.
//!
//! The classification of groups and licences lives here, in one place, because both the script
//! (which shows the technician what will happen) and the actions (which decide what to skip) use it.

use serde::Serialize;
use serde_json::Value;

/// The `$select` for a user: Graph returns only a small default set without it.
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,mail,accountEnabled,employeeId,jobTitle,department,\
onPremisesSyncEnabled,onPremisesSamAccountName,onPremisesDistinguishedName,onPremisesImmutableId,onPremisesDomainName,\
assignedLicenses,licenseAssignmentStates,signInSessionsValidFromDateTime,lastPasswordChangeDateTime";

pub const GROUP_SELECT: &str =
    "id,displayName,groupTypes,mailEnabled,securityEnabled,mail,membershipRule,onPremisesSyncEnabled,assignedLicenses";

#[derive(Debug, Clone, Serialize)]
pub struct CloudUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub account_enabled: bool,
    pub employee_id: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    /// Synced from on-premises AD: AD is the source of authority for most attributes.
    pub synced: bool,
    pub on_premises_sam: Option<String>,
    pub on_premises_dn: Option<String>,
    /// base64 of the AD account's ms-DS-ConsistencyGuid (or objectGUID): the sync's anchor,
    /// the one attribute that names the AD account whatever its UPN says.
    pub on_premises_immutable_id: Option<String>,
    pub on_premises_domain_name: Option<String>,
    pub sessions_valid_from: Option<String>,
    pub password_changed: Option<String>,
    pub manager: Option<Manager>,
    pub groups: Vec<Group>,
    pub licenses: Vec<License>,
}

/// An active Entra directory role the user holds (`memberOf/microsoft.graph.directoryRole`).
/// Activated roles only: a PIM-eligible role is not a membership until it is activated.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DirectoryRole {
    /// The activated role object's id (what `/directoryRoles/{id}/members` takes).
    pub id: String,
    pub display_name: String,
    /// The same for every tenant (Global Administrator is 62e90394-...), so `allowed_roles` may
    /// name a role by it.
    pub role_template_id: String,
}

impl DirectoryRole {
    pub fn from_graph(v: &Value) -> DirectoryRole {
        DirectoryRole {
            id: s(v, "id").unwrap_or_default(),
            display_name: s(v, "displayName").unwrap_or_default(),
            role_template_id: s(v, "roleTemplateId").unwrap_or_default(),
        }
    }

    /// Listed in the client's `allowed_roles` by display name or template id (either case).
    pub fn allowed_by(&self, allowed: &[String]) -> bool {
        allowed.iter().any(|a| a.eq_ignore_ascii_case(&self.display_name) || a.eq_ignore_ascii_case(&self.role_template_id))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Manager {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Security,
    Microsoft365,
    MailEnabledSecurity,
    Distribution,
}

impl GroupKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Security => "security",
            GroupKind::Microsoft365 => "microsoft365",
            GroupKind::MailEnabledSecurity => "mail_enabled_security",
            GroupKind::Distribution => "distribution",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub mail: Option<String>,
    pub kind: GroupKind,
    pub dynamic: bool,
    pub synced: bool,
    pub membership_rule: Option<String>,
    /// SKU ids this group assigns to its members.
    pub license_skus: Vec<String>,
}

/// Why Graph membership removal does not apply to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupHold {
    Dynamic,
    Synced,
    MailEnabled,
    AssignsLicenses,
}

impl Group {
    /// The reason this group's membership is not removed by `remove_group_membership`, if any.
    /// Order matters: a synced dynamic group is reported as dynamic (no directory can edit it).
    pub fn hold(&self) -> Option<GroupHold> {
        if self.dynamic {
            Some(GroupHold::Dynamic)
        } else if self.synced {
            Some(GroupHold::Synced)
        } else if matches!(self.kind, GroupKind::MailEnabledSecurity | GroupKind::Distribution) {
            Some(GroupHold::MailEnabled)
        } else if !self.license_skus.is_empty() {
            Some(GroupHold::AssignsLicenses)
        } else {
            None
        }
    }

    pub fn hold_reason(&self) -> Option<String> {
        self.hold().map(|h| match h {
            GroupHold::Dynamic => format!(
                "dynamic membership{}: change the user's attributes instead",
                self.membership_rule.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            GroupHold::Synced => "synced from on-premises AD: remove the membership in AD".to_string(),
            GroupHold::MailEnabled => format!(
                "{} is read-only in Graph: remove it in Exchange (Remove-DistributionGroupMember)",
                if self.kind == GroupKind::Distribution { "distribution list" } else { "mail-enabled security group" }
            ),
            GroupHold::AssignsLicenses => "assigns licences: left to the licence step (after the mailbox is kept)".to_string(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct License {
    pub sku_id: String,
    /// SKU part number (e.g. SPE_E3), or the id when the tenant does not list it.
    pub sku: String,
    /// Assigned directly to the user (removable with assignLicense).
    pub direct: bool,
    /// Groups that assign this SKU to the user.
    pub via_groups: Vec<String>,
    /// The SKU includes an Exchange Online mailbox plan (a service plan named `EXCHANGE_S_*`):
    /// a shared mailbox of 50 GB or more, with an archive or on hold needs such a licence.
    pub mailbox: bool,
}

/// What `/subscribedSkus` says of one SKU.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkuInfo {
    /// The part number (e.g. SPE_E3).
    pub part: String,
    /// One of its service plans is an Exchange Online mailbox (`EXCHANGE_S_*`).
    pub mailbox: bool,
}

impl SkuInfo {
    /// From one `subscribedSku`: its part number and `servicePlans[].servicePlanName`.
    pub fn from_graph(v: &Value) -> SkuInfo {
        let plans = v.get("servicePlans").and_then(Value::as_array).cloned().unwrap_or_default();
        SkuInfo {
            part: s(v, "skuPartNumber").unwrap_or_default(),
            mailbox: plans.iter().filter_map(|p| p.get("servicePlanName").and_then(Value::as_str)).any(|n| n.starts_with("EXCHANGE_S_")),
        }
    }
}

/// skuId (lower case) → what the tenant's subscriptions say of it.
pub type SkuMap = std::collections::HashMap<String, SkuInfo>;

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

impl CloudUser {
    /// Build from the user object, its `memberOf/microsoft.graph.group` items, its manager and a
    /// skuId → [`SkuInfo`] map.
    pub fn from_graph(user: &Value, groups: &[Value], manager: Option<&Value>, sku_names: &SkuMap) -> CloudUser {
        let groups: Vec<Group> = groups.iter().map(Group::from_graph).collect();
        CloudUser {
            id: s(user, "id").unwrap_or_default(),
            upn: s(user, "userPrincipalName").unwrap_or_default(),
            display_name: s(user, "displayName").unwrap_or_default(),
            mail: s(user, "mail"),
            account_enabled: user.get("accountEnabled").and_then(Value::as_bool).unwrap_or(false),
            employee_id: s(user, "employeeId").filter(|e| !e.is_empty()),
            job_title: s(user, "jobTitle"),
            department: s(user, "department"),
            synced: user.get("onPremisesSyncEnabled").and_then(Value::as_bool).unwrap_or(false),
            on_premises_sam: s(user, "onPremisesSamAccountName"),
            on_premises_dn: s(user, "onPremisesDistinguishedName"),
            on_premises_immutable_id: s(user, "onPremisesImmutableId"),
            on_premises_domain_name: s(user, "onPremisesDomainName"),
            sessions_valid_from: s(user, "signInSessionsValidFromDateTime"),
            password_changed: s(user, "lastPasswordChangeDateTime"),
            manager: manager.map(|m| Manager {
                id: s(m, "id").unwrap_or_default(),
                upn: s(m, "userPrincipalName").unwrap_or_default(),
                display_name: s(m, "displayName").unwrap_or_default(),
                mail: s(m, "mail"),
            }),
            licenses: licenses_from(user, sku_names),
            groups,
        }
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id.eq_ignore_ascii_case(id))
    }

    pub fn license(&self, sku_id: &str) -> Option<&License> {
        self.licenses.iter().find(|l| l.sku_id.eq_ignore_ascii_case(sku_id))
    }
}

impl Group {
    pub fn from_graph(g: &Value) -> Group {
        let types: Vec<&str> =
            g.get("groupTypes").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let mail_enabled = g.get("mailEnabled").and_then(Value::as_bool).unwrap_or(false);
        let security_enabled = g.get("securityEnabled").and_then(Value::as_bool).unwrap_or(false);
        let kind = if types.contains(&"Unified") {
            GroupKind::Microsoft365
        } else if mail_enabled && security_enabled {
            GroupKind::MailEnabledSecurity
        } else if mail_enabled {
            GroupKind::Distribution
        } else {
            GroupKind::Security
        };
        Group {
            id: s(g, "id").unwrap_or_default(),
            name: s(g, "displayName").unwrap_or_default(),
            mail: s(g, "mail"),
            kind,
            dynamic: types.contains(&"DynamicMembership"),
            synced: g.get("onPremisesSyncEnabled").and_then(Value::as_bool).unwrap_or(false),
            membership_rule: s(g, "membershipRule"),
            license_skus: g
                .get("assignedLicenses")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|l| s(l, "skuId")).collect())
                .unwrap_or_default(),
        }
    }
}

/// Direct vs group assignment comes from `licenseAssignmentStates` (`assignedByGroup` is null for
/// a direct assignment); a SKU can be both.
fn licenses_from(user: &Value, skus: &SkuMap) -> Vec<License> {
    // A SKU the tenant does not list: its id for a name, and assumed to carry a mailbox, so the
    // check that keeps a large mailbox's licence is not skipped for want of knowing.
    let new = |sku_id: String, direct: bool| {
        let info = skus.get(&sku_id.to_ascii_lowercase());
        let sku = info.map(|i| i.part.clone()).unwrap_or_else(|| sku_id.clone());
        License { mailbox: info.is_none_or(|i| i.mailbox), sku_id, sku, direct, via_groups: vec![] }
    };
    let mut out: Vec<License> = Vec::new();
    let states = user.get("licenseAssignmentStates").and_then(Value::as_array).cloned().unwrap_or_default();
    for st in &states {
        let Some(sku_id) = s(st, "skuId") else { continue };
        let idx = match out.iter().position(|l| l.sku_id == sku_id) {
            Some(i) => i,
            None => {
                out.push(new(sku_id.clone(), false));
                out.len() - 1
            }
        };
        match s(st, "assignedByGroup") {
            Some(g) => out[idx].via_groups.push(g),
            None => out[idx].direct = true,
        }
    }
    // A tenant that returns assignedLicenses without states: treat them as direct.
    if states.is_empty() {
        for l in user.get("assignedLicenses").and_then(Value::as_array).cloned().unwrap_or_default() {
            if let Some(sku_id) = s(&l, "skuId") {
                out.push(new(sku_id, true));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_groups() {
        let g = |v: Value| Group::from_graph(&v);
        assert_eq!(g(json!({"groupTypes":["Unified"],"mailEnabled":true,"securityEnabled":false})).kind, GroupKind::Microsoft365);
        assert_eq!(g(json!({"groupTypes":[],"mailEnabled":true,"securityEnabled":true})).hold(), Some(GroupHold::MailEnabled));
        assert_eq!(g(json!({"groupTypes":[],"mailEnabled":true,"securityEnabled":false})).kind, GroupKind::Distribution);
        assert_eq!(g(json!({"groupTypes":["DynamicMembership"],"securityEnabled":true})).hold(), Some(GroupHold::Dynamic));
        assert_eq!(g(json!({"groupTypes":[],"securityEnabled":true,"onPremisesSyncEnabled":true})).hold(), Some(GroupHold::Synced));
        assert_eq!(
            g(json!({"groupTypes":[],"securityEnabled":true,"assignedLicenses":[{"skuId":"x"}]})).hold(),
            Some(GroupHold::AssignsLicenses)
        );
        assert_eq!(g(json!({"groupTypes":[],"securityEnabled":true})).hold(), None);
    }

    #[test]
    fn splits_direct_and_group_licenses() {
        let user = json!({"licenseAssignmentStates":[
            {"skuId":"a","assignedByGroup":null},{"skuId":"b","assignedByGroup":"g1"},{"skuId":"a","assignedByGroup":"g2"}]});
        let e3 = json!({"skuPartNumber": "SPE_E3", "servicePlans": [{"servicePlanName": "SHAREPOINTENTERPRISE"}, {"servicePlanName": "EXCHANGE_S_ENTERPRISE"}]});
        let visio = json!({"skuPartNumber": "VISIOCLIENT", "servicePlans": [{"servicePlanName": "VISIO_CLIENT_SUBSCRIPTION"}]});
        let names = [("a".to_string(), SkuInfo::from_graph(&e3)), ("c".to_string(), SkuInfo::from_graph(&visio))].into_iter().collect();
        let u = CloudUser::from_graph(&user, &[], None, &names);
        assert_eq!(u.licenses.len(), 2);
        assert!(u.licenses[0].direct && u.licenses[0].via_groups == vec!["g2"] && u.licenses[0].sku == "SPE_E3");
        assert!(u.licenses[0].mailbox, "E3 carries Exchange Online Plan 2");
        // Unknown to the tenant: assumed to carry a mailbox.
        assert!(!u.licenses[1].direct && u.licenses[1].sku == "b" && u.licenses[1].mailbox);
        assert!(!SkuInfo::from_graph(&visio).mailbox);
    }
}

/// The `$select` for an Intune managed device.
pub const MANAGED_DEVICE_SELECT: &str =
    "id,deviceName,operatingSystem,osVersion,managementState,complianceState,lastSyncDateTime,managedDeviceOwnerType";

/// One Intune managed device of a user (`GET /users/{id}/managedDevices`). Serialised with Graph's
/// property names, so the journal's prior state is the device record as Graph gave it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedDevice {
    pub id: String,
    pub device_name: String,
    pub operating_system: String,
    pub os_version: String,
    /// `managed`, `retirePending`, `retireIssued`, `wipePending`, `wipeIssued`, ...
    pub management_state: String,
    pub compliance_state: String,
    pub last_sync_date_time: Option<String>,
    /// `company`, `personal` or `unknown`.
    pub managed_device_owner_type: String,
}

impl ManagedDevice {
    pub fn from_graph(v: &Value) -> ManagedDevice {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        ManagedDevice {
            id: s("id"),
            device_name: s("deviceName"),
            operating_system: s("operatingSystem"),
            os_version: s("osVersion"),
            management_state: s("managementState"),
            compliance_state: s("complianceState"),
            last_sync_date_time: v.get("lastSyncDateTime").and_then(Value::as_str).map(String::from),
            managed_device_owner_type: s("managedDeviceOwnerType"),
        }
    }

    /// `Lee's laptop (Windows 10.0.22631)`.
    pub fn label(&self) -> String {
        let name = if self.device_name.is_empty() { self.id.as_str() } else { self.device_name.as_str() };
        match (self.operating_system.is_empty(), self.os_version.is_empty()) {
            (true, _) => name.to_string(),
            (false, true) => format!("{name} ({})", self.operating_system),
            (false, false) => format!("{name} ({} {})", self.operating_system, self.os_version),
        }
    }

    /// A retire or wipe was already sent (pending on the device, or issued).
    pub fn retire_or_wipe_sent(&self) -> bool {
        ["retirePending", "retireIssued", "wipePending", "wipeIssued"].iter().any(|s| s.eq_ignore_ascii_case(&self.management_state))
    }

    pub fn is_company_owned(&self) -> bool {
        self.managed_device_owner_type.eq_ignore_ascii_case("company")
    }
}
