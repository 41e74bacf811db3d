//! `remove_distribution_group_membership`: distribution lists and mail-enabled security groups are
//! read-only in Graph, so `Remove-DistributionGroupMember -Identity <group> -Member <upn>
//! -BypassSecurityGroupManagerCheck -Confirm:$false` (the bypass: we are not the group's manager).
//! Groups synced from AD are skipped: their members are changed on premises.

use async_trait::async_trait;
use serde_json::json;

use super::DIRECTORY;
use crate::entra::actions::UserRef;
use crate::exchange::reads::{key as exo_key, Obj};
use crate::exchange::ExchangeAccess;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct RemoveDistributionGroupMembership {
    pub user: UserRef,
    pub group_id: String,
    pub group_name: String,
    /// `distribution` or `mail_enabled_security` (from `user.groups`).
    pub kind: String,
    pub synced: bool,
}

#[async_trait]
impl Action for RemoveDistributionGroupMembership {
    fn action(&self) -> &'static str {
        "remove_distribution_group_membership"
    }
    fn directory(&self) -> &'static str {
        DIRECTORY
    }
    fn target(&self) -> Target {
        Target { kind: "group", id: self.group_id.clone(), display: self.group_name.clone() }
    }
    fn subject_id(&self) -> String {
        self.user.id.clone()
    }
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.upn, "kind": self.kind})
    }
    fn idempotent(&self) -> bool {
        true
    }
    fn stale_reads(&self) -> Vec<String> {
        vec![exo_key(Obj::Members, &self.group_id)]
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        if !matches!(self.kind.as_str(), "distribution" | "mail_enabled_security") {
            return Ok(Observation::Skip { reason: format!("a {} group: Graph changes it (graph::remove_group_membership)", self.kind) });
        }
        if self.synced {
            if cx.providers.has_directory("ad") {
                return Ok(Observation::Skip { reason: "synced from AD: remove the member on premises".into() });
            }
            return Ok(Observation::NeedsAction {
                instruction: format!(
                    "in on-premises AD (offboard-host has no AD access for this client): remove {} from this synced group",
                    self.user.upn
                ),
            });
        }
        let members = super::reads(cx)?.group_members(&self.group_id).await?;
        if !members.iter().any(|m| m.is(&self.user.upn) || m.is(&self.user.id)) {
            return Ok(Observation::AlreadyDone { detail: format!("{} is not a member", self.user.upn) });
        }
        Ok(Observation::Needed {
            prior: json!({"groupId": self.group_id, "displayName": self.group_name, "kind": self.kind, "member": self.user.upn}),
            detail: format!("remove {} from this {} group", self.user.upn, self.kind.replace('_', " ")),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.exchange()?.remove_distribution_group_member(&self.group_id, &self.user.upn).await {
            Ok(()) => Ok("removed".into()),
            Err(e) if e.is_not_found() => Ok("was no longer a member".into()),
            Err(e) => Err(e.into()),
        }
    }
}
