//! `grant_mailbox_permission`: FullAccess (`Add-MailboxPermission -AccessRights FullAccess
//! -AutoMapping <bool> -InheritanceType All`) or SendAs (`Add-RecipientPermission -AccessRights
//! SendAs`) on the leaver's mailbox, to the manager or a named delegate.
//!
//! The trustee is resolved with `Get-Recipient` while observing, so a typo fails the step (in the
//! plan too) with Exchange's own message instead of granting nothing.

use async_trait::async_trait;
use serde_json::json;

use super::{mailbox, DIRECTORY};
use crate::entra::actions::UserRef;
use crate::exchange::ExchangeAccess;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxAccess {
    FullAccess,
    SendAs,
}

impl MailboxAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxAccess::FullAccess => "FullAccess",
            MailboxAccess::SendAs => "SendAs",
        }
    }
}

pub struct GrantMailboxPermission {
    pub user: UserRef,
    pub trustee: String,
    pub access: MailboxAccess,
    pub automap: bool,
}

#[async_trait]
impl Action for GrantMailboxPermission {
    fn action(&self) -> &'static str {
        "grant_mailbox_permission"
    }
    fn directory(&self) -> &'static str {
        DIRECTORY
    }
    fn target(&self) -> Target {
        Target { kind: "mailbox", id: self.user.id.clone(), display: format!("{} → {}", self.user.upn, self.trustee) }
    }
    fn subject_id(&self) -> String {
        self.user.id.clone()
    }
    fn params(&self) -> serde_json::Value {
        json!({"trustee": self.trustee, "access": self.access.as_str(), "automap": self.automap})
    }
    fn idempotent(&self) -> bool {
        true
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let exo = cx.exchange()?;
        let m = match mailbox(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        let trustee = exo.get_recipient(&self.trustee).await?;
        let perms = match self.access {
            MailboxAccess::FullAccess => exo.mailbox_permissions(&m.upn).await?,
            MailboxAccess::SendAs => exo.recipient_permissions(&m.upn).await?,
        };
        let right = self.access.as_str();
        if perms.iter().any(|p| p.grants(right, &trustee)) {
            return Ok(Observation::AlreadyDone { detail: format!("{} already has {right}", trustee.primary_smtp) });
        }
        let explicit: Vec<_> = perms.iter().filter(|p| !p.inherited).collect();
        let how = match (self.access, self.automap) {
            (MailboxAccess::FullAccess, true) => " (the mailbox appears in their Outlook)",
            (MailboxAccess::FullAccess, false) => " (without auto-mapping)",
            _ => "",
        };
        Ok(Observation::Needed {
            prior: json!({"access": right, "permissions": explicit}),
            detail: format!("grant {} {right}{how}", trustee.primary_smtp),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let exo = cx.exchange()?;
        match self.access {
            MailboxAccess::FullAccess => exo.add_full_access(&self.user.upn, &self.trustee, self.automap).await?,
            MailboxAccess::SendAs => exo.add_send_as(&self.user.upn, &self.trustee).await?,
        }
        Ok(format!("{} granted to {}", self.access.as_str(), self.trustee))
    }
}
