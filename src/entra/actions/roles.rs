//! `remove_directory_role`: `DELETE /directoryRoles/{role}/members/{uid}/$ref`.
//!
//! Declared by the run itself (never by a script) when a privileged leaver is offboarded with
//! `--allow-privileged`, in a required phase before every script phase: an admin who keeps a role
//! while the rest of the account is dismantled could still act through it (or restore it), so the
//! roles go first. The prior state (role id, name, template id) is journalled for `restore`.
//!
//! The role is observed live each time (not from the run's user cache: roles are not part of
//! [`crate::entra::CloudUser`]), so a second run finds it already removed and sends nothing.

use async_trait::async_trait;
use serde_json::json;

use super::UserRef;
use crate::entra::{CloudAccess, DirectoryRole};
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct RemoveDirectoryRole {
    pub user: UserRef,
    pub role: DirectoryRole,
}

#[async_trait]
impl Action for RemoveDirectoryRole {
    user_item_action!("remove_directory_role", "directory_role", id = role.id, display = role.display_name, idempotent = true);
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.upn, "roleTemplateId": self.role.role_template_id})
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let roles = cx.cloud()?.directory_roles(&self.user.id).await?;
        if !roles.iter().any(|r| r.id.eq_ignore_ascii_case(&self.role.id)) {
            return Ok(Observation::AlreadyDone { detail: format!("{} no longer holds {}", self.user.upn, self.role.display_name) });
        }
        Ok(Observation::Needed {
            prior: json!({
                "roleId": self.role.id,
                "displayName": self.role.display_name,
                "roleTemplateId": self.role.role_template_id,
                "memberId": self.user.id,
            }),
            detail: format!("remove the directory role {} from {} (allowed by --allow-privileged)", self.role.display_name, self.user.upn),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.cloud()?.remove_directory_role_member(&self.role.id, &self.user.id).await {
            Ok(()) => Ok("role removed".into()),
            Err(e) if e.is_not_found() => Ok("no longer held the role".into()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The reverse, for `restore`: `POST /directoryRoles/{role}/members/$ref` with the role the
/// journal recorded as removed. Re-granting an administrator role is what restoring that leaver
/// means; it is listed in the restore plan like every other step, and only from a journalled removal.
pub struct AddDirectoryRole {
    pub user: UserRef,
    pub role: DirectoryRole,
}

#[async_trait]
impl Action for AddDirectoryRole {
    user_item_action!("add_directory_role", "directory_role", id = role.id, display = role.display_name, idempotent = true);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let roles = cx.cloud()?.directory_roles(&self.user.id).await?;
        if roles.iter().any(|r| r.id.eq_ignore_ascii_case(&self.role.id)) {
            return Ok(Observation::AlreadyDone { detail: format!("{} holds {}", self.user.upn, self.role.display_name) });
        }
        Ok(Observation::Needed {
            prior: json!({"roleId": self.role.id, "member": false}),
            detail: format!("give {} the directory role {} again", self.user.upn, self.role.display_name),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.cloud()?.add_directory_role_member(&self.role.id, &self.user.id).await {
            Ok(()) => Ok("role assigned again".into()),
            Err(e) if e.status() == Some(400) && e.to_string().contains("already exist") => Ok("already held the role".into()),
            Err(e) => Err(e.into()),
        }
    }
}
