//! `remove_license`: `POST /users/{id}/assignLicense {"addLicenses":[],"removeLicenses":[sku]}`.
//!
//! Only direct assignments can be removed per user; a licence inherited from a group goes with the
//! group membership, so it is skipped here with the group named. Run it after the mailbox is kept
//! (converted to shared), never before: removing the Exchange licence first starts the mailbox's
//! 30-day disconnect. A licence that carries the mailbox is kept, as `needs_action`, while the
//! mailbox needs one to stay (50 GB or more, an archive, a hold; see [`MailboxLicenceNeed`]).

use async_trait::async_trait;
use serde_json::json;

use super::UserRef;
use crate::entra::{CloudAccess, CloudUsers, MailboxLicenceNeed};
use crate::exec::{Action, ActionError, Cx, Observation};

pub struct RemoveLicense {
    pub user: UserRef,
    pub sku_id: String,
    pub sku: String,
}

#[async_trait]
impl Action for RemoveLicense {
    user_item_action!("remove_license", "license", id = sku_id, display = sku, idempotent = true);
    fn params(&self) -> serde_json::Value {
        json!({"user": self.user.upn})
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let u = cx.cloud_user(&self.user.id).await?;
        let Some(lic) = u.license(&self.sku_id) else {
            return Ok(Observation::AlreadyDone { detail: format!("{} is not assigned", self.sku) });
        };
        let groups: Vec<String> = lic.via_groups.iter().map(|g| u.group(g).map(|g| g.name.clone()).unwrap_or_else(|| g.clone())).collect();
        if !lic.direct {
            // Nothing removes a group-assigned licence directly: someone must take the user out
            // of the group (or the licence off the group), or it stays billed.
            return Ok(Observation::NeedsAction {
                instruction: format!(
                    "in Entra ID: remove {} from the group {} (it assigns {}), or remove {} from that group, to free the licence",
                    self.user.upn,
                    groups.join(", "),
                    lic.sku,
                    lic.sku
                ),
            });
        }
        if let Some(need) = cx.providers.get::<dyn MailboxLicenceNeed>().filter(|_| lic.mailbox) {
            if let Some(why) = need.licence_needed(&cx.cache, &self.user.upn).await? {
                return Ok(Observation::NeedsAction {
                    instruction: format!(
                        "keep {sku}: the mailbox of {upn} {why}, and a shared mailbox of 50 GB or more, with an archive or on hold \
                         still needs an Exchange Online Plan 2 licence. Assign Exchange Online (Plan 2) to {upn} and then remove \
                         {sku} in the Microsoft 365 admin center, or leave {sku} assigned",
                        sku = lic.sku,
                        upn = self.user.upn,
                    ),
                });
            }
        }
        let mut detail = format!("remove the direct {} assignment", lic.sku);
        if !groups.is_empty() {
            detail.push_str(&format!("; still assigned by group {}", groups.join(", ")));
        }
        Ok(Observation::Needed { prior: json!({"skuId": lic.sku_id, "skuPartNumber": lic.sku, "viaGroups": lic.via_groups}), detail })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.cloud()?.remove_license(&self.user.id, &self.sku_id).await {
            Ok(()) => Ok(format!("{} removed", self.sku)),
            Err(e) if e.status() == Some(400) && e.to_string().contains("does not have a corresponding license") => {
                Ok(format!("{} was already removed", self.sku))
            }
            Err(e) => Err(e.into()),
        }
    }
}
