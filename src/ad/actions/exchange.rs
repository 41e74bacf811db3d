//! The Exchange attributes of a synced mailbox, written on premises because Exchange Online
//! refuses to change dir-synced attributes (b.2):
//! - `hide_from_gal`: replace `msExchHideFromAddressLists` = TRUE (F10-hybrid a);
//! - `set_remote_shared_mailbox`: replace `msExchRemoteRecipientType` = 100 (96 SharedMailbox +
//!   4 Migrated; 97 for a mailbox provisioned in the cloud) and `msExchRecipientTypeDetails` =
//!   34359738368 (RemoteSharedMailbox), the LDAP form of `Set-RemoteMailbox -Type Shared`
//!   (F8-hybrid, KB2710029). Convert in Exchange Online as well.
//!
//! Without the Exchange schema both are skipped with "not available".

use async_trait::async_trait;
use serde_json::json;

use super::AdUserRef;
use crate::ad::model::{remote_shared_type, ExchangeAttrs, REMOTE_SHARED_DETAILS};
use crate::ad::AdAccess;
use crate::ad::AdAttr;
use crate::ad::AdUsers;
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct HideFromGal {
    pub user: AdUserRef,
}

pub struct SetRemoteSharedMailbox {
    pub user: AdUserRef,
}

fn no_schema() -> Observation {
    Observation::Skip {
        reason: "not available: the AD schema has no Exchange attributes (msExchHideFromAddressLists, msExchRemoteRecipientType); do it in Exchange Online".into(),
    }
}

async fn exchange_attrs(cx: &Cx, guid: &str) -> Result<Option<(std::sync::Arc<crate::ad::AdUser>, ExchangeAttrs)>, ActionError> {
    if !cx.ad()?.has_exchange_schema().await? {
        return Ok(None);
    }
    let u = cx.ad_user(guid).await?;
    let x = u.exchange.clone().unwrap_or_default();
    Ok(Some((u, x)))
}

#[async_trait]
impl Action for HideFromGal {
    ad_user_action!("hide_from_gal", idempotent = true);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let Some((_, x)) = exchange_attrs(cx, &self.user.guid).await? else {
            // Exchange Online refuses it for a synced user too: only a person can hide it now.
            return Ok(Observation::NeedsAction {
                instruction: "in on-premises Exchange management (or after extending the AD schema): set msExchHideFromAddressLists TRUE on the user, then sync; the AD schema has no Exchange attributes and Exchange Online refuses it for a synced user".into(),
            });
        };
        if x.hidden_from_gal == Some(true) {
            return Ok(Observation::AlreadyDone { detail: "already hidden (msExchHideFromAddressLists TRUE)".into() });
        }
        Ok(Observation::Needed {
            prior: json!({"msExchHideFromAddressLists": x.hidden_from_gal}),
            detail: "set msExchHideFromAddressLists TRUE (flows to Exchange Online at the next sync)".into(),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        cx.ad()?.replace_attributes(&u.dn, &[(AdAttr::HideFromAddressLists, "TRUE".into())]).await?;
        Ok("hidden from the address lists (AD)".into())
    }
}

#[async_trait]
impl Action for SetRemoteSharedMailbox {
    ad_user_action!("set_remote_shared_mailbox", idempotent = true);

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let Some((_, x)) = exchange_attrs(cx, &self.user.guid).await? else {
            return Ok(no_schema());
        };
        if x.is_remote_shared() {
            return Ok(Observation::AlreadyDone { detail: "already a remote shared mailbox in AD".into() });
        }
        let Some(current) = x.remote_recipient_type else {
            return Ok(Observation::Skip {
                reason: "not a remote mailbox in AD (no msExchRemoteRecipientType): run Enable-RemoteMailbox first, or convert in Exchange Online only".into(),
            });
        };
        Ok(Observation::Needed {
            prior: json!({"msExchRemoteRecipientType": current, "msExchRecipientTypeDetails": x.recipient_type_details}),
            detail: format!(
                "msExchRemoteRecipientType {current} → {}, msExchRecipientTypeDetails {} → {REMOTE_SHARED_DETAILS} (RemoteSharedMailbox); convert in Exchange Online too",
                remote_shared_type(Some(current)),
                x.recipient_type_details.map(|d| d.to_string()).unwrap_or_else(|| "unset".into())
            ),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let u = cx.ad_user(&self.user.guid).await?;
        let current = u.exchange.as_ref().and_then(|x| x.remote_recipient_type);
        let values = [
            (AdAttr::RemoteRecipientType, remote_shared_type(current).to_string()),
            (AdAttr::RecipientTypeDetails, REMOTE_SHARED_DETAILS.to_string()),
        ];
        cx.ad()?.replace_attributes(&u.dn, &values).await?;
        Ok("remote mailbox marked shared in AD".into())
    }
}
