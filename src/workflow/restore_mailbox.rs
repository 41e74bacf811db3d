//! The reverse actions on the mailbox (Exchange Online) and the PSA contact, planned by
//! [`super::restore::reverse_plan`] from the prior state the run's steps journalled. Each observes
//! live state first, so a restore run twice changes nothing the second time.

use async_trait::async_trait;
use serde_json::json;

use crate::entra::actions::UserRef;
use crate::exchange::actions::MailboxAccess;
use crate::exchange::ExchangeAccess;
use crate::exchange::{Forwarding, Mailbox};
use crate::exec::{Action, ActionError, Cx, Observation, Target};
use crate::psa::Contact;
use crate::psa::PsaAccess;

pub struct RestoreForwarding {
    pub user: UserRef,
    /// What the run replaced (no address and no copy: forwarding was off).
    pub prior: Forwarding,
    /// `--include-external-forwarding`: put back an address outside the tenant too.
    pub allow_external: bool,
}
pub struct ShowInGal {
    pub user: UserRef,
}
pub struct ConvertToUserMailbox {
    pub user: UserRef,
}
pub struct RemoveMailboxPermission {
    pub user: UserRef,
    pub trustee: String,
    pub access: MailboxAccess,
}
pub struct AddDistributionGroupMembership {
    pub user: UserRef,
    pub group_id: String,
    pub name: String,
    /// The member as the run removed it (the UPN).
    pub member: String,
}
pub struct ReactivatePsaContact {
    pub user: UserRef,
    pub email: String,
    pub contact_id: String,
    /// The PSA kind the run deactivated the contact in.
    pub psa: String,
    pub target: String,
}

fn mailbox_target(u: &UserRef) -> Target {
    Target { kind: "mailbox", id: u.id.clone(), display: u.upn.clone() }
}

/// The user's mailbox, or the observation to return when there is none.
async fn mailbox_of(cx: &Cx, user: &UserRef) -> Result<Result<Mailbox, Observation>, ActionError> {
    match cx.exchange()?.get_mailbox(&user.upn).await? {
        Some(m) => Ok(Ok(m)),
        None => Ok(Err(Observation::Skip { reason: format!("{} has no Exchange Online mailbox", user.upn) })),
    }
}

fn same_address(a: Option<&str>, b: Option<&str>) -> bool {
    let norm = |s: Option<&str>| {
        s.map(|s| s.trim_start_matches("smtp:").trim_start_matches("SMTP:").to_ascii_lowercase()).filter(|s| !s.is_empty())
    };
    norm(a) == norm(b)
}

fn describe_forwarding(f: &Forwarding) -> String {
    match (&f.address, &f.smtp) {
        (None, None) => "no forwarding".into(),
        (a, s) => {
            let to = a.clone().or(s.clone()).unwrap_or_default();
            format!("forwarding to {to}{}", if f.keep_copy { ", keeping a copy" } else { ", without keeping a copy" })
        }
    }
}

#[async_trait]
impl Action for RestoreForwarding {
    restore_action!("restore_forwarding", "exchange", |s: &Self| mailbox_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let m = match mailbox_of(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        let f = &self.prior;
        let wanted = describe_forwarding(f);
        if let (false, Some(smtp)) = (self.allow_external, f.smtp.as_deref()) {
            let address = smtp.trim_start_matches("smtp:").trim_start_matches("SMTP:");
            let domain = address.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
            let accepted = cx.exchange()?.accepted_domains().await?;
            if !accepted.contains(&domain) {
                return Ok(Observation::Skip {
                    reason: format!(
                        "not put back: the prior forwarding went to {address}, outside the tenant's domains ({}); mail would leave \
                         the tenant. `restore --include-external-forwarding` puts it back",
                        accepted.join(", ")
                    ),
                });
            }
        }
        if same_address(m.forwarding_address.as_deref(), f.address.as_deref())
            && same_address(m.forwarding_smtp.as_deref(), f.smtp.as_deref())
            && m.deliver_and_forward == f.keep_copy
        {
            return Ok(Observation::AlreadyDone { detail: format!("already as it was: {wanted}") });
        }
        Ok(Observation::Needed { prior: m.forwarding_json(), detail: format!("put the forwarding back as it was: {wanted}") })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.exchange()?.set_forwarding(&self.user.upn, &self.prior).await?;
        Ok(format!("forwarding put back: {}", describe_forwarding(&self.prior)))
    }
}

#[async_trait]
impl Action for ShowInGal {
    restore_action!("show_in_gal", "exchange", |s: &Self| mailbox_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let m = match mailbox_of(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        if !m.hidden {
            return Ok(Observation::AlreadyDone { detail: "shown in address lists".into() });
        }
        if m.dir_synced && !m.cloud_managed {
            return Ok(Observation::Skip {
                reason: "synced from AD: show it on premises (msExchHideFromAddressLists=FALSE, then sync)".into(),
            });
        }
        Ok(Observation::Needed {
            prior: json!({"HiddenFromAddressListsEnabled": true}),
            detail: "show in the global address list again".into(),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.exchange()?.set_hidden_from_gal(&self.user.upn, false).await?;
        Ok("shown in address lists".into())
    }
}

#[async_trait]
impl Action for ConvertToUserMailbox {
    restore_action!("convert_to_user_mailbox", "exchange", |s: &Self| mailbox_target(&s.user));
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let m = match mailbox_of(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        if m.type_details == "UserMailbox" {
            return Ok(Observation::AlreadyDone { detail: "a user mailbox".into() });
        }
        if !m.is_shared() {
            return Ok(Observation::Skip {
                reason: format!("the mailbox is now a {}, not the shared mailbox this run made: left as it is", m.type_details),
            });
        }
        let mut detail = "convert the shared mailbox back to a user mailbox; a user mailbox needs a licence: the licences are put back in the phase before".to_string();
        if m.dir_synced {
            detail.push_str("; synced from AD: also run `Set-RemoteMailbox -Identity <user> -Type Regular` on premises, or the next sync can turn it back");
        }
        Ok(Observation::Needed { prior: json!({"RecipientTypeDetails": m.type_details}), detail })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.exchange()?.set_mailbox_type(&self.user.upn, "Regular").await?;
        Ok("conversion to a user mailbox requested (after the licences were put back: a user mailbox needs one)".into())
    }
}

#[async_trait]
impl Action for RemoveMailboxPermission {
    restore_action!("remove_mailbox_permission", "exchange", |s: &Self| Target {
        kind: "mailbox",
        id: s.user.id.clone(),
        display: format!("{} → {}", s.user.upn, s.trustee)
    });
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let exo = cx.exchange()?;
        let m = match mailbox_of(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        let trustee = match exo.get_recipient(&self.trustee).await {
            Ok(r) => r,
            Err(e) if e.is_not_found() => return Ok(Observation::Skip { reason: format!("{} no longer exists", self.trustee) }),
            Err(e) => return Err(e.into()),
        };
        let perms = match self.access {
            MailboxAccess::FullAccess => exo.mailbox_permissions(&m.upn).await?,
            MailboxAccess::SendAs => exo.recipient_permissions(&m.upn).await?,
        };
        let right = self.access.as_str();
        if !perms.iter().any(|p| !p.inherited && p.grants(right, &trustee)) {
            return Ok(Observation::AlreadyDone { detail: format!("{} has no {right}", trustee.primary_smtp) });
        }
        Ok(Observation::Needed {
            prior: json!({"access": right, "trustee": trustee.primary_smtp}),
            detail: format!("remove {right} granted to {} by the run", trustee.primary_smtp),
        })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let exo = cx.exchange()?;
        match self.access {
            MailboxAccess::FullAccess => exo.remove_full_access(&self.user.upn, &self.trustee).await?,
            MailboxAccess::SendAs => exo.remove_send_as(&self.user.upn, &self.trustee).await?,
        }
        Ok(format!("{} removed from {}", self.access.as_str(), self.trustee))
    }
}

#[async_trait]
impl Action for AddDistributionGroupMembership {
    restore_action!("add_distribution_group_membership", "exchange", |s: &Self| Target {
        kind: "group",
        id: s.group_id.clone(),
        display: s.name.clone()
    });
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let members = match cx.exchange()?.distribution_group_members(&self.group_id).await {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return Ok(Observation::Skip { reason: format!("the group {} no longer exists", self.name) }),
            Err(e) => return Err(e.into()),
        };
        if members.iter().any(|m| m.is(&self.member) || m.is(&self.user.id)) {
            return Ok(Observation::AlreadyDone { detail: format!("already a member of {}", self.name) });
        }
        Ok(Observation::Needed { prior: json!({"member": false}), detail: format!("add {} back to {}", self.member, self.name) })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.exchange()?.add_distribution_group_member(&self.group_id, &self.member).await?;
        Ok(format!("added back to {}", self.name))
    }
}

#[async_trait]
impl Action for ReactivatePsaContact {
    restore_action!("reactivate_psa_contact", "psa", |s: &Self| Target {
        kind: "psa_contact",
        id: s.contact_id.clone(),
        display: s.target.clone()
    });
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let Some(psa) = cx.providers.psa() else {
            return Ok(Observation::Skip { reason: "this tenant has no PSA configured any more: reactivate the contact by hand".into() });
        };
        if !self.psa.is_empty() && psa.kind() != self.psa {
            return Ok(Observation::Skip {
                reason: format!("the contact was deactivated in {}, the tenant now uses {}: reactivate it by hand", self.psa, psa.kind()),
            });
        }
        let c = self.contact(cx).await?;
        match c {
            None => Ok(Observation::Skip {
                reason: format!("{} contact #{} is no longer found by {}", psa.kind(), self.contact_id, self.email),
            }),
            Some(c) if c.active => {
                Ok(Observation::AlreadyDone { detail: format!("{} contact #{} {} is active", psa.kind(), c.id, c.name) })
            }
            Some(c) => Ok(Observation::Needed {
                prior: json!({"psa": psa.kind(), "contact_id": c.id, "active": false}),
                detail: format!("reactivate {} contact #{} {} <{}>", psa.kind(), c.id, c.name, c.email),
            }),
        }
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let psa = cx.providers.psa().ok_or_else(|| ActionError::Other("this tenant has no PSA configured".into()))?;
        let c = self.contact(cx).await?.ok_or_else(|| ActionError::Other(format!("contact #{} is no longer found", self.contact_id)))?;
        psa.reactivate_contact(&c).await?;
        Ok(format!("{} contact #{} {} reactivated", psa.kind(), c.id, c.name))
    }
}

impl ReactivatePsaContact {
    async fn contact(&self, cx: &Cx) -> Result<Option<Contact>, ActionError> {
        let psa = cx.providers.psa().ok_or_else(|| ActionError::Other("this tenant has no PSA configured".into()))?;
        Ok(psa.find_contacts(&self.email).await?.into_iter().find(|c| c.id == self.contact_id))
    }
}
