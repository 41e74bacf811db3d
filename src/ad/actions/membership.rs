//! `remove_group_membership`: modify the **group**, `delete member = <user DN>` (memberOf is a
//! back-link and read-only; F16). The primary group (primaryGroupID, usually Domain Users) is not
//! in memberOf and cannot be removed this way: it is kept and reported as a skipped step.
//!
//! `add_group_membership`: `add member = <user DN>` on the group (a group that blocks sign-in,
//! say; and restore, for a removed membership).

use async_trait::async_trait;
use serde_json::json;

use super::AdUserRef;
use crate::ad::AdAccess;
use crate::ad::AdUsers;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct RemoveGroupMembership {
    pub user: AdUserRef,
    pub group_dn: String,
    pub group_name: String,
    pub primary: bool,
}

#[async_trait]
impl Action for RemoveGroupMembership {
    fn action(&self) -> &'static str {
        "remove_group_membership"
    }
    fn directory(&self) -> &'static str {
        "ad"
    }
    fn target(&self) -> Target {
        Target { kind: "group", id: self.group_dn.clone(), display: self.group_name.clone() }
    }
    fn subject_id(&self) -> String {
        self.user.guid.clone()
    }
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.display})
    }
    fn idempotent(&self) -> bool {
        true
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        if self.primary {
            return Ok(Observation::Skip {
                reason: format!(
                    "primary group (primaryGroupID {}) kept: AD does not list it in memberOf and it cannot be removed while primary",
                    u.primary_group_id
                ),
            });
        }
        let Some(g) = u.groups.iter().find(|g| !g.primary && crate::ad::model::dn_eq(&g.dn, &self.group_dn)) else {
            return Ok(Observation::AlreadyDone { detail: format!("{} is not a member", self.user.display) });
        };
        Ok(Observation::Needed {
            prior: json!({"groupDn": g.dn, "name": g.name, "scope": g.scope.as_str(), "security": g.security, "memberDn": u.dn}),
            detail: format!(
                "remove {} from this {} {} group",
                self.user.display,
                g.scope.as_str(),
                if g.security { "security" } else { "distribution" }
            ),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        match cx.ad()?.remove_group_member(&self.group_dn, &u.dn).await {
            Ok(()) => Ok("removed (group member attribute)".into()),
            // noSuchAttribute: the value is gone already (someone, or an earlier unclear attempt).
            Err(e) if e.rc() == Some(16) => Ok("was no longer a member".into()),
            Err(e) => Err(e.into()),
        }
    }
}

pub struct AddGroupMembership {
    pub user: AdUserRef,
    pub group_dn: String,
    pub name: String,
}

#[async_trait]
impl Action for AddGroupMembership {
    fn action(&self) -> &'static str {
        "add_group_membership"
    }
    fn directory(&self) -> &'static str {
        "ad"
    }
    fn target(&self) -> Target {
        Target { kind: "group", id: self.group_dn.clone(), display: self.name.clone() }
    }
    fn subject_id(&self) -> String {
        self.user.guid.clone()
    }
    fn idempotent(&self) -> bool {
        true
    }
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        if u.groups.iter().any(|g| crate::ad::model::dn_eq(&g.dn, &self.group_dn)) {
            return Ok(Observation::AlreadyDone { detail: format!("already a member of {}", self.name) });
        }
        Ok(Observation::Needed {
            prior: json!({"member": false, "groupDn": self.group_dn, "name": self.name}),
            detail: format!("add {} to {}", u.display(), self.name),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        match cx.ad()?.add_group_member(&self.group_dn, &u.dn).await {
            Ok(()) => Ok(format!("added to {}", self.name)),
            // entryAlreadyExists / attributeOrValueExists: someone (or an unclear attempt) did it.
            Err(e) if matches!(e.rc(), Some(20) | Some(68)) => Ok(format!("was already a member of {}", self.name)),
            Err(e) => Err(e.into()),
        }
    }
}
