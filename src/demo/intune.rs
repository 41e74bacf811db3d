//! Intune managed devices: `GET /users/{id}/managedDevices` and the `retire` / `wipe` actions on
//! `/deviceManagement/managedDevices/{id}`. Devices are kept in the state file (`managedDevices`);
//! a retire or wipe sets `managementState` to `retirePending` / `wipePending`, as Intune does until
//! the device checks in. With the `no_intune` knob the list answers 403, as a tenant without Intune
//! (or an app without the permission) does.

use serde_json::Value;

pub use super::model::ManagedDevice;
use super::model::State;
use super::odata::{self, check_select, context_url, project, Query};
use super::reply::{Ctx, Reply};

/// Every property `$select` may name on a managed device.
pub const DEVICE_PROPS: &[&str] = &[
    "id",
    "userId",
    "userPrincipalName",
    "deviceName",
    "operatingSystem",
    "osVersion",
    "managementState",
    "complianceState",
    "lastSyncDateTime",
    "enrolledDateTime",
    "managedDeviceOwnerType",
    "serialNumber",
    "model",
    "manufacturer",
];

pub fn list(st: &State, ctx: &Ctx, id: &str, q: &Query, path: &str, no_intune: bool) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    if no_intune {
        return no_permission(ctx);
    }
    let props = match select_props(q, ctx) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let uid = &st.users[uix].id;
    let items: Vec<Value> = st
        .managed_devices
        .iter()
        .filter(|d| d.user_id.eq_ignore_ascii_case(uid))
        .map(|d| {
            let full = d.to_graph();
            Value::Object(match &props {
                Some(p) => project(&full, p),
                None => full,
            })
        })
        .collect();
    Reply::json(200, odata::page(items, q, path, ctx, context_url(&format!("users('{uid}')/managedDevices"), q.select.as_deref())))
}

fn select_props(q: &Query, ctx: &Ctx) -> Result<Option<Vec<String>>, Reply> {
    q.select.as_ref().map(|s| check_select(s, DEVICE_PROPS, "microsoft.graph.managedDevice", ctx)).transpose()
}

fn no_permission(ctx: &Ctx) -> Reply {
    ctx.error(403, "Forbidden", "Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementManagedDevices.Read.All, DeviceManagementManagedDevices.ReadWrite.All")
}

fn no_device(ctx: &Ctx, device_id: &str) -> Reply {
    ctx.error(
        404,
        "ResourceNotFound",
        &format!(
            "{{\"_version\": 3, \"Message\": \"No managed device '{device_id}' - Operation ID (for customer support): {}\"}}",
            ctx.request_id
        ),
    )
}

/// `GET /deviceManagement/managedDevices/{id}`.
pub fn get(st: &State, ctx: &Ctx, device_id: &str, q: &Query, no_intune: bool) -> Reply {
    if no_intune {
        return no_permission(ctx);
    }
    let props = match select_props(q, ctx) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(d) = st.managed_devices.iter().find(|d| d.id.eq_ignore_ascii_case(device_id)) else { return no_device(ctx, device_id) };
    let full = d.to_graph();
    let mut m = match &props {
        Some(p) => project(&full, p),
        None => full,
    };
    m.insert(
        "@odata.context".into(),
        serde_json::json!(format!("{}/$entity", context_url("deviceManagement/managedDevices", q.select.as_deref()))),
    );
    Reply::json(200, Value::Object(m))
}

/// `POST /users/{id}/managedDevices/{id}/retire|wipe`: a device of another user is not found.
pub fn user_action(st: &mut State, ctx: &Ctx, user: &str, device_id: &str, wipe: bool, body: &[u8]) -> Reply {
    let Some(uix) = st.user_index(user) else { return ctx.not_found(user) };
    let uid = st.users[uix].id.clone();
    if !st.managed_devices.iter().any(|d| d.id.eq_ignore_ascii_case(device_id) && d.user_id.eq_ignore_ascii_case(&uid)) {
        return no_device(ctx, device_id);
    }
    action(st, ctx, device_id, wipe, body)
}

/// `retire` or `wipe` (with its body checked): 204, the state pending until the device checks in.
pub fn action(st: &mut State, ctx: &Ctx, device_id: &str, wipe: bool, body: &[u8]) -> Reply {
    if wipe && !body.is_empty() {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return ctx.bad_request("Unable to read JSON request payload.");
        };
        for k in ["keepEnrollmentData", "keepUserData"] {
            if !v.get(k).is_none_or(Value::is_boolean) {
                return ctx.bad_request(&format!("Invalid value for '{k}'."));
            }
        }
    }
    let Some(d) = st.managed_devices.iter_mut().find(|d| d.id.eq_ignore_ascii_case(device_id)) else {
        return no_device(ctx, device_id);
    };
    d.management_state = if wipe { "wipePending" } else { "retirePending" }.into();
    Reply::no_content()
}

/// The seeded devices: a company-owned laptop and a personal phone for leaver.cloud, and one
/// ordinary user's laptop (so the list is filtered by user).
pub fn seed(users: &[super::model::User]) -> Vec<ManagedDevice> {
    use super::ids::*;
    let synced = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut out = vec![
        ManagedDevice {
            id: MANAGED_DEVICE_LAPTOP.into(),
            user_id: LEAVER_CLOUD_ID.into(),
            user_principal_name: LEAVER_CLOUD_UPN.into(),
            device_name: "CONTOSO-LT-0142".into(),
            operating_system: "Windows".into(),
            os_version: "10.0.22631.4460".into(),
            managed_device_owner_type: "company".into(),
            serial_number: "PF3K9X2A".into(),
            model: "ThinkPad T14 Gen 4".into(),
            manufacturer: "LENOVO".into(),
            ..device(synced(1), synced(300))
        },
        ManagedDevice {
            id: MANAGED_DEVICE_PHONE.into(),
            user_id: LEAVER_CLOUD_ID.into(),
            user_principal_name: LEAVER_CLOUD_UPN.into(),
            device_name: "Lee's iPhone".into(),
            operating_system: "iOS".into(),
            os_version: "18.1.1".into(),
            managed_device_owner_type: "personal".into(),
            serial_number: "F2LXK0Q1N72J".into(),
            model: "iPhone 15".into(),
            manufacturer: "Apple".into(),
            ..device(synced(2), synced(200))
        },
    ];
    if let Some(u) = users.get(3) {
        out.push(ManagedDevice {
            id: super::ids::derived_id("managedDevice", &u.user_principal_name),
            user_id: u.id.clone(),
            user_principal_name: u.user_principal_name.clone(),
            device_name: "CONTOSO-LT-0007".into(),
            operating_system: "Windows".into(),
            os_version: "10.0.22631.4460".into(),
            managed_device_owner_type: "company".into(),
            serial_number: "PF3K1B7C".into(),
            model: "ThinkPad T14 Gen 4".into(),
            manufacturer: "LENOVO".into(),
            ..device(synced(0), synced(500))
        });
    }
    out
}

fn device(last_sync: String, enrolled: String) -> ManagedDevice {
    ManagedDevice {
        management_state: "managed".into(),
        compliance_state: "compliant".into(),
        last_sync_date_time: last_sync,
        enrolled_date_time: enrolled,
        ..ManagedDevice::default()
    }
}
