//! `retire_managed_device`: one step per Intune managed device of the user, from
//! `GET /users/{id}/managedDevices`.
//!
//! Retire (`POST /deviceManagement/managedDevices/{id}/retire`) removes company data, apps and
//! management; with `wipe` a company-owned device is factory reset instead
//! (`POST /deviceManagement/managedDevices/{id}/wipe`). A personal device is never wiped: it is
//! retired and the detail says so. Already done when Intune shows a retire or wipe pending or
//! issued, or the device is no longer enrolled. The prior state is the device record.
//!
//! [`IntuneUnavailable`] is the step a tenant without Intune (the list answered 403/400) gets
//! instead: skipped, with the reason.

use async_trait::async_trait;
use serde_json::json;

use super::UserRef;
use crate::entra::CloudAccess;
use crate::entra::ManagedDevice;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct RetireManagedDevice {
    pub user: UserRef,
    pub device: ManagedDevice,
    /// Asked for a wipe (applies to company-owned devices only).
    pub wipe: bool,
}

impl RetireManagedDevice {
    /// Will this step send a wipe (asked for, and the device is company-owned)?
    pub fn wipes(&self) -> bool {
        self.wipe && self.device.is_company_owned()
    }

    fn refused_wipe_note(&self) -> Option<String> {
        (self.wipe && !self.wipes()).then(|| {
            let owner = if self.device.managed_device_owner_type.is_empty() { "unknown" } else { &self.device.managed_device_owner_type };
            format!(" (wipe refused: the device is {owner}-owned, only company-owned devices are wiped; retired instead)")
        })
    }
}

#[async_trait]
impl Action for RetireManagedDevice {
    fn action(&self) -> &'static str {
        "retire_managed_device"
    }
    fn directory(&self) -> &'static str {
        "cloud"
    }
    fn target(&self) -> Target {
        Target { kind: "managed_device", id: self.device.id.clone(), display: self.device.label() }
    }
    fn subject_id(&self) -> String {
        self.user.id.clone()
    }
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.upn, "wipe": self.wipe, "owner": self.device.managed_device_owner_type, "sends": if self.wipes() { "wipe" } else { "retire" }})
    }
    fn idempotent(&self) -> bool {
        // A second retire asks for the same thing; a wipe is re-observed rather than re-sent.
        !self.wipes()
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let read = crate::entra::cached_managed_devices(&cx.cache, &cx.providers, &self.user.id).await?;
        let devices = match &read.list {
            Ok(d) => d.clone(),
            Err(e) if e.is_not_found() => vec![],
            Err(e) => return Err(e.clone().into()),
        };
        let Some(d) = devices.iter().find(|d| d.id.eq_ignore_ascii_case(&self.device.id)) else {
            return Ok(Observation::AlreadyDone { detail: "the device is no longer enrolled in Intune".into() });
        };
        if d.retire_or_wipe_sent() {
            return Ok(Observation::AlreadyDone { detail: format!("{} is already {}", d.label(), d.management_state) });
        }
        let what = if self.wipes() {
            format!("wipe {}: factory reset, every file on it erased", d.label())
        } else {
            format!("retire {}: remove company data, apps and management", d.label())
        };
        Ok(Observation::Needed {
            prior: serde_json::to_value(d).unwrap_or_default(),
            detail: format!("{what}{}", self.refused_wipe_note().unwrap_or_default()),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let cloud = cx.cloud()?;
        let (res, done) = if self.wipes() {
            (cloud.wipe_managed_device(&self.device.id).await, "wipe requested")
        } else {
            (cloud.retire_managed_device(&self.device.id).await, "retire requested")
        };
        match res {
            Ok(()) => Ok(format!("{done}{}", self.refused_wipe_note().unwrap_or_default())),
            Err(e) if e.is_not_found() => Ok("the device was already gone from Intune".into()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The step for a user whose Intune devices cannot be read (no Intune licence or permission):
/// skipped with the reason, never sent.
pub struct IntuneUnavailable {
    pub user: UserRef,
    pub reason: String,
}

#[async_trait]
impl Action for IntuneUnavailable {
    user_action!("retire_managed_device", idempotent = true);

    async fn observe(&self, _cx: &Cx) -> Result<Observation, ActionError> {
        Ok(Observation::Skip { reason: format!("no Intune managed devices retired: {}", self.reason) })
    }

    async fn apply(&self, _cx: &Cx) -> Result<String, ActionError> {
        Err(ActionError::Other("Intune is not available in this tenant".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(owner: &str, wipe: bool) -> RetireManagedDevice {
        let device = ManagedDevice::from_graph(&json!({
            "id": "d1", "deviceName": "PC-1", "operatingSystem": "Windows", "osVersion": "10.0",
            "managementState": "managed", "managedDeviceOwnerType": owner,
        }));
        RetireManagedDevice { user: UserRef { id: "u1".into(), upn: "u@x.test".into() }, device, wipe }
    }

    #[test]
    fn only_company_owned_devices_are_wiped() {
        assert!(step("company", true).wipes());
        assert!(!step("company", false).wipes());
        for owner in ["personal", "unknown", ""] {
            let s = step(owner, true);
            assert!(!s.wipes(), "{owner}");
            assert!(s.refused_wipe_note().unwrap().contains("wipe refused"), "{owner}");
            assert!(s.idempotent());
        }
        assert!(step("personal", false).refused_wipe_note().is_none());
        assert!(!step("company", true).idempotent(), "a wipe is re-observed, not re-sent");
        assert_eq!(step("company", false).target().display, "PC-1 (Windows 10.0)");
    }

    #[test]
    fn pending_or_issued_retire_and_wipe_count_as_sent() {
        for (state, sent) in [
            ("managed", false),
            ("retirePending", true),
            ("retireIssued", true),
            ("wipePending", true),
            ("wipeIssued", true),
            ("retireFailed", false),
        ] {
            let mut d = step("company", false).device;
            d.management_state = state.into();
            assert_eq!(d.retire_or_wipe_sent(), sent, "{state}");
        }
    }
}
