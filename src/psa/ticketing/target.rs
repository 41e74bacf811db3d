//! Which ticket a run writes to: the one given, the one of the same user's offboarding that is
//! not over, or a new one.
//!
//! An MSP counts offboardings, not runs: a run that was killed, failed or stopped, and the runs
//! that finish its work, are one offboarding with one ticket. So is a run after one whose ticket
//! was left for review (to-dos, an unconfirmed write): that ticket is still open at the MSP. Once
//! a ticket was closed (the run succeeded with nothing left), the offboarding is over, and a later
//! run that changes something again (the account was re-enabled, a new request months later) is
//! a new offboarding with a new ticket.

use crate::journal::{Journal, RunStatus, TicketedRun};
use crate::psa::TicketStatus;

#[derive(Debug, Clone)]
pub(super) enum Target {
    /// `--ticket`.
    Given(String),
    /// The ticket of the user's last offboarding, which is not over. `ticket`: None while its
    /// creation still waits in the outbox.
    Continue { run_id: String, status: RunStatus, ticket: Option<String>, unfinished: bool },
    /// A new ticket. `had_ticket`: an earlier offboarding of this user had one (it lists the
    /// to-dos that are still open, so they are not news).
    New { had_ticket: bool },
}

/// The target of `run_id`, a run of `user` in `tenant`.
pub(super) fn find(journal: &dyn Journal, tenant: &str, user: &str, run_id: &str, given: Option<&str>) -> crate::journal::Result<Target> {
    if let Some(t) = given {
        return Ok(Target::Given(t.to_string()));
    }
    Ok(match journal.last_ticketed_run(tenant, user, run_id)? {
        Some(last) if last.unfinished() || left_open(&last) => {
            Target::Continue { unfinished: last.unfinished(), run_id: last.run_id, status: last.status, ticket: last.ticket }
        }
        last => Target::New { had_ticket: last.is_some() },
    })
}

/// The run finished and left its ticket for review (or never got to set its final status).
fn left_open(run: &TicketedRun) -> bool {
    let status = run.last_status.as_ref().and_then(|p| p.get("status")).and_then(|s| serde_json::from_value(s.clone()).ok());
    status != Some(TicketStatus::Completed)
}

impl Target {
    pub(super) fn ticket(&self) -> Option<&str> {
        match self {
            Target::Given(t) => Some(t),
            Target::Continue { ticket, .. } => ticket.as_deref(),
            Target::New { .. } => None,
        }
    }

    /// A run with nothing to change still adds its summary: to the ticket it was given, or to an
    /// unfinished run's (whose ticket would otherwise stay in progress). A ticket left for review
    /// by a finished run already says everything.
    pub(super) fn finishes_quietly(&self) -> bool {
        matches!(self, Target::Given(_) | Target::Continue { unfinished: true, .. })
    }

    /// For the plan's messages.
    pub(super) fn label(&self, kind: &str) -> String {
        match self {
            Target::Given(t) => format!("{kind} ticket #{t}"),
            Target::Continue { run_id, ticket: Some(t), .. } => format!("{kind} ticket #{t} (of run {run_id})"),
            Target::Continue { run_id, ticket: None, .. } => format!("the {kind} ticket of run {run_id} (not opened yet)"),
            Target::New { .. } => format!("a new {kind} ticket"),
        }
    }

    /// The start note's reason for continuing this ticket.
    pub(super) fn why(&self) -> String {
        match self {
            Target::Continue { run_id, status, unfinished: true, .. } => {
                format!(" It continues run {run_id}, which ended {}: one offboarding, one ticket.", status.as_str())
            }
            Target::Continue { run_id, .. } => format!(" The ticket of run {run_id} is still open for review: this run adds to it."),
            _ => String::new(),
        }
    }

    /// For the message of a run that wrote nothing.
    pub(super) fn last_ticket_note(&self) -> String {
        match self {
            Target::New { had_ticket: true } => " (this user's earlier ticket tells the offboarding)".into(),
            _ => String::new(),
        }
    }
}
