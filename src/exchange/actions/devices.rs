//! `remove_mobile_device`: one step per ActiveSync partnership, from `Get-MobileDevice -Mailbox`.
//!
//! Optionally first block the device (`Set-CASMailbox -ActiveSyncBlockedDeviceIDs @{add=<id>}`, so
//! it cannot simply sync again) or wipe it (`Clear-MobileDevice`), then `Remove-MobileDevice`
//! removes the partnership. Run it before the shared conversion: a remote wipe is not possible
//! afterwards (MicrosoftDocs/microsoft-365-docs PR #7591).

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::json;

use super::DIRECTORY;
use crate::entra::actions::UserRef;
use crate::exchange::reads::{key as exo_key, Obj};
use crate::exchange::ExchangeAccess;
use crate::exchange::MobileDevice;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct RemoveMobileDevice {
    pub user: UserRef,
    pub device: MobileDevice,
    pub block: bool,
    pub wipe: bool,
    /// The block / wipe already went through: when the executor re-sends after an unclear reply
    /// to the removal, only the removal is sent again.
    blocked: AtomicBool,
    wiped: AtomicBool,
}

impl RemoveMobileDevice {
    pub fn new(user: UserRef, device: MobileDevice, block: bool, wipe: bool) -> Self {
        RemoveMobileDevice { user, device, block, wipe, blocked: AtomicBool::new(false), wiped: AtomicBool::new(false) }
    }
}

#[async_trait]
impl Action for RemoveMobileDevice {
    fn action(&self) -> &'static str {
        "remove_mobile_device"
    }
    fn directory(&self) -> &'static str {
        DIRECTORY
    }
    fn target(&self) -> Target {
        Target { kind: "mobile_device", id: self.device.identity.clone(), display: self.device.label() }
    }
    fn subject_id(&self) -> String {
        self.user.id.clone()
    }
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.upn, "block": self.block, "wipe": self.wipe})
    }
    fn idempotent(&self) -> bool {
        true
    }
    fn stale_reads(&self) -> Vec<String> {
        vec![exo_key(Obj::Devices, &self.user.upn)]
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let devices = super::reads(cx)?.mobile_devices(&self.user.upn).await?;
        let Some(d) = devices.iter().find(|d| d.identity == self.device.identity) else {
            return Ok(Observation::AlreadyDone { detail: "the device partnership is already removed".into() });
        };
        let mut steps = Vec::new();
        if self.block {
            steps.push("block");
        }
        if self.wipe {
            steps.push("wipe");
        }
        steps.push("remove the partnership");
        Ok(Observation::Needed {
            prior: json!({"device": d, "devices": devices}),
            detail: format!("{} of {}", steps.join(", then "), d.label()),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let exo = cx.exchange()?;
        let mut done = Vec::new();
        if self.block {
            if !self.blocked.load(Ordering::SeqCst) {
                exo.block_device(&self.user.upn, &self.device.device_id).await?;
                self.blocked.store(true, Ordering::SeqCst);
            }
            done.push("blocked");
        }
        if self.wipe {
            if !self.wiped.load(Ordering::SeqCst) {
                exo.wipe_device(&self.user.upn, &self.device.identity).await?;
                self.wiped.store(true, Ordering::SeqCst);
            }
            done.push("wipe requested");
        }
        match exo.remove_device(&self.user.upn, &self.device.identity).await {
            Ok(()) => done.push("partnership removed"),
            Err(e) if e.is_not_found() => done.push("partnership was already gone"),
            Err(e) => return Err(e.into()),
        }
        Ok(done.join(", "))
    }
}
