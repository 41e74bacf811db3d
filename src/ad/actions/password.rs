//! `reset_password`: replace `unicodePwd` with a strong random password (an admin reset: one
//! Replace of the UTF-16LE quoted value; F6).
//!
//! The password is generated here, sent once over the encrypted connection and dropped: never
//! printed, logged or journalled. Over a connection that is not encrypted the step fails at the
//! check, before anything is sent (the provider refuses too). A reset is not repeated when the
//! account is disabled and `pwdLastSet` moved at or after our last reset's intent.

use async_trait::async_trait;
use chrono::Duration;
use serde_json::json;

use super::AdUserRef;
use crate::ad::model::filetime_to_utc;
use crate::ad::AdAccess;
use crate::ad::AdUsers;
use crate::entra::actions::{last_landed, random_password};
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct ResetPassword {
    pub user: AdUserRef,
}

const REFUSED: &str = "refused: the AD connection is not encrypted (ldap:// without starttls); a password is never sent in clear. Use ldaps:// or starttls = true";

#[async_trait]
impl Action for ResetPassword {
    ad_user_action!("reset_password", idempotent = false);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        if !cx.ad()?.encrypted() {
            return Err(ActionError::Other(REFUSED.into()));
        }
        let u = cx.ad_user(&self.user.guid).await?;
        let last_set = u.pwd_last_set.and_then(filetime_to_utc);
        if !u.enabled() {
            if let Some(last) = last_landed(cx, &u.guid, "reset_password")? {
                if last_set.is_some_and(|t| t >= last.intent_at - Duration::seconds(5)) {
                    return Ok(Observation::AlreadyDone {
                        detail: format!("password already reset in AD by run {} and the account is disabled", last.run_id),
                    });
                }
            }
        }
        Ok(Observation::Needed {
            prior: json!({"pwdLastSet": last_set.map(|t| t.to_rfc3339())}),
            detail: "set a random 24-character password that nobody is told (unicodePwd over TLS)".into(),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let password = random_password();
        cx.ad()?.set_password(&u.dn, &password).await?;
        Ok("AD password reset to a random value (not recorded anywhere)".into())
    }
}
