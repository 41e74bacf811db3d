//! `clear_employee_id` (delete `employeeID`, and `employeeNumber` when set; F17) and
//! `remove_manager` (delete `manager`; F19). For a synced user both flow to Entra ID at the next
//! sync. Remove the manager only after anything that needs it.

use async_trait::async_trait;
use serde_json::json;

use super::AdUserRef;
use crate::ad::AdAccess;
use crate::ad::AdAttr;
use crate::ad::AdUsers;
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct ClearEmployeeId {
    pub user: AdUserRef,
}

pub struct RemoveManager {
    pub user: AdUserRef,
}

#[async_trait]
impl Action for ClearEmployeeId {
    ad_user_action!("clear_employee_id", idempotent = true);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        if u.employee_id.is_none() && u.employee_number.is_none() {
            return Ok(Observation::AlreadyDone { detail: "no employeeID or employeeNumber is set".into() });
        }
        let shown = [u.employee_id.as_deref(), u.employee_number.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
        Ok(Observation::Needed {
            prior: json!({"employeeID": u.employee_id, "employeeNumber": u.employee_number}),
            detail: format!("clear employee id {shown}"),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let mut attrs = Vec::new();
        if u.employee_id.is_some() {
            attrs.push(AdAttr::EmployeeId);
        }
        if u.employee_number.is_some() {
            attrs.push(AdAttr::EmployeeNumber);
        }
        cx.ad()?.clear_attributes(&u.dn, &attrs).await?;
        Ok("employee id cleared in AD".into())
    }
}

#[async_trait]
impl Action for RemoveManager {
    ad_user_action!("remove_manager", idempotent = true);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let Some(m) = &u.manager else {
            return Ok(Observation::AlreadyDone { detail: "no manager is set".into() });
        };
        Ok(Observation::Needed { prior: json!({"manager": m}), detail: format!("remove manager {}", crate::ad::model::rdn_value(m)) })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        cx.ad()?.clear_attributes(&u.dn, &[AdAttr::Manager]).await?;
        Ok("manager removed in AD".into())
    }
}
