//! `remove_group_membership`: `DELETE /groups/{gid}/members/{uid}/$ref`, and
//! `add_group_membership`: `POST /groups/{gid}/members/$ref` (e.g. a group that a Conditional
//! Access policy blocks sign-in for).
//!
//! Only assigned security and Microsoft 365 groups are changed here. Dynamic groups (computed),
//! synced groups (mastered in AD), mail-enabled security groups and distribution lists (read-only
//! in Graph) are skipped with the reason. Groups that assign licences are skipped too unless the
//! script asks for them: removing them early can take the mailbox licence before the mailbox is
//! kept (CIPP #3968), so the default script removes them in the licence phase.

use async_trait::async_trait;
use serde_json::json;

use super::UserRef;
use crate::entra::CloudAccess;
use crate::entra::CloudUsers;
use crate::entra::GroupHold;
use crate::exec::{Action, ActionError, Cx, Observation};

/// A membership this step does not remove: `skipped` when another step of the run removes it
/// (the licence step; the AD or Exchange step when the run can write there), `needs_action` with
/// the instruction when nothing here can (a dynamic rule; a synced group without AD access).
fn held(cx: &Cx, hold: GroupHold, group: &str, upn: &str, reason: String) -> Observation {
    let other = match hold {
        GroupHold::AssignsLicenses => return Observation::Skip { reason },
        GroupHold::Dynamic => {
            return Observation::NeedsAction {
                instruction: format!("in Entra ID: {reason} (or edit the rule) so that {upn} leaves the dynamic group {group}"),
            }
        }
        GroupHold::Synced => "ad",
        GroupHold::MailEnabled => "exchange",
    };
    if cx.providers.has_directory(other) {
        return Observation::Skip { reason };
    }
    let place = if other == "ad" { "on-premises AD (offboard-host has no AD access for this client)" } else { "Exchange Online" };
    Observation::NeedsAction { instruction: format!("in {place}: remove {upn} from the group {group} ({reason})") }
}

pub struct RemoveGroupMembership {
    pub user: UserRef,
    pub group_id: String,
    pub group_name: String,
    pub allow_license_groups: bool,
}

#[async_trait]
impl Action for RemoveGroupMembership {
    user_item_action!("remove_group_membership", "group", id = group_id, display = group_name, idempotent = true);
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.upn, "license_groups": self.allow_license_groups})
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        let Some(g) = u.group(&self.group_id) else {
            return Ok(Observation::AlreadyDone { detail: format!("{} is not a member", self.user.upn) });
        };
        match g.hold() {
            Some(GroupHold::AssignsLicenses) if self.allow_license_groups => {}
            Some(hold) => return Ok(held(cx, hold, &g.name, &self.user.upn, g.hold_reason().unwrap_or_default())),
            None => {}
        }
        Ok(Observation::Needed {
            prior: json!({"groupId": g.id, "displayName": g.name, "kind": g.kind.as_str(), "memberId": u.id}),
            detail: format!("remove {} from this {} group", self.user.upn, g.kind.as_str()),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.cloud()?.remove_group_member(&self.group_id, &self.user.id).await {
            Ok(()) => Ok("removed".into()),
            // Someone (or an earlier unclear attempt) removed it first: the goal is reached.
            Err(e) if e.is_not_found() => Ok("was no longer a member".into()),
            Err(e) => Err(e.into()),
        }
    }
}

pub struct AddGroupMembership {
    pub user: UserRef,
    /// The group as resolved when the script named it.
    pub group: crate::entra::Group,
}

#[async_trait]
impl Action for AddGroupMembership {
    user_item_action!("add_group_membership", "group", id = group.id, display = group.name, idempotent = true);
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.upn})
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        if u.group(&self.group.id).is_some() {
            return Ok(Observation::AlreadyDone { detail: format!("{} is already a member", self.user.upn) });
        }
        match self.group.hold() {
            Some(GroupHold::AssignsLicenses) | None => {}
            Some(_) => {
                let reason = self.group.hold_reason().unwrap_or_default();
                return Ok(Observation::Skip { reason: format!("cannot add members here: {reason}") });
            }
        }
        Ok(Observation::Needed {
            prior: json!({"groupId": self.group.id, "displayName": self.group.name, "member": false}),
            detail: format!("add {} to this {} group", self.user.upn, self.group.kind.as_str()),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.cloud()?.add_group_member(&self.group.id, &self.user.id).await {
            Ok(()) => Ok("added".into()),
            Err(e) if e.status() == Some(400) && e.to_string().contains("already exist") => Ok("was already a member".into()),
            Err(e) => Err(e.into()),
        }
    }
}
