//! `remove_inbox_rule`: one step per rule from `Get-InboxRule -Mailbox <upn> -IncludeHidden`,
//! skipping the rules Exchange keeps for itself ("Junk E-Mail Rule", `Microsoft.Exchange.OOF.*`).
//! A rule that forwards mail elsewhere is the usual way a leaver keeps receiving company mail.

use async_trait::async_trait;
use serde_json::json;

use super::DIRECTORY;
use crate::entra::actions::UserRef;
use crate::exchange::reads::{key as exo_key, Obj};
use crate::exchange::ExchangeAccess;
use crate::exchange::InboxRule;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct RemoveInboxRule {
    pub user: UserRef,
    pub rule: InboxRule,
}

#[async_trait]
impl Action for RemoveInboxRule {
    fn action(&self) -> &'static str {
        "remove_inbox_rule"
    }
    fn directory(&self) -> &'static str {
        DIRECTORY
    }
    fn target(&self) -> Target {
        Target { kind: "inbox_rule", id: self.rule.identity.clone(), display: format!("{}: {}", self.user.upn, self.rule.name) }
    }
    fn subject_id(&self) -> String {
        self.user.id.clone()
    }
    fn idempotent(&self) -> bool {
        true
    }
    fn stale_reads(&self) -> Vec<String> {
        vec![exo_key(Obj::Rules, &self.user.upn)]
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        if self.rule.is_system() {
            return Ok(Observation::Skip { reason: "a system rule Exchange keeps".into() });
        }
        let rules = super::reads(cx)?.inbox_rules(&self.user.upn).await?;
        let Some(r) = rules.iter().find(|r| r.identity == self.rule.identity) else {
            return Ok(Observation::AlreadyDone { detail: "the rule is already removed".into() });
        };
        let mut detail = format!("remove the inbox rule '{}'", r.name);
        if !r.forwards_to.is_empty() {
            detail.push_str(&format!(" (it forwards to {})", r.forwards_to.join(", ")));
        }
        Ok(Observation::Needed { prior: json!(r), detail })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        match cx.exchange()?.remove_inbox_rule(&self.user.upn, &self.rule.identity).await {
            Ok(()) => Ok("removed".into()),
            Err(e) if e.is_not_found() => Ok("was already removed".into()),
            Err(e) => Err(e.into()),
        }
    }
}
