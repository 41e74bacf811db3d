//! Intune managed devices: the per-user list, retire and wipe, and a tenant without Intune.

use super::*;

const SELECT: &str =
    "$select=id,deviceName,operatingSystem,osVersion,managementState,complianceState,lastSyncDateTime,managedDeviceOwnerType";

#[tokio::test]
async fn managed_devices_list_retire_wipe_and_unknown_device() {
    let t = start().await;
    let (s, v) = t.get(&format!("/users/{LEAVER_CLOUD_UPN}/managedDevices?{SELECT}")).await;
    assert_eq!(s, 200, "{v}");
    let items = v["value"].as_array().expect("value");
    assert_eq!(items.len(), 2);
    let laptop = items.iter().find(|d| d["id"] == MANAGED_DEVICE_LAPTOP).expect("laptop");
    assert_eq!(laptop["operatingSystem"], "Windows");
    assert_eq!(laptop["managedDeviceOwnerType"], "company");
    assert_eq!(laptop["managementState"], "managed");
    assert!(laptop.get("serialNumber").is_none(), "$select applies");
    let phone = items.iter().find(|d| d["id"] == MANAGED_DEVICE_PHONE).expect("phone");
    assert_eq!(phone["managedDeviceOwnerType"], "personal");
    // Paged like every collection.
    let (_, p) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/managedDevices?$top=1")).await;
    assert_eq!(p["value"].as_array().expect("v").len(), 1);
    assert!(p["@odata.nextLink"].is_string());
    // Nobody else's devices; the manager has none.
    let (_, m) = t.get(&format!("/users/{MANAGER_ID}/managedDevices")).await;
    assert_eq!(m["value"].as_array().expect("v").len(), 0);
    let (s, _) = t.get("/users/nobody@contoso.test/managedDevices").await;
    assert_eq!(s, 404);
    let (s, v) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/managedDevices?$select=bogus")).await;
    assert_eq!(s, 400, "{v}");

    let (s, _, _) = t.call("POST", &format!("/deviceManagement/managedDevices/{MANAGED_DEVICE_PHONE}/retire"), None).await;
    assert_eq!(s, 204);
    let wipe = json!({"keepEnrollmentData": false, "keepUserData": false});
    let (s, _, _) = t.call("POST", &format!("/deviceManagement/managedDevices/{MANAGED_DEVICE_LAPTOP}/wipe"), Some(wipe.clone())).await;
    assert_eq!(s, 204);
    let (_, v) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/managedDevices?{SELECT}")).await;
    let state_of = |id: &str| v["value"].as_array().expect("v").iter().find(|d| d["id"] == id).expect("device")["managementState"].clone();
    assert_eq!(state_of(MANAGED_DEVICE_PHONE), "retirePending");
    assert_eq!(state_of(MANAGED_DEVICE_LAPTOP), "wipePending");
    // Persisted, and counted as writes.
    let st = t.state().await;
    let dev = st["managedDevices"].as_array().expect("devices").iter().find(|d| d["id"] == MANAGED_DEVICE_LAPTOP).expect("laptop").clone();
    assert_eq!(dev["managementState"], "wipePending");
    assert_eq!(st["stats"]["writes_applied"], 2, "{}", st["stats"]);

    let bogus = "00000000-0000-0000-0000-000000000000";
    let (s, v, _) = t.call("POST", &format!("/deviceManagement/managedDevices/{bogus}/retire"), None).await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "ResourceNotFound");
    assert!(v["error"]["innerError"]["request-id"].is_string(), "{v}");
    let (s, _) = t.get(&format!("/deviceManagement/managedDevices/{MANAGED_DEVICE_LAPTOP}/retire")).await;
    assert_eq!(s, 405);
}

#[tokio::test]
async fn a_tenant_without_intune_answers_403_on_the_list() {
    let t = start_with(Knobs { no_intune: true, ..Knobs::default() }).await;
    let (s, v) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/managedDevices?{SELECT}")).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "Forbidden");
}
