//! `disable_account`: read `userAccountControl`, write it back with ACCOUNTDISABLE (0x2) set.
//! Every other flag is kept (a blind 514 would drop DONT_EXPIRE_PASSWORD and the like; F14).

use async_trait::async_trait;
use serde_json::json;

use super::AdUserRef;
use crate::ad::model::{uac_describe, uac_disabled, uac_with_disabled};
use crate::ad::AdAccess;
use crate::ad::AdUsers;
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct DisableAccount {
    pub user: AdUserRef,
}

#[async_trait]
impl Action for DisableAccount {
    ad_user_action!("disable_account", idempotent = true);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        if uac_disabled(u.uac) {
            return Ok(Observation::AlreadyDone { detail: format!("already disabled in AD: userAccountControl {}", uac_describe(u.uac)) });
        }
        Ok(Observation::Needed {
            prior: json!({"userAccountControl": u.uac, "dn": u.dn}),
            detail: format!("userAccountControl {} → {}", uac_describe(u.uac), uac_describe(uac_with_disabled(u.uac))),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let new = uac_with_disabled(u.uac);
        cx.ad()?.set_user_account_control(&u.dn, new).await?;
        Ok(format!("disabled in AD (userAccountControl {})", uac_describe(new)))
    }
}
