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
use crate::exchange::reads::{key as exo_key, Obj};
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
    fn stale_reads(&self) -> Vec<String> {
        match self.access {
            MailboxAccess::FullAccess => vec![exo_key(Obj::FullAccess, &self.user.upn)],
            MailboxAccess::SendAs => vec![exo_key(Obj::SendAs, &self.user.upn)],
        }
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        // Three independent reads, in flight together (the permissions are read under the UPN
        // the script gave: it is the mailbox's own, or the mailbox read fails and says so).
        let reads = super::reads(cx)?;
        let upn = &self.user.upn;
        let perms = async {
            match self.access {
                MailboxAccess::FullAccess => reads.mailbox_permissions(upn).await,
                MailboxAccess::SendAs => reads.recipient_permissions(upn).await,
            }
        };
        let (m, trustee, perms) = tokio::join!(mailbox(cx, &self.user), reads.recipient(&self.trustee), perms);
        if let Err(o) = m? {
            return Ok(o);
        }
        let (trustee, perms) = (trustee?, perms?);
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
