//! `notify_supervisor`: `POST /users/{sender}/sendMail` to the leaver's manager.
//!
//! The manager is the one read by `graph::get_user` when the script started, so the step works
//! after `remove_manager` too (put it in the last phase: the mail then lists what was done). A mail
//! is not idempotent: the journal is the marker. When a send for this user was recorded (done, or
//! sent with an unknown result) the step is `already_done` and nothing is sent again.
//!
//! The text is a template with `{placeholders}`: `{user}`, `{display_name}`, `{manager}`,
//! `{tenant}`, `{run_id}`, `{ticket}`, `{done}` (one line per step done so far in this run),
//! `{access}` (what the manager now has access to, as the script passes it).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{last_landed, UserRef};
use crate::entra::CloudAccess;
use crate::entra::Manager;
use crate::exec::{Action, ActionError, Cx, Observation};
use crate::journal::StepStatus;

pub const DEFAULT_SUBJECT: &str = "{display_name} has been offboarded";

pub const DEFAULT_TEMPLATE: &str = "Hello {manager},

{display_name} ({user}) has been offboarded from {tenant}.

What was done:
{done}

What you now have access to:
{access}

Ticket: {ticket}
Reference: offboard-host run {run_id}

This message was sent automatically; please reply to your service desk with any questions.
";

pub struct NotifySupervisor {
    pub user: UserRef,
    pub display_name: String,
    /// As read when the user was resolved (before any `remove_manager`).
    pub manager: Option<Manager>,
    pub sender: String,
    pub subject: String,
    pub template: String,
    pub access: String,
}

impl NotifySupervisor {
    fn fill(&self, text: &str, cx: &Cx, done: &str, ticket: &str) -> String {
        let manager = self.manager.as_ref().map(|m| m.display_name.as_str()).unwrap_or("");
        [
            ("{user}", self.user.upn.as_str()),
            ("{display_name}", self.display_name.as_str()),
            ("{manager}", manager),
            ("{tenant}", cx.tenant.as_str()),
            ("{run_id}", cx.run_id.as_str()),
            ("{ticket}", ticket),
            ("{done}", done),
            ("{access}", if self.access.is_empty() { "nothing was handed over to you by this offboarding" } else { &self.access }),
        ]
        .iter()
        .fold(text.to_string(), |t, (k, v)| t.replace(k, v))
    }
}

#[async_trait]
impl Action for NotifySupervisor {
    user_action!("notify_supervisor", idempotent = false);

    fn params(&self) -> Value {
        json!({"sender": self.sender, "manager": self.manager.as_ref().map(|m| m.upn.clone())})
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        if let Some(w) = last_landed(cx, &self.user.id, self.action())? {
            let how = if w.status == StepStatus::Running { "may have been sent (result unknown)" } else { "was sent" };
            return Ok(Observation::AlreadyDone {
                detail: format!("the supervisor notification {how} by run {} at {}: not sent twice", w.run_id, w.intent_at.to_rfc3339()),
            });
        }
        let Some(m) = &self.manager else {
            return Ok(Observation::Skip { reason: "the user has no manager: nobody to notify".into() });
        };
        let Some(mail) = m.mail.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(Observation::Skip { reason: format!("the manager {} has no mailbox (no mail address): not notified", m.upn) });
        };
        if self.sender.trim().is_empty() {
            return Ok(Observation::Skip { reason: "no sender mailbox configured (set mail_sender in the client's defaults)".into() });
        }
        Ok(Observation::Needed {
            prior: json!({"managerId": m.id, "managerMail": mail}),
            detail: format!("e-mail {mail} from {} about this offboarding", self.sender),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let Some(to) = self.manager.as_ref().and_then(|m| m.mail.clone()) else {
            return Err(ActionError::Other("the manager has no mail address".into()));
        };
        let run = cx.journal.get_run(&cx.run_id).map_err(Cx::journal_err)?;
        let done: Vec<String> = run
            .map(|r| r.steps)
            .unwrap_or_default()
            .iter()
            .filter(|s| s.step.status == StepStatus::Done && s.step.action != self.action())
            .map(|s| format!("- {} ({})", s.step.action.replace('_', " "), s.step.target_display))
            .collect();
        let done = if done.is_empty() { "- nothing needed changing".to_string() } else { done.join("\n") };
        let ticket = cx.journal.run_ticket(&cx.run_id).ok().flatten().unwrap_or_else(|| "none".into());
        let subject = self.fill(&self.subject, cx, &done, &ticket);
        let body = self.fill(&self.template, cx, &done, &ticket);
        cx.cloud()?.send_mail(&self.sender, &to, &subject, &body).await?;
        Ok(format!("sent to {to}"))
    }
}
