//! `disable_account`: `PATCH /users/{id} {"accountEnabled": false}` (block sign-in).
//!
//! For a user synced from AD this still blocks sign-in at once, but the next sync re-enables the
//! account unless it is also disabled in AD; the step says so.

use async_trait::async_trait;
use serde_json::json;

use super::UserRef;
use crate::entra::CloudAccess;
use crate::entra::CloudUsers;
use crate::exec::cache::ReadCache;
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct DisableAccount {
    pub user: UserRef,
}

const SYNCED_NOTE: &str = "synced from AD: the next sync re-enables it unless it is also disabled in AD";

#[async_trait]
impl Action for DisableAccount {
    user_action!("disable_account", idempotent = true);
    fn landed(&self, cache: &ReadCache) {
        crate::entra::patch_user(cache, &self.user.id, |u| u.account_enabled = false);
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        if !u.account_enabled {
            return Ok(Observation::AlreadyDone { detail: "sign-in is already blocked".into() });
        }
        let mut detail = "block sign-in".to_string();
        if u.synced {
            detail = format!("{detail}; {SYNCED_NOTE}");
        }
        Ok(Observation::Needed { prior: json!({"accountEnabled": true}), detail })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.set_account_enabled(&self.user.id, false).await?;
        let u = cx.cloud_user(&self.user.id).await.ok();
        Ok(match u {
            Some(u) if u.synced => format!("sign-in blocked; {SYNCED_NOTE}"),
            _ => "sign-in blocked".into(),
        })
    }
}
