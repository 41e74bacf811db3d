//! Reversal of the on-premises AD steps of a run (see [`super::restore`]). Each reverse action
//! re-reads the user by objectGUID, says `already_done` when AD already holds the prior state, and
//! otherwise writes the prior state back:
//!
//! | step of the run (`ad`) | reverse | LDAP operation |
//! |---|---|---|
//! | `disable_account` | `enable_account` | modify user: replace `userAccountControl` = the prior value |
//! | `remove_group_membership` | `add_group_membership` | modify group: add `member` = user DN |
//! | `add_group_membership` | `remove_group_membership` | modify group: delete `member` = user DN |
//! | `remove_manager` | `set_manager` | modify user: replace `manager` = the prior DN |
//! | `clear_employee_id` | `set_employee_id` | modify user: replace `employeeID` (and `employeeNumber`) |
//! | `hide_from_gal` | `show_in_gal` | modify user: `msExchHideFromAddressLists` back (FALSE, or deleted when it was unset) |
//! | `set_remote_shared_mailbox` | `set_remote_user_mailbox` | modify user: replace `msExchRemoteRecipientType`, `msExchRecipientTypeDetails` |
//! | `move_ou` | `move_ou` | modifyDN user back under the prior parent (in a phase of its own, after the others) |
//!
//! For a synced user, the cloud account follows at the next directory sync.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::ad::actions::{AdUserRef, AddGroupMembership, RemoveGroupMembership};
use crate::ad::model::{dn_eq, rdn_value, uac_describe, uac_disabled, UAC_ACCOUNTDISABLE};
use crate::ad::AdAccess;
use crate::ad::AdAttr;
use crate::ad::AdUsers;
use crate::exec::{Action, ActionError, Cx, Observation, Target};
use crate::journal::StepRecord;

/// A reverse AD action, and whether it is the move back to the prior OU (a phase of its own).
pub struct Reversal {
    pub action: Box<dyn Action>,
    pub move_back: bool,
}

/// The reverse action of one AD step, `None` when the journal holds no usable prior state.
/// `Err`: the step is not reversible, with the reason.
pub fn reverse(s: &StepRecord) -> Result<Option<Reversal>, String> {
    let user = AdUserRef { guid: s.subject_id.clone(), dn: String::new(), display: s.target_display.clone() };
    let p = &s.prior;
    let text = |k: &str| p.get(k).and_then(Value::as_str).map(String::from);
    let int = |k: &str| p.get(k).and_then(Value::as_i64);
    let a: Box<dyn Action> = match s.action.as_str() {
        "disable_account" => match int("userAccountControl") {
            Some(uac) => Box::new(EnableAdAccount { user, uac: uac as u32 }),
            None => return Ok(None),
        },
        "remove_group_membership" => match text("groupDn") {
            Some(dn) => {
                let user = AdUserRef { display: p.get("memberDn").and_then(Value::as_str).map(rdn_value).unwrap_or_default(), ..user };
                Box::new(AddGroupMembership { user, name: text("name").unwrap_or_else(|| rdn_value(&dn)), group_dn: dn })
            }
            None => return Ok(None),
        },
        // A group the run added the user to (`ad::add_group_membership`): taken out again.
        "add_group_membership" => match text("groupDn") {
            Some(dn) => Box::new(RemoveGroupMembership {
                user,
                group_name: text("name").unwrap_or_else(|| rdn_value(&dn)),
                group_dn: dn,
                primary: false,
            }),
            None => return Ok(None),
        },
        "remove_manager" => match text("manager") {
            Some(m) => Box::new(SetAdManager { user, manager_dn: m }),
            None => return Ok(None),
        },
        "clear_employee_id" => {
            let (id, number) = (text("employeeID"), text("employeeNumber"));
            if id.is_none() && number.is_none() {
                return Ok(None);
            }
            Box::new(SetAdEmployeeId { user, employee_id: id, employee_number: number })
        }
        "hide_from_gal" => Box::new(ShowInGalAd { user, prior: p.get("msExchHideFromAddressLists").and_then(Value::as_bool) }),
        "set_remote_shared_mailbox" => match int("msExchRemoteRecipientType") {
            Some(t) => Box::new(RestoreRemoteMailbox { user, remote_type: t, details: int("msExchRecipientTypeDetails") }),
            None => return Ok(None),
        },
        "move_ou" => match text("parent") {
            Some(parent) => return Ok(Some(Reversal { action: Box::new(MoveBackToOu { user, parent }), move_back: true })),
            None => return Ok(None),
        },
        "reset_password" => return Err("the previous password was never known; set a new one in AD".into()),
        "trigger_sync" => return Err("a sync cannot be taken back; run one again after the restore so the cloud follows AD".into()),
        _ => return Err(format!("not reversible by this version ({})", s.target_display)),
    };
    Ok(Some(Reversal { action: a, move_back: false }))
}

/// The reverse actions' boilerplate, in AD: the subject is the account's objectGUID.
macro_rules! ad_restore_action {
    ($name:literal, $target:expr) => {
        restore_action!($name, "ad", $target, subject: guid);
    };
}

fn user_target(u: &AdUserRef) -> Target {
    u.target()
}

pub struct EnableAdAccount {
    pub user: AdUserRef,
    /// userAccountControl before the run disabled the account.
    pub uac: u32,
}

#[async_trait]
impl Action for EnableAdAccount {
    ad_restore_action!("enable_account", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        if !uac_disabled(u.uac) {
            return Ok(Observation::AlreadyDone { detail: format!("enabled in AD: userAccountControl {}", uac_describe(u.uac)) });
        }
        let want = self.uac & !UAC_ACCOUNTDISABLE;
        Ok(Observation::Needed {
            prior: json!({"userAccountControl": u.uac}),
            detail: format!("userAccountControl {} → {} (as before the run)", uac_describe(u.uac), uac_describe(want)),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let want = self.uac & !UAC_ACCOUNTDISABLE;
        cx.ad()?.set_user_account_control(&u.dn, want).await?;
        Ok(format!("enabled in AD (userAccountControl {})", uac_describe(want)))
    }
}

pub struct SetAdManager {
    pub user: AdUserRef,
    pub manager_dn: String,
}

#[async_trait]
impl Action for SetAdManager {
    ad_restore_action!("set_manager", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let name = rdn_value(&self.manager_dn);
        match &u.manager {
            Some(m) if dn_eq(m, &self.manager_dn) => Ok(Observation::AlreadyDone { detail: format!("manager is {name}") }),
            Some(m) => {
                Ok(Observation::Skip { reason: format!("the manager is now {}, not removed by this run: left as it is", rdn_value(m)) })
            }
            None => Ok(Observation::Needed { prior: json!({"manager": null}), detail: format!("set manager {name} again") }),
        }
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        cx.ad()?.replace_attributes(&u.dn, &[(AdAttr::Manager, self.manager_dn.clone())]).await?;
        Ok(format!("manager {} set in AD", rdn_value(&self.manager_dn)))
    }
}

pub struct SetAdEmployeeId {
    pub user: AdUserRef,
    pub employee_id: Option<String>,
    pub employee_number: Option<String>,
}

impl SetAdEmployeeId {
    fn shown(&self) -> String {
        [self.employee_id.as_deref(), self.employee_number.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ")
    }
}

#[async_trait]
impl Action for SetAdEmployeeId {
    ad_restore_action!("set_employee_id", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        if u.employee_id == self.employee_id && u.employee_number == self.employee_number {
            return Ok(Observation::AlreadyDone { detail: format!("employee id is {}", self.shown()) });
        }
        if u.employee_id.is_some() || u.employee_number.is_some() {
            let now = [u.employee_id.as_deref(), u.employee_number.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
            return Ok(Observation::Skip { reason: format!("the employee id is now {now}: left as it is") });
        }
        Ok(Observation::Needed {
            prior: json!({"employeeID": null, "employeeNumber": null}),
            detail: format!("set employee id {} again", self.shown()),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let mut values = Vec::new();
        if let Some(v) = &self.employee_id {
            values.push((AdAttr::EmployeeId, v.clone()));
        }
        if let Some(v) = &self.employee_number {
            values.push((AdAttr::EmployeeNumber, v.clone()));
        }
        cx.ad()?.replace_attributes(&u.dn, &values).await?;
        Ok(format!("employee id {} set in AD", self.shown()))
    }
}

pub struct ShowInGalAd {
    pub user: AdUserRef,
    /// msExchHideFromAddressLists before the run (`None`: unset).
    pub prior: Option<bool>,
}

#[async_trait]
impl Action for ShowInGalAd {
    ad_restore_action!("show_in_gal", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let Some(x) = &u.exchange else {
            return Ok(Observation::Skip { reason: "the AD schema has no Exchange attributes".into() });
        };
        if x.hidden_from_gal != Some(true) {
            return Ok(Observation::AlreadyDone { detail: "not hidden (msExchHideFromAddressLists is not TRUE)".into() });
        }
        let to = if self.prior == Some(false) { "FALSE" } else { "unset" };
        Ok(Observation::Needed {
            prior: json!({"msExchHideFromAddressLists": true}),
            detail: format!("msExchHideFromAddressLists TRUE → {to} (flows to Exchange Online at the next sync)"),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let ad = cx.ad()?;
        if self.prior == Some(false) {
            ad.replace_attributes(&u.dn, &[(AdAttr::HideFromAddressLists, "FALSE".into())]).await?;
        } else {
            ad.clear_attributes(&u.dn, &[AdAttr::HideFromAddressLists]).await?;
        }
        Ok("shown in the address lists again (AD)".into())
    }
}

pub struct RestoreRemoteMailbox {
    pub user: AdUserRef,
    pub remote_type: i64,
    pub details: Option<i64>,
}

#[async_trait]
impl Action for RestoreRemoteMailbox {
    ad_restore_action!("set_remote_user_mailbox", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let Some(x) = &u.exchange else {
            return Ok(Observation::Skip { reason: "the AD schema has no Exchange attributes".into() });
        };
        if x.remote_recipient_type == Some(self.remote_type) && x.recipient_type_details == self.details {
            return Ok(Observation::AlreadyDone { detail: "the remote mailbox type is as before the run".into() });
        }
        if !x.is_remote_shared() {
            return Ok(Observation::Skip { reason: "no longer the remote shared mailbox this run made: left as it is".into() });
        }
        Ok(Observation::Needed {
            prior: json!({"msExchRemoteRecipientType": x.remote_recipient_type, "msExchRecipientTypeDetails": x.recipient_type_details}),
            detail: format!(
                "msExchRemoteRecipientType → {}, msExchRecipientTypeDetails → {} (as before the run; convert in Exchange Online too)",
                self.remote_type,
                self.details.map(|d| d.to_string()).unwrap_or_else(|| "unset".into())
            ),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let ad = cx.ad()?;
        let mut values = vec![(AdAttr::RemoteRecipientType, self.remote_type.to_string())];
        if let Some(d) = self.details {
            values.push((AdAttr::RecipientTypeDetails, d.to_string()));
        }
        ad.replace_attributes(&u.dn, &values).await?;
        if self.details.is_none() {
            ad.clear_attributes(&u.dn, &[AdAttr::RecipientTypeDetails]).await?;
        }
        Ok("remote mailbox type put back in AD".into())
    }
}

pub struct MoveBackToOu {
    pub user: AdUserRef,
    /// The parent DN before the run moved the user.
    pub parent: String,
}

#[async_trait]
impl Action for MoveBackToOu {
    ad_restore_action!("move_ou", |s: &Self| user_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        if dn_eq(u.parent(), &self.parent) {
            return Ok(Observation::AlreadyDone { detail: format!("already in {}", self.parent) });
        }
        if let Some(ou) = cx.ad()?.policy().disabled_ou.as_deref() {
            if !dn_eq(u.parent(), ou) {
                return Ok(Observation::Skip {
                    reason: format!("now in {}, not the disabled-users OU this run moved it to: left as it is", u.parent()),
                });
            }
        }
        Ok(Observation::Needed {
            prior: json!({"dn": u.dn, "parent": u.parent()}),
            detail: format!("move from {} back to {}", u.parent(), self.parent),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let new_dn = cx.ad()?.move_user(&u.dn, &u.cn, &self.parent).await?;
        Ok(format!("moved back to {new_dn}"))
    }
}

/// The capability a reverse AD action needs (the tenant's `deny` applies to restores too).
pub fn capability(action: &str) -> &'static str {
    match action {
        "enable_account" => "ad.account",
        "add_group_membership" | "remove_group_membership" => "ad.groups",
        "set_manager" | "set_employee_id" => "ad.attributes",
        "show_in_gal" | "set_remote_user_mailbox" => "ad.exchange",
        "move_ou" => "ad.move",
        _ => "ad.write",
    }
}
