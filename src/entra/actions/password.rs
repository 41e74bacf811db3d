//! `reset_password`: `PATCH /users/{id} {"passwordProfile": ...}` with a strong random password.
//!
//! The password is generated here, sent once, and dropped: it is never printed, logged or
//! journalled, so nobody (the leaver included) knows it. A synced user's password is mastered in
//! AD (a cloud reset needs password writeback and is overwritten at the next sync), so the step is
//! skipped with that reason and belongs to the AD provider.

use async_trait::async_trait;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::json;

use super::{last_landed, stamped_after, UserRef};
use crate::entra::CloudAccess;
use crate::entra::CloudUsers;
use crate::exec::cache::ReadCache;
use crate::exec::{Action, ActionError, Cx, Observation};
use crate::secret::Secret;

pub struct ResetPassword {
    pub user: UserRef,
    pub force_change: bool,
}

/// 24 characters from all four classes (Entra requires three of four), from the OS RNG.
pub fn random_password() -> Secret {
    const CLASSES: [&[u8]; 4] = [b"abcdefghijkmnopqrstuvwxyz", b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"23456789", b"!#$%&*+-=?@^_"];
    let mut rng = rand::rngs::OsRng;
    let mut chars: Vec<u8> = CLASSES.iter().map(|c| c[rng.gen_range(0..c.len())]).collect();
    let all: Vec<u8> = CLASSES.concat();
    while chars.len() < 24 {
        chars.push(all[rng.gen_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    Secret::new(String::from_utf8_lossy(&chars).into_owned())
}

#[async_trait]
impl Action for ResetPassword {
    user_action!("reset_password", idempotent = false);
    fn landed(&self, cache: &ReadCache) {
        // Graph stamps the change time itself; until read again it is unknown.
        crate::entra::patch_user(cache, &self.user.id, |u| u.password_changed = None);
    }
    fn params(&self) -> serde_json::Value {
        json!({"force_change": self.force_change})
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        if u.synced {
            return Ok(super::attributes::on_premises(cx, "synced from AD: the password is mastered on premises; reset it in AD".into()));
        }
        if let Some(last) = last_landed(cx, &u.id, "reset_password")? {
            // Blocked since our last reset, or reading back after an unclear reply in this run.
            if (!u.account_enabled || last.run_id == cx.run_id) && stamped_after(u.password_changed.as_deref(), last.intent_at) {
                return Ok(Observation::AlreadyDone {
                    detail: format!("password already reset by run {} and the account is blocked", last.run_id),
                });
            }
        }
        Ok(Observation::Needed {
            prior: json!({"lastPasswordChangeDateTime": u.password_changed}),
            detail: "set a random 24-character password that nobody is told".into(),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let password = random_password();
        cx.cloud()?.set_password(&self.user.id, &password, self.force_change).await?;
        Ok("password reset to a random value (not recorded anywhere)".into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_strong_and_different() {
        let a = super::random_password();
        let b = super::random_password();
        let s = a.expose();
        assert_eq!(s.len(), 24);
        assert!(s.chars().any(|c| c.is_ascii_lowercase()) && s.chars().any(|c| c.is_ascii_uppercase()));
        assert!(s.chars().any(|c| c.is_ascii_digit()) && s.chars().any(|c| !c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
