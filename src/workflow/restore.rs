//! Reversal: the plan that puts back what an apply run changed, from the prior state its steps
//! recorded in the journal.
//!
//! Each reversible step has a reverse action that observes live state first (so a restore run
//! twice changes nothing the second time) and sends the opposite write:
//!
//! | step of the run | reverse | call |
//! |---|---|---|
//! | `disable_account` | `enable_account` | Graph `PATCH /users/{id}` accountEnabled=true |
//! | `remove_group_membership` | `add_group_membership` | Graph `POST /groups/{gid}/members/$ref` |
//! | `remove_directory_role` | `add_directory_role` | Graph `POST /directoryRoles/{role}/members/$ref` |
//! | `remove_license` | `add_license` | Graph `POST /users/{id}/assignLicense` addLicenses |
//! | `remove_manager` | `set_manager` | Graph `PUT /users/{id}/manager/$ref` |
//! | `clear_employee_id` | `set_employee_id` | Graph `PATCH /users/{id}` employeeId |
//! | `set_forwarding`, `clear_forwarding` | `restore_forwarding` | `Set-Mailbox -ForwardingAddress/-ForwardingSmtpAddress/-DeliverToMailboxAndForward` (the prior values, or cleared) |
//! | `hide_from_gal` | `show_in_gal` | `Set-Mailbox -HiddenFromAddressListsEnabled $false` |
//! | `convert_to_shared_mailbox` (from a user mailbox) | `convert_to_user_mailbox` | `Set-Mailbox -Type Regular` (in a later phase, after the licences) |
//! | `grant_mailbox_permission` | `remove_mailbox_permission` | `Remove-MailboxPermission` (FullAccess) / `Remove-RecipientPermission` (SendAs) |
//! | `remove_distribution_group_membership` | `add_distribution_group_membership` | `Add-DistributionGroupMember -BypassSecurityGroupManagerCheck` |
//! | `disable_psa_contact` | `reactivate_psa_contact` | ConnectWise inactiveFlag=false, Autotask isActive=1, Halo inactive=false |
//!
//! The AD steps (account, groups, manager, employee id, Exchange attributes, OU) are reversed by
//! [`super::restore_ad`]. Phases: `restore` (everything else), then `restore_ou` (the AD account
//! back to its OU), then `restore_mailbox_type` (a user mailbox again, once its licences are back).
//!
//! What cannot be put back is listed instead: a password (the old one was never known), revoked
//! sessions, a sent mail, a retired or wiped Intune device, removed mobile devices and inbox rules,
//! and steps this version does not reverse (out-of-office, a directory sync). A script's own step
//! is put back by the calls its `restore` function recorded ([`super::restore_script`]).

use async_trait::async_trait;
use serde_json::{json, Value};

pub use super::restore_mailbox::{
    AddDistributionGroupMembership, ConvertToUserMailbox, ReactivatePsaContact, RemoveMailboxPermission, RestoreForwarding, ShowInGal,
};
use crate::entra::actions::{AddDirectoryRole, UserRef};
use crate::entra::CloudUsers;
use crate::entra::{CloudAccess, DirectoryRole};
use crate::exchange::actions::MailboxAccess;
use crate::exchange::Forwarding;
use crate::exec::{Action, ActionError, Cx, Observation, Target};
use crate::journal::{RunDetail, StepStatus};

/// The phase most reverse actions run in.
pub const RESTORE_PHASE: &str = "restore";
/// The phase after it: an AD account moves back to its OU once everything else in AD is back (the
/// other AD writes name the user by the DN read at the start of their phase).
pub const AD_OU_PHASE: &str = "restore_ou";
/// The last phase: a mailbox goes back to a user mailbox only once its licences are back.
pub const MAILBOX_TYPE_PHASE: &str = "restore_mailbox_type";

/// The reverse actions of a run, by phase (each in the run's order), and what cannot be reversed,
/// one line each.
pub struct ReversePlan {
    pub phases: Vec<(&'static str, Vec<Box<dyn Action>>)>,
    pub not: Vec<String>,
}

/// What a restore may put back beyond the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestoreOptions {
    /// Put back forwarding to an address outside the tenant's accepted domains. Off by default:
    /// the prior state of a leaver's mailbox may be the very exfiltration the offboarding stopped.
    pub include_external_forwarding: bool,
}

pub fn reverse_plan(run: &RunDetail, opts: RestoreOptions) -> ReversePlan {
    let mut actions: Vec<Box<dyn Action>> = Vec::new();
    let mut later: Vec<Box<dyn Action>> = Vec::new();
    let mut moves: Vec<Box<dyn Action>> = Vec::new();
    let mut not: Vec<String> = Vec::new();
    for d in &run.steps {
        let s = &d.step;
        // Only writes that were (or may have been) sent changed anything.
        if !matches!(s.status, StepStatus::Done | StepStatus::Running) {
            continue;
        }
        // A script's own step that said how to undo it (any directory).
        if let Some(a) = super::restore_script::reverse(s) {
            actions.push(a);
            continue;
        }
        if s.directory == "ad" {
            match super::restore_ad::reverse(s) {
                Ok(Some(r)) if r.move_back => moves.push(r.action),
                Ok(Some(r)) => actions.push(r.action),
                Ok(None) => not.push(format!("{} {} (ad): the journal holds no prior state to put back", s.step_id, s.action)),
                Err(why) => not.push(format!("{} {} (ad): {why}", s.step_id, s.action)),
            }
            continue;
        }
        let user = UserRef { id: s.subject_id.clone(), upn: run.summary.user.clone() };
        let p = &s.prior;
        let text = |k: &str| p.get(k).and_then(Value::as_str).map(String::from);
        let param = |k: &str| s.params.get(k).and_then(Value::as_str).map(String::from);
        let action: Option<Box<dyn Action>> = match s.action.as_str() {
            "disable_account" => Some(Box::new(EnableAccount { user })),
            "remove_group_membership" => text("groupId").map(|gid| {
                Box::new(AddGroupMembership { user, name: text("displayName").unwrap_or_else(|| gid.clone()), group_id: gid })
                    as Box<dyn Action>
            }),
            "remove_directory_role" => text("roleId").map(|id| {
                let role = DirectoryRole {
                    display_name: text("displayName").unwrap_or_else(|| id.clone()),
                    role_template_id: text("roleTemplateId").unwrap_or_default(),
                    id,
                };
                Box::new(AddDirectoryRole { user, role }) as Box<dyn Action>
            }),
            "remove_license" => text("skuId").map(|sku_id| {
                Box::new(AddLicense { user, sku: text("skuPartNumber").unwrap_or_else(|| sku_id.clone()), sku_id }) as Box<dyn Action>
            }),
            "remove_manager" => text("managerId").map(|mid| {
                Box::new(SetManager { user, upn: text("managerUpn").unwrap_or_else(|| mid.clone()), manager_id: mid }) as Box<dyn Action>
            }),
            "clear_employee_id" => text("employeeId").map(|v| Box::new(SetEmployeeId { user, value: v }) as Box<dyn Action>),
            "set_forwarding" | "clear_forwarding" if p.is_object() => Some(Box::new(RestoreForwarding {
                user,
                allow_external: opts.include_external_forwarding,
                prior: Forwarding {
                    address: text("ForwardingAddress"),
                    smtp: text("ForwardingSmtpAddress"),
                    keep_copy: p.get("DeliverToMailboxAndForward").and_then(Value::as_bool).unwrap_or(false),
                },
            })),
            "hide_from_gal" if p.get("HiddenFromAddressListsEnabled") == Some(&json!(false)) => Some(Box::new(ShowInGal { user })),
            "convert_to_shared_mailbox" => match text("RecipientTypeDetails").as_deref() {
                Some("UserMailbox") => {
                    later.push(Box::new(ConvertToUserMailbox { user }));
                    continue;
                }
                Some(other) => {
                    not.push(format!("{} {}: the mailbox was a {other}, not a user mailbox: convert it back by hand", s.step_id, s.action));
                    continue;
                }
                None => None,
            },
            "grant_mailbox_permission" => match (param("trustee"), param("access").as_deref()) {
                (Some(trustee), Some("FullAccess")) => {
                    Some(Box::new(RemoveMailboxPermission { user, trustee, access: MailboxAccess::FullAccess }))
                }
                (Some(trustee), Some("SendAs")) => Some(Box::new(RemoveMailboxPermission { user, trustee, access: MailboxAccess::SendAs })),
                _ => None,
            },
            "remove_distribution_group_membership" => text("groupId").map(|gid| {
                Box::new(AddDistributionGroupMembership {
                    name: text("displayName").unwrap_or_else(|| gid.clone()),
                    member: text("member").unwrap_or_else(|| user.upn.clone()),
                    user,
                    group_id: gid,
                }) as Box<dyn Action>
            }),
            "disable_psa_contact" => match (text("contact_id"), param("email")) {
                (Some(contact_id), Some(email)) => Some(Box::new(ReactivatePsaContact {
                    user,
                    email,
                    contact_id,
                    psa: text("psa").unwrap_or_default(),
                    target: s.target_display.clone(),
                })),
                _ => None,
            },
            "reset_password" => {
                not.push(format!(
                    "{} {}: the previous password was never known; the user needs a new one from the service desk",
                    s.step_id, s.action
                ));
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
            "remove_mobile_device" => {
                let flag = |k: &str| s.params.get(k).and_then(Value::as_bool).unwrap_or(false);
                let why = if flag("wipe") {
                    "the device was wiped: its data cannot come back; the partnership is re-created when the user sets the device up again"
                } else if flag("block") {
                    "the partnership is gone and the device stays blocked; unblock it (`Set-CASMailbox -ActiveSyncBlockedDeviceIDs @{remove=<id>}`) and it syncs again"
                } else {
                    "the partnership is re-created when the device syncs again"
                };
                not.push(format!("{} {} ({}): {why}", s.step_id, s.action, s.target_display));
                continue;
            }
            "remove_inbox_rule" => {
                not.push(format!(
                    "{} {} ({}): a removed rule cannot be re-created; its definition is in the original run's journal",
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
    let mut phases = vec![(RESTORE_PHASE, actions)];
    if !moves.is_empty() {
        phases.push((AD_OU_PHASE, moves));
    }
    if !later.is_empty() {
        phases.push((MAILBOX_TYPE_PHASE, later));
    }
    ReversePlan { phases, not }
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
            Some(m) if m.id.eq_ignore_ascii_case(&self.manager_id) => {
                Ok(Observation::AlreadyDone { detail: format!("manager is {}", self.upn) })
            }
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
pub fn capability(directory: &str, action: &str) -> &'static str {
    if action == "restore_script_step" {
        return "script.action";
    }
    if directory == "ad" {
        return super::restore_ad::capability(action);
    }
    match action {
        "enable_account" => "graph.account",
        "add_group_membership" => "graph.groups",
        "add_license" => "graph.licenses",
        "set_manager" => "graph.manager",
        "set_employee_id" => "graph.employee_id",
        "restore_forwarding" => "exo.forwarding",
        "show_in_gal" | "convert_to_user_mailbox" => "exo.mailbox",
        "remove_mailbox_permission" => "exo.permissions",
        "add_distribution_group_membership" => "exo.groups",
        "reactivate_psa_contact" => "psa.contact",
        _ => "graph.write",
    }
}
