//! The directory objects the demo tenant holds, in the shape Graph names them.
//!
//! Objects are stored with Graph's camelCase property names so serialising one gives (almost) the
//! Graph representation; the few internal fields (the manager link, group members, a password hash)
//! are filtered out by [`User::to_graph`] and [`Group::to_graph`]. Memberships are stored on one side
//! only (the group's `members`) and `memberOf` is computed, so the two directions can never disagree.
//! Derived values (`assignedLicenses`, `consumedUnits`) are computed for the same reason.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::SimStats;

/// The whole tenant as persisted in the state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct State {
    pub tenant_id: String,
    pub domain: String,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub directory_roles: Vec<DirectoryRole>,
    pub skus: Vec<Sku>,
    /// Exchange Online: mailboxes and accepted domains.
    pub exchange: super::exchange::model::ExoState,
    pub stats: SimStats,
    /// The simulated PSAs (tickets, notes, contacts).
    pub psa: super::psa::model::PsaState,
    /// Mail sent through `POST /users/{id}/sendMail`, oldest first.
    pub sent_mail: Vec<SentMail>,
    /// Intune managed devices (`/users/{id}/managedDevices`, `/deviceManagement/managedDevices`).
    pub managed_devices: Vec<ManagedDevice>,
    /// Users' registered authentication methods (`/users/{id}/authentication/...`).
    pub auth_methods: Vec<AuthMethod>,
    /// Enterprise applications: what consents and app role assignments point at.
    pub service_principals: Vec<ServicePrincipal>,
    /// Delegated consents (`/oauth2PermissionGrants`).
    pub oauth2_permission_grants: Vec<PermissionGrant>,
    /// Users' app role assignments (`/users/{id}/appRoleAssignments`).
    pub app_role_assignments: Vec<AppRoleAssignment>,
    /// OneDrive for Business drives: only users who have opened theirs have one.
    pub drives: Vec<Drive>,
    /// Lower-cased id and UPN → position in `users`, built on first lookup. Users are never added,
    /// removed or reordered, and neither id nor UPN is writable, so it never goes stale; a reset
    /// replaces the whole state and with it the index.
    #[serde(skip)]
    pub(super) user_ix: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
}

/// One licence assignment path: direct (`assignedByGroup` null) or inherited from a group.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct LicenseState {
    pub sku_id: String,
    pub assigned_by_group: Option<String>,
    pub state: String,
    pub error: String,
    pub disabled_plans: Vec<String>,
    pub last_updated_date_time: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub account_enabled: bool,
    pub employee_id: Option<String>,
    pub usage_location: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    pub on_premises_immutable_id: Option<String>,
    pub on_premises_sam_account_name: Option<String>,
    pub on_premises_distinguished_name: Option<String>,
    pub on_premises_domain_name: Option<String>,
    pub proxy_addresses: Vec<String>,
    pub business_phones: Vec<String>,
    pub mobile_phone: Option<String>,
    pub office_location: Option<String>,
    pub preferred_language: Option<String>,
    pub created_date_time: Option<String>,
    pub sign_in_sessions_valid_from_date_time: Option<String>,
    pub last_password_change_date_time: Option<String>,
    /// When the user leaves (set by HR or an HR-driven provisioning; Lifecycle Workflows' leaver
    /// trigger). Not in the default projection: read with `$select`.
    pub employee_leave_date_time: Option<String>,
    pub license_assignment_states: Vec<LicenseState>,
    /// Internal: the manager's object id.
    pub manager_id: Option<String>,
    /// Internal: SHA-256 hex of the last password set; the password itself is never stored.
    pub password_sha256: Option<String>,
}

/// Every property `$select` may name on a user.
pub const USER_PROPS: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "jobTitle",
    "department",
    "accountEnabled",
    "employeeId",
    "usageLocation",
    "onPremisesSyncEnabled",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "proxyAddresses",
    "businessPhones",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "createdDateTime",
    "signInSessionsValidFromDateTime",
    "lastPasswordChangeDateTime",
    "employeeLeaveDateTime",
    "assignedLicenses",
    "licenseAssignmentStates",
];

/// Graph's default user projection when no `$select` is given. Deliberately small: a client that
/// forgets `$select` sees no `accountEnabled`, just like against the real service.
pub const USER_DEFAULT_PROPS: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

impl User {
    /// The SKUs the user holds, each once, whether direct or inherited (Graph's `assignedLicenses`).
    pub fn assigned_licenses(&self) -> Vec<Value> {
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for s in &self.license_assignment_states {
            if !seen.contains(&s.sku_id.as_str()) {
                seen.push(&s.sku_id);
                out.push(serde_json::json!({"disabledPlans": s.disabled_plans, "skuId": s.sku_id}));
            }
        }
        out
    }

    pub fn has_sku(&self, sku_id: &str) -> bool {
        self.license_assignment_states.iter().any(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
    }

    pub fn is_synced(&self) -> bool {
        self.on_premises_sync_enabled == Some(true)
    }

    /// The full Graph representation (every modelled property, none of the internal ones).
    pub fn to_graph(&self) -> Map<String, Value> {
        let mut m = graph_object(self, &["managerId", "passwordSha256"]);
        m.insert("assignedLicenses".into(), Value::Array(self.assigned_licenses()));
        m
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AssignedLicense {
    pub disabled_plans: Vec<String>,
    pub sku_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub group_types: Vec<String>,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub membership_rule: Option<String>,
    pub membership_rule_processing_state: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    pub assigned_licenses: Vec<AssignedLicense>,
    pub is_assignable_to_role: Option<bool>,
    pub created_date_time: Option<String>,
    /// `["Team"]` for a group that has a Microsoft Teams team.
    pub resource_provisioning_options: Vec<String>,
    /// Internal: member user ids, in insertion order.
    pub members: Vec<String>,
    /// Internal: owner user ids, in insertion order.
    pub owners: Vec<String>,
}

/// Every property `$select` may name on a group (the default projection is all of them).
pub const GROUP_PROPS: &[&str] = &[
    "id",
    "displayName",
    "description",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "mail",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesSyncEnabled",
    "assignedLicenses",
    "isAssignableToRole",
    "createdDateTime",
    "resourceProvisioningOptions",
];

impl Group {
    pub fn is_dynamic(&self) -> bool {
        self.group_types.iter().any(|t| t == "DynamicMembership")
    }
    pub fn is_unified(&self) -> bool {
        self.group_types.iter().any(|t| t == "Unified")
    }
    pub fn is_synced(&self) -> bool {
        self.on_premises_sync_enabled == Some(true)
    }
    pub fn to_graph(&self) -> Map<String, Value> {
        graph_object(self, &["members", "owners"])
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DirectoryRole {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub role_template_id: String,
    /// Internal: member user ids.
    pub members: Vec<String>,
}

pub const ROLE_PROPS: &[&str] = &["id", "displayName", "description", "roleTemplateId"];

impl DirectoryRole {
    pub fn to_graph(&self) -> Map<String, Value> {
        graph_object(self, &["members"])
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Sku {
    pub sku_id: String,
    pub sku_part_number: String,
    /// Seats bought (`prepaidUnits.enabled`).
    pub enabled_units: u64,
    /// What the SKU includes: (`servicePlanId`, `servicePlanName`), as Microsoft publishes them.
    pub service_plans: Vec<(String, String)>,
}

impl Sku {
    /// `servicePlans` as Graph shows them (`servicePlanInfo`).
    pub fn service_plans_json(&self) -> Value {
        let plans = self.service_plans.iter().map(|(id, name)| {
            serde_json::json!({"servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"})
        });
        Value::Array(plans.collect())
    }
}

/// `object` as Graph shows it: its stored properties (already in Graph's camelCase) without the
/// `internal` ones, which exist only so the simulator can keep links and secrets.
pub(super) fn graph_object(object: &impl Serialize, internal: &[&str]) -> Map<String, Value> {
    let mut m = match serde_json::to_value(object) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for key in internal {
        m.remove(*key);
    }
    m
}

impl State {
    pub fn user_index(&self, id_or_upn: &str) -> Option<usize> {
        let ix = self.user_ix.get_or_init(|| {
            let mut m = std::collections::HashMap::with_capacity(self.users.len() * 2);
            for (i, u) in self.users.iter().enumerate() {
                m.insert(u.id.to_ascii_lowercase(), i);
                m.insert(u.user_principal_name.to_ascii_lowercase(), i);
            }
            m
        });
        ix.get(&id_or_upn.to_ascii_lowercase()).copied()
    }
    pub fn group_index(&self, id: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.id.eq_ignore_ascii_case(id))
    }
    pub fn sku(&self, sku_id: &str) -> Option<&Sku> {
        self.skus.iter().find(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
    }
    /// Seats in use: one per user holding the SKU by any path.
    pub fn consumed_units(&self, sku_id: &str) -> u64 {
        self.users.iter().filter(|u| u.has_sku(sku_id)).count() as u64
    }
}

/// One message the demo tenant "sent".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct SentMail {
    /// The message id in the sender's Sent Items.
    pub id: String,
    /// The sender mailbox's UPN.
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub sent_date_time: String,
    /// `singleValueExtendedProperties` the sender set (`id`, `value`): how a client finds its
    /// own message again.
    pub single_value_extended_properties: Vec<ExtendedProperty>,
    /// `saveToSentItems` (Graph's default is true): only then is the copy in Sent Items.
    pub saved_to_sent_items: bool,
}

/// A MAPI property set on a message (`singleValueLegacyExtendedProperty`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ExtendedProperty {
    pub id: String,
    pub value: String,
}

/// One enrolled device, with Graph's property names (`userId` links it to its user).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ManagedDevice {
    pub id: String,
    pub user_id: String,
    pub user_principal_name: String,
    pub device_name: String,
    pub operating_system: String,
    pub os_version: String,
    pub management_state: String,
    pub compliance_state: String,
    pub last_sync_date_time: String,
    pub enrolled_date_time: String,
    pub managed_device_owner_type: String,
    pub serial_number: String,
    pub model: String,
    pub manufacturer: String,
}

impl ManagedDevice {
    pub fn to_graph(&self) -> Map<String, Value> {
        graph_object(self, &[])
    }
}

/// One registered authentication method of a user.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct AuthMethod {
    pub id: String,
    pub user_id: String,
    /// The derived type's name, e.g. `phoneAuthenticationMethod`.
    pub kind: String,
    pub created_date_time: Option<String>,
    /// The derived type's own properties, with Graph's names.
    pub props: Map<String, Value>,
    /// The user's default MFA method (Graph does not show this in v1.0, but enforces it on delete).
    pub is_default: bool,
}

/// An enterprise application (service principal) and the app roles it defines.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    /// (app role id, value) pairs.
    pub app_roles: Vec<(String, String)>,
}

/// A delegated permission grant (consent), with Graph's property names.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct PermissionGrant {
    pub id: String,
    pub client_id: String,
    pub consent_type: String,
    pub principal_id: Option<String>,
    pub resource_id: String,
    pub scope: String,
}

/// An app role assigned to a user, with Graph's property names.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: String,
    pub app_role_id: String,
    pub created_date_time: String,
    pub principal_display_name: String,
    pub principal_id: String,
    pub principal_type: String,
    pub resource_display_name: String,
    pub resource_id: String,
}

impl AppRoleAssignment {
    pub fn to_graph(&self) -> Map<String, Value> {
        let mut m = graph_object(self, &[]);
        m.insert("deletedDateTime".into(), Value::Null);
        m
    }
}

/// A user's OneDrive: the drive, its root folder and the sharing permissions on the root.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct Drive {
    pub id: String,
    pub user_id: String,
    pub root_id: String,
    pub web_url: String,
    pub created_date_time: String,
    pub used_bytes: u64,
    pub permissions: Vec<DrivePermission>,
}

/// A permission on a drive item: who (a user of the tenant) and which roles.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct DrivePermission {
    pub id: String,
    /// `read`, `write` or `owner` (the drive owner's own, which cannot be removed).
    pub roles: Vec<String>,
    pub user_id: String,
    /// Set when the permission came from an invitation: was sign-in required, was mail sent.
    pub invited: bool,
    pub sign_in_required: bool,
    pub invitation_sent: bool,
}

/// Re-evaluate dynamic groups after a user's attributes changed, as Entra does (eventually; here
/// at once). Only rules of the form `user.<property> -eq "<value>"` are understood; a group with any
/// other rule keeps its members.
pub fn refresh_dynamic(st: &mut State) {
    let users: Vec<(String, Map<String, Value>)> = st.users.iter().map(|u| (u.id.clone(), u.to_graph())).collect();
    for g in st.groups.iter_mut().filter(|g| g.is_dynamic()) {
        let Some((prop, value)) = g.membership_rule.as_deref().and_then(parse_simple_rule) else { continue };
        g.members = users
            .iter()
            .filter(|(_, m)| m.get(&prop).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(&value)))
            .map(|(id, _)| id.clone())
            .collect();
    }
}

fn parse_simple_rule(rule: &str) -> Option<(String, String)> {
    let (lhs, rhs) = rule.split_once("-eq")?;
    let prop = lhs.trim().strip_prefix("user.")?.to_string();
    let value = rhs.trim().strip_prefix('"')?.strip_suffix('"')?.to_string();
    Some((prop, value))
}
