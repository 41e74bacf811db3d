//! `move_ou`: ModifyDN to the client's disabled-users OU (`disabled_ou`), keeping the CN
//! (re-escaped by RFC 4514). Do it last among the AD changes: later steps may resolve by DN.
//!
//! When the client lists its sync scope and the target OU is outside it, the plan says so loudly:
//! Entra Connect then soft-deletes the cloud user, and with it the mailbox after 30 days (F15).

use async_trait::async_trait;
use serde_json::json;

use super::AdUserRef;
use crate::ad::model::{dn_eq, dn_within};
use crate::ad::AdAccess;
use crate::ad::AdUsers;
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct MoveToDisabledOu {
    pub user: AdUserRef,
}

#[async_trait]
impl Action for MoveToDisabledOu {
    ad_user_action!("move_ou", idempotent = true);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let policy = cx.ad()?.policy().clone();
        let Some(ou) = policy.disabled_ou.as_deref() else {
            return Ok(Observation::Skip {
                reason: "no disabled-users OU configured for this client (disabled_ou in [tenants.<name>.ad])".into(),
            });
        };
        let u = cx.ad_user(&self.user.guid).await?;
        if dn_eq(u.parent(), ou) {
            return Ok(Observation::AlreadyDone { detail: format!("already in {ou}") });
        }
        let mut detail = format!("move from {} to {ou}", u.parent());
        if !policy.sync_scope.is_empty() && !policy.sync_scope.iter().any(|s| dn_within(ou, s)) {
            detail.push_str(
                "; WARNING: the target OU is outside the configured sync scope: Entra Connect will delete the cloud user and, after 30 days, its mailbox",
            );
        }
        Ok(Observation::Needed { prior: json!({"dn": u.dn, "parent": u.parent()}), detail })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let ad = cx.ad()?;
        let ou = ad.policy().disabled_ou.clone().ok_or_else(|| ActionError::Other("no disabled_ou configured".into()))?;
        let u = cx.ad_user(&self.user.guid).await?;
        let new_dn = ad.move_user(&u.dn, &u.cn, &ou).await?;
        Ok(format!("moved to {new_dn}"))
    }
}
