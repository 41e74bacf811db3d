//! `revoke_sessions`: `POST /users/{id}/revokeSignInSessions`.
//!
//! Graph has no "already revoked" state, so the precondition is built from the journal and the
//! user's `signInSessionsValidFromDateTime`: the sessions count as revoked when the account is
//! blocked and our last revocation (a) took effect (the timestamp moved) and (b) came after the
//! last time we disabled the account or reset its password. That makes the second revocation at
//! the end of a run real, and a repeated run send nothing.

use async_trait::async_trait;
use serde_json::json;

use super::{last_landed, stamped_after, UserRef};
use crate::entra::CloudAccess;
use crate::entra::CloudUsers;
use crate::exec::cache::ReadCache;
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct RevokeSessions {
    pub user: UserRef,
}

#[async_trait]
impl Action for RevokeSessions {
    user_action!("revoke_sessions", idempotent = true);
    fn landed(&self, cache: &ReadCache) {
        // Graph stamps the new time itself; until read again it is unknown.
        crate::entra::patch_user(cache, &self.user.id, |u| u.sessions_valid_from = None);
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        if !u.account_enabled {
            if let Some(last) = last_landed(cx, &u.id, "revoke_sessions")? {
                let lock_changes = [last_landed(cx, &u.id, "disable_account")?, last_landed(cx, &u.id, "reset_password")?];
                let after_lock = lock_changes.iter().flatten().all(|l| last.intent_at >= l.intent_at);
                if after_lock && stamped_after(u.sessions_valid_from.as_deref(), last.intent_at) {
                    return Ok(Observation::AlreadyDone {
                        detail: format!(
                            "sessions already revoked (valid from {}) after the account was blocked",
                            u.sessions_valid_from.as_deref().unwrap_or("?")
                        ),
                    });
                }
            }
        }
        Ok(Observation::Needed {
            prior: json!({"signInSessionsValidFromDateTime": u.sessions_valid_from}),
            detail: "invalidate every refresh token and session cookie issued until now".into(),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.revoke_sessions(&self.user.id).await?;
        Ok("sign-in sessions revoked (takes effect within minutes)".into())
    }
}
