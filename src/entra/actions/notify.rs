//! `notify_supervisor`: `POST /users/{sender}/sendMail` to the leaver's manager.
//!
//! The manager is the one read by `graph::get_user` when the script started, so the step works
//! after `remove_manager` too (put it in the last phase: the mail then lists what was done). After
//! a crash once `remove_manager` had run, the live read has no manager: the manager is then the one
//! the journal recorded as that step's prior state.
//!
//! A mail is not idempotent, and sendMail's 202 only says the message was queued. So the message
//! carries a marker (the extended property [`crate::entra::MARKER_PROPERTY`], one value per tenant and user),
//! and the step is `done` only when the sender's Sent Items show it; else `unconfirmed`. Finding
//! it there is also what stops a second mail: a re-run, or a retry after a 503, sends again only
//! when Sent Items can be read and do not hold the marked message.
//!
//! The text is a template with `{placeholders}`: `{user}`, `{display_name}`, `{manager}`,
//! `{tenant}`, `{run_id}`, `{ticket}`, `{done}` (one line per step done so far in this run),
//! `{access}` (what the manager now has access to, as the script passes it).

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{last_landed, UserRef};
use crate::entra::{CloudAccess, Manager};
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
    fn fill(&self, text: &str, cx: &Cx, manager: &str, done: &str, ticket: &str) -> String {
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

impl NotifySupervisor {
    /// The value of [`crate::entra::MARKER_PROPERTY`] on this user's notification: one per tenant and user,
    /// whichever run sends it.
    fn marker(&self, cx: &Cx) -> String {
        format!("offboard-host:{}:{}", cx.tenant, self.user.id)
    }

    /// The manager as read at the start of this run; else, after a crash once `remove_manager`
    /// had run, the one that step journalled as its prior state, read again by id.
    async fn manager(&self, cx: &Cx) -> Result<Option<Manager>, ActionError> {
        if self.manager.is_some() {
            return Ok(self.manager.clone());
        }
        let Some(w) = last_landed(cx, &self.user.id, "remove_manager")? else { return Ok(None) };
        let run = cx.journal.get_run(&w.run_id).map_err(Cx::journal_err)?;
        let prior = run.and_then(|r| r.steps.into_iter().find(|s| s.step.step_id == w.step_id)).map(|s| s.step.prior);
        let Some(id) = prior.as_ref().and_then(|p| p["managerId"].as_str()).map(String::from) else { return Ok(None) };
        Ok(cx.cloud()?.resolve_user(&id).await?.map(|u| Manager { id: u.id, upn: u.upn, display_name: u.display_name, mail: u.mail }))
    }
}

#[async_trait]
impl Action for NotifySupervisor {
    user_action!("notify_supervisor", idempotent = false);

    fn params(&self) -> Value {
        json!({"sender": self.sender, "manager": self.manager.as_ref().map(|m| m.upn.clone())})
    }

    /// sendMail's 202 only queues the message: `done` needs the copy in Sent Items.
    fn answer_confirms(&self) -> bool {
        false
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let Some(m) = self.manager(cx).await? else {
            return Ok(Observation::Skip { reason: "the user has no manager: nobody to notify".into() });
        };
        let Some(mail) = m.mail.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(Observation::Skip { reason: format!("the manager {} has no mailbox (no mail address): not notified", m.upn) });
        };
        if self.sender.trim().is_empty() {
            return Ok(Observation::Skip { reason: "no sender mailbox configured (set mail_sender in the client's defaults)".into() });
        }
        // The journal's last send, by another run (this run's own intent means we are reading back).
        let last = cx.journal.last_write(&cx.tenant, &self.user.id, self.action()).map_err(Cx::journal_err)?;
        let reading_back = last.as_ref().is_some_and(|w| w.run_id == cx.run_id);
        let earlier =
            last.filter(|w| w.run_id != cx.run_id && matches!(w.status, StepStatus::Done | StepStatus::Running | StepStatus::Unconfirmed));
        match cx.cloud()?.find_sent_mail(&self.sender, &self.marker(cx)).await {
            Ok(Some(found)) => {
                return Ok(Observation::AlreadyDone {
                    detail: format!("the notification to {mail} is in {}'s Sent Items (sent {}): not sent twice", self.sender, found.sent),
                })
            }
            Ok(None) => {}
            // Reading back after a send: an unreadable Sent Items leaves the send unconfirmed.
            Err(e) if reading_back => return Err(e.into()),
            Err(e) => {
                let Some(w) = earlier else {
                    return Ok(Observation::Needed {
                        prior: json!({"managerId": m.id, "managerMail": mail}),
                        detail: format!(
                            "e-mail {mail} from {} about this offboarding (Sent Items cannot be read, so it will stay unconfirmed: {e})",
                            self.sender
                        ),
                    });
                };
                if w.status == StepStatus::Done {
                    return Ok(Observation::AlreadyDone {
                        detail: format!("the notification was sent by run {} at {}: not sent twice", w.run_id, w.intent_at.to_rfc3339()),
                    });
                }
                return Ok(Observation::NeedsAction {
                    instruction: format!(
                        "ask {mail} whether the offboarding notification of run {} ({}) arrived, and send it by hand if not: its result is unknown and {}'s Sent Items cannot be read ({e})",
                        w.run_id,
                        w.intent_at.to_rfc3339(),
                        self.sender
                    ),
                });
            }
        }
        match earlier {
            // Confirmed when it was sent; the copy has since left Sent Items.
            Some(w) if w.status == StepStatus::Done => Ok(Observation::AlreadyDone {
                detail: format!("the notification was sent by run {} at {}: not sent twice", w.run_id, w.intent_at.to_rfc3339()),
            }),
            Some(w) => Ok(Observation::Needed {
                prior: json!({"managerId": m.id, "managerMail": mail}),
                detail: format!("e-mail {mail} from {}: run {}'s send is not in Sent Items, so it did not go out", self.sender, w.run_id),
            }),
            None => Ok(Observation::Needed {
                prior: json!({"managerId": m.id, "managerMail": mail}),
                detail: format!("e-mail {mail} from {} about this offboarding", self.sender),
            }),
        }
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let manager = self.manager(cx).await?;
        let Some(to) = manager.as_ref().and_then(|m| m.mail.clone()) else {
            return Err(ActionError::Other("the manager has no mail address".into()));
        };
        let name = manager.as_ref().map(|m| m.display_name.as_str()).unwrap_or("");
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
        let subject = self.fill(&self.subject, cx, name, &done, &ticket);
        let body = self.fill(&self.template, cx, name, &done, &ticket);
        cx.cloud()?.send_mail(&self.sender, &to, &subject, &body, Some(&self.marker(cx))).await?;
        Ok(format!("sent to {to}"))
    }
}
