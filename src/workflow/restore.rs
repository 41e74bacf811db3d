//! Reversal: the plan that puts back what an apply run changed, from the prior state its steps
//! recorded in the journal.
//!
//! Each reversible cloud identity step has a reverse action that observes live state first (so a
//! restore run twice changes nothing the second time) and sends the opposite write:
//!
//! | step of the run | reverse | Graph call |
//! |---|---|---|
//! | `disable_account` | `enable_account` | `PATCH /users/{id}` accountEnabled=true |
//! | `remove_group_membership` | `add_group_membership` | `POST /groups/{gid}/members/$ref` |
//! | `remove_license` | `add_license` | `POST /users/{id}/assignLicense` addLicenses |
//! | `remove_manager` | `set_manager` | `PUT /users/{id}/manager/$ref` |
//! | `clear_employee_id` | `set_employee_id` | `PATCH /users/{id}` employeeId |
//!
//! What cannot be put back is listed instead: a password (the old one was never known), revoked
//! sessions, a sent mail, a retired or wiped Intune device, and steps of other directories this
//! version does not reverse yet.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::entra::actions::UserRef;
use crate::exec::{Action, ActionError, Cx, Observation, Target};
use crate::journal::{RunDetail, StepStatus};

/// The reverse actions of a run (in the run's order) and what cannot be reversed, one line each.
pub fn reverse_plan(run: &RunDetail) -> (Vec<Box<dyn Action>>, Vec<String>) {
    let mut actions: Vec<Box<dyn Action>> = Vec::new();
    let mut not: Vec<String> = Vec::new();
    for d in &run.steps {
        let s = &d.step;
        // Only writes that were (or may have been) sent changed anything.
        if !matches!(s.status, StepStatus::Done | StepStatus::Running) {
            continue;
        }
        let user = UserRef { id: s.subject_id.clone(), upn: run.summary.user.clone() };
        let p = &s.prior;
        let text = |k: &str| p.get(k).and_then(Value::as_str).map(String::from);
        let action: Option<Box<dyn Action>> = match s.action.as_str() {
            "disable_account" => Some(Box::new(EnableAccount { user })),
            "remove_group_membership" => text("groupId").map(|gid| {
                Box::new(AddGroupMembership { user, name: text("displayName").unwrap_or_else(|| gid.clone()), group_id: gid }) as Box<dyn Action>
            }),
            "remove_license" => text("skuId").map(|sku_id| {
                Box::new(AddLicense { user, sku: text("skuPartNumber").unwrap_or_else(|| sku_id.clone()), sku_id }) as Box<dyn Action>
            }),
            "remove_manager" => text("managerId").map(|mid| {
                Box::new(SetManager { user, upn: text("managerUpn").unwrap_or_else(|| mid.clone()), manager_id: mid }) as Box<dyn Action>
            }),
            "clear_employee_id" => text("employeeId").map(|v| Box::new(SetEmployeeId { user, value: v }) as Box<dyn Action>),
            "reset_password" => {
                not.push(format!("{} {}: the previous password was never known; the user needs a new one from the service desk", s.step_id, s.action));
                continue;
            }
            "revoke_sessions" => {
                not.push(format!("{} {}: revoked sessions stay revoked; the user signs in again", s.step_id, s.action));
                continue;
            }
            "retire_managed_device" => {
                not.push(format!(
                    "{} {} ({}): a retired or wiped device stays so; the user enrols it again",
                    s.step_id, s.action, s.target_display
                ));
                continue;
            }
            "notify_supervisor" => {
                not.push(format!("{} {}: a sent mail cannot be taken back", s.step_id, s.action));
                continue;
            }
            other => {
                not.push(format!("{} {other} ({}, {}): not reversible by this version", s.step_id, s.directory, s.target_display));
                continue;
            }
        };
        match action {
            Some(a) => actions.push(a),
            None => not.push(format!("{} {}: the journal holds no prior state to put back", s.step_id, s.action)),
        }
    }
    (actions, not)
}

pub struct EnableAccount {
    pub user: UserRef,
}
pub struct AddGroupMembership {
    pub user: UserRef,
    pub group_id: String,
    pub name: String,
}
pub struct AddLicense {
    pub user: UserRef,
    pub sku_id: String,
    pub sku: String,
}
pub struct SetManager {
    pub user: UserRef,
    pub manager_id: String,
    pub upn: String,
}
pub struct SetEmployeeId {
    pub user: UserRef,
    pub value: String,
}

fn user_target(u: &UserRef) -> Target {
    u.target()
}

macro_rules! restore_action {
    ($name:literal, $target:expr) => {
        fn action(&self) -> &'static str {
            $name
        }
        fn directory(&self) -> &'static str {
            "cloud"
        }
        fn target(&self) -> Target {
            #[allow(clippy::redundant_closure_call)]
            ($target)(self)
        }
        fn subject_id(&self) -> String {
            self.user.id.clone()
        }
        fn idempotent(&self) -> bool {
            true
        }
    };
}

#[async_trait]
impl Action for EnableAccount {
    restore_action!("enable_account", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        if u.account_enabled {
            return Ok(Observation::AlreadyDone { detail: "sign-in is allowed".into() });
        }
        Ok(Observation::Needed { prior: json!({"accountEnabled": false}), detail: "allow sign-in again".into() })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.set_account_enabled(&self.user.id, true).await?;
        Ok("sign-in allowed".into())
    }
}

#[async_trait]
impl Action for AddGroupMembership {
    restore_action!("add_group_membership", |s: &Self| Target { kind: "group", id: s.group_id.clone(), display: s.name.clone() });
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        if u.groups.iter().any(|g| g.id.eq_ignore_ascii_case(&self.group_id)) {
            return Ok(Observation::AlreadyDone { detail: format!("already a member of {}", self.name) });
        }
        Ok(Observation::Needed { prior: json!({"member": false}), detail: format!("add {} back to {}", self.user.upn, self.name) })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.add_group_member(&self.group_id, &self.user.id).await?;
        Ok(format!("added back to {}", self.name))
    }
}

#[async_trait]
impl Action for AddLicense {
    restore_action!("add_license", |s: &Self| Target { kind: "license", id: s.sku_id.clone(), display: s.sku.clone() });
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        if u.licenses.iter().any(|l| l.sku_id.eq_ignore_ascii_case(&self.sku_id) && l.direct) {
            return Ok(Observation::AlreadyDone { detail: format!("{} is assigned directly", self.sku) });
        }
        Ok(Observation::Needed { prior: json!({"assigned": false}), detail: format!("assign {} directly again", self.sku) })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.add_license(&self.user.id, &self.sku_id).await?;
        Ok(format!("{} assigned", self.sku))
    }
}

#[async_trait]
impl Action for SetManager {
    restore_action!("set_manager", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        match &u.manager {
            Some(m) if m.id.eq_ignore_ascii_case(&self.manager_id) => Ok(Observation::AlreadyDone { detail: format!("manager is {}", self.upn) }),
            Some(m) => Ok(Observation::Skip { reason: format!("the manager is now {}, not removed by this run: left as it is", m.upn) }),
            None => Ok(Observation::Needed { prior: json!({"managerId": null}), detail: format!("set manager {} again", self.upn) }),
        }
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.set_manager(&self.user.id, &self.manager_id).await?;
        Ok(format!("manager {} set", self.upn))
    }
}

#[async_trait]
impl Action for SetEmployeeId {
    restore_action!("set_employee_id", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        match u.employee_id.as_deref() {
            Some(v) if v == self.value => Ok(Observation::AlreadyDone { detail: format!("employee id is {v}") }),
            Some(v) if !v.is_empty() => Ok(Observation::Skip { reason: format!("the employee id is now {v}: left as it is") }),
            _ => Ok(Observation::Needed { prior: json!({"employeeId": null}), detail: format!("set employee id {} again", self.value) }),
        }
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.set_employee_id(&self.user.id, Some(&self.value)).await?;
        Ok(format!("employee id {} set", self.value))
    }
}

/// The capability a reverse action needs (the tenant's `deny` applies to restores too).
pub fn capability(action: &str) -> &'static str {
    match action {
        "enable_account" => "graph.account",
        "add_group_membership" => "graph.groups",
        "add_license" => "graph.licenses",
        "set_manager" => "graph.manager",
        "set_employee_id" => "graph.employee_id",
        _ => "graph.write",
    }
}
