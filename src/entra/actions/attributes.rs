//! `remove_manager` (`DELETE /users/{id}/manager/$ref`) and `clear_employee_id`
//! (`PATCH /users/{id} {"employeeId": null}`).
//!
//! For a synced user both attributes come from AD (`manager`, `employeeID`) and Graph refuses to
//! change them, so the steps are skipped with that reason; the AD provider does them.
//! Remove the manager only after anything that needs it (notifying them, granting them access).

use async_trait::async_trait;
use serde_json::json;

use super::UserRef;
use crate::entra::CloudAccess;
use crate::entra::CloudUsers;
use crate::exec::cache::ReadCache;
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct RemoveManager {
    pub user: UserRef,
}

pub struct ClearEmployeeId {
    pub user: UserRef,
}

/// A synced user's attribute: AD's step changes it when the run can write to AD (`skipped`);
/// without AD access only a person can (`needs_action`).
fn mastered_on_premises(cx: &Cx, what: &str) -> Observation {
    on_premises(cx, format!("synced from AD: {what} is mastered on premises; change it in AD"))
}

pub(super) fn on_premises(cx: &Cx, reason: String) -> Observation {
    if cx.providers.has_directory("ad") {
        Observation::Skip { reason }
    } else {
        Observation::NeedsAction { instruction: format!("in on-premises AD (offboard-host has no AD access for this client): {reason}") }
    }
}

#[async_trait]
impl Action for RemoveManager {
    user_action!("remove_manager", idempotent = true);
    fn landed(&self, cache: &ReadCache) {
        crate::entra::patch_user(cache, &self.user.id, |u| u.manager = None);
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        let Some(m) = &u.manager else {
            return Ok(Observation::AlreadyDone { detail: "no manager is set".into() });
        };
        if u.synced {
            return Ok(mastered_on_premises(cx, "the manager"));
        }
        Ok(Observation::Needed { prior: json!({"managerId": m.id, "managerUpn": m.upn}), detail: format!("remove manager {}", m.upn) })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.cloud()?.remove_manager(&self.user.id).await {
            Ok(()) => Ok("manager removed".into()),
            Err(e) if e.is_not_found() => Ok("manager was already removed".into()),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl Action for ClearEmployeeId {
    user_action!("clear_employee_id", idempotent = true);
    fn landed(&self, cache: &ReadCache) {
        crate::entra::patch_user(cache, &self.user.id, |u| u.employee_id = None);
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        let Some(eid) = &u.employee_id else {
            return Ok(Observation::AlreadyDone { detail: "no employee id is set".into() });
        };
        if u.synced {
            return Ok(mastered_on_premises(cx, "employeeID"));
        }
        Ok(Observation::Needed { prior: json!({"employeeId": eid}), detail: format!("clear employee id {eid}") })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.set_employee_id(&self.user.id, None).await?;
        Ok("employee id cleared".into())
    }
}
