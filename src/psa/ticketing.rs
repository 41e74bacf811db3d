//! Detailed ticketing: what a run tells its PSA ticket, and when.
//!
//! For a tenant with a PSA, every apply run:
//! 1. delivers what earlier runs left in the outbox (a run that died after its last PSA write);
//! 2. finds its ticket ([`target`]): the one given with `--ticket`, else the ticket of the same
//!    user's last offboarding when that one is not over (a run that was killed, failed or stopped,
//!    or whose ticket was left for review), else a new one;
//! 3. once a phase changed something, opens (or continues) that ticket and sets it in progress,
//!    then adds one internal note per phase as the phase finishes, listing each step and its
//!    result (one note per phase, not per step: a run can have hundreds of steps);
//! 4. adds a summary note, then closes the ticket, or leaves it for review when the run did not
//!    succeed, left work for a person, or the client's `on_success = "review"`.
//!
//! One offboarding, one ticket: a run with nothing to change (every step already done, skipped or
//! a to-do the ticket already lists) writes no ticket and no note. The one exception is a run
//! that continues an unfinished run's (or the `--ticket` given): it adds its summary and the final
//! status, so the ticket of a killed run does not stay "in progress" for ever.
//!
//! Everything goes through the journal's outbox first (see [`super::outbox`]): a PSA that is down
//! delays the ticket but never blocks or fails the offboarding. After the first delivery failure
//! the run stops trying until its end, so a dead PSA costs one bounded wait per run, not one per
//! phase. In plan mode nothing is queued or sent; the report's messages say what would be written.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::outbox::{deliver, CONTINUES_RUN};
use super::{NewTicket, Psa, PsaAccess, TicketStatus};
use crate::exec::observer::{ObserverReport, RunInfo, RunObserver, StartObserver};
use crate::exec::report::{ReportError, StepReport};
use crate::journal::{Journal, Mode, NewOutboxItem, OutboxKind, RunStatus, StepStatus};
use target::Target;

/// Per-run ticketing choices: from `--ticket` and the tenant's `[psa]` section.
#[derive(Debug, Clone)]
pub struct TicketingOptions {
    /// Continue this ticket instead of opening one.
    pub existing_ticket: Option<String>,
    /// Close the ticket when the run succeeded (else leave it for review).
    pub close_on_success: bool,
}

impl Default for TicketingOptions {
    fn default() -> Self {
        TicketingOptions { existing_ticket: None, close_on_success: true }
    }
}

pub struct Ticketing {
    psa: Arc<dyn Psa>,
    journal: Arc<dyn Journal>,
    rt: tokio::runtime::Handle,
    tenant: String,
    run_id: String,
    user: String,
    script: String,
    mode: Mode,
    opts: TicketingOptions,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// A delivery failed in this run: wait for the end before trying again.
    down: bool,
    last_error: Option<String>,
    messages: Vec<String>,
    /// Found at the start (None before).
    target: Option<Target>,
    /// The ticket's opening (or continuation) is queued.
    opened: bool,
    /// Phase notes of phases that changed nothing, queued once the ticket opens: `(what, text, preview)`.
    held: Vec<(String, String, String)>,
    /// The script's `warn(...)` lines, for the summary.
    warnings: Vec<String>,
}

/// The marker that makes a note findable: `[offboard-host run R <what>]`.
pub fn marker(run_id: &str, what: &str) -> String {
    format!("[offboard-host run {run_id} {what}]")
}

/// Counts by status, in a fixed order: "3 done, 1 already done".
fn counts(steps: &[&StepReport]) -> String {
    let order = [
        (StepStatus::Done, "done"),
        (StepStatus::AlreadyDone, "already done"),
        (StepStatus::Unconfirmed, "unconfirmed"),
        (StepStatus::NeedsAction, "to do by hand"),
        (StepStatus::Skipped, "skipped"),
        (StepStatus::Failed, "failed"),
        (StepStatus::Planned, "planned"),
        (StepStatus::Running, "unknown"),
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|(s, label)| {
            let n = steps.iter().filter(|r| r.status == *s).count();
            (n > 0).then(|| format!("{n} {label}"))
        })
        .collect();
    if parts.is_empty() {
        "no steps".into()
    } else {
        parts.join(", ")
    }
}

/// A phase's part of its marker: the name and its first step id (a script may run two phases
/// with the same name; step ids are unique within the run).
fn phase_what(phase: &str, steps: &[StepReport]) -> String {
    match steps.first() {
        Some(s) => format!("phase {phase} {}", s.id),
        None => format!("phase {phase}"),
    }
}

/// The note for one phase: marker, a headline, then one line per step.
pub fn phase_note(run_id: &str, user: &str, phase: &str, steps: &[StepReport]) -> String {
    let refs: Vec<&StepReport> = steps.iter().collect();
    let mut text =
        format!("{}\nPhase '{phase}' for {user}: {} step(s): {}", marker(run_id, &phase_what(phase, steps)), steps.len(), counts(&refs));
    for s in steps {
        text.push_str(&format!("\n- {} {} {}: {} ({})", s.id, s.action, s.target, s.status.as_str(), s.detail));
    }
    text
}

impl Ticketing {
    pub fn new(
        psa: Arc<dyn Psa>,
        journal: Arc<dyn Journal>,
        rt: tokio::runtime::Handle,
        tenant: &str,
        run_id: &str,
        user: &str,
        script: &str,
        mode: Mode,
        opts: TicketingOptions,
    ) -> Arc<Ticketing> {
        Arc::new(Ticketing {
            psa,
            journal,
            rt,
            tenant: tenant.into(),
            run_id: run_id.into(),
            user: user.into(),
            script: script.into(),
            mode,
            opts,
            state: Mutex::new(State::default()),
        })
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn target(&self) -> Target {
        self.st().target.clone().unwrap_or(Target::New { had_ticket: false })
    }

    /// Queue an item (apply), or say what would be written (plan).
    fn queue(&self, kind: OutboxKind, what: &str, payload: serde_json::Value, preview: &str) {
        if self.mode == Mode::Plan {
            let label = self.target().label(self.psa.kind());
            self.st().messages.push(format!("psa: would write to {label}: {preview}"));
            return;
        }
        let item =
            NewOutboxItem { tenant: self.tenant.clone(), run_id: self.run_id.clone(), kind, marker: marker(&self.run_id, what), payload };
        if let Err(e) = self.journal.outbox_add(&item) {
            self.st().messages.push(format!("warning: psa: could not queue {what}: {e}"));
        }
    }

    /// Deliver what is pending (this run's items and any left by earlier runs), unless a
    /// delivery already failed in this run and `last_try` is false.
    fn flush(&self, last_try: bool) {
        if self.mode == Mode::Plan || (self.st().down && !last_try) {
            return;
        }
        let d = self.rt.block_on(deliver(self.psa.as_ref(), self.journal.as_ref(), &self.tenant));
        let mut st = self.st();
        if d.error.is_some() {
            st.down = true;
            st.last_error = d.error;
        }
    }

    /// Deliver what earlier runs left, then find the ticket this run writes to. Nothing of this
    /// run is written yet: the ticket opens with the first phase that changes something.
    pub fn start(&self) {
        // First, so the earlier run's ticket this run may continue is opened and known.
        self.flush(false);
        let target = target::find(self.journal.as_ref(), &self.tenant, &self.user, &self.run_id, self.opts.existing_ticket.as_deref());
        let target = target.unwrap_or_else(|e| {
            self.st().messages.push(format!("warning: psa: could not read this user's earlier tickets: {e}"));
            Target::New { had_ticket: false }
        });
        if let (Mode::Apply, Some(t)) = (self.mode, target.ticket()) {
            if let Err(e) = self.journal.set_run_ticket(&self.run_id, t) {
                self.st().messages.push(format!("warning: psa: could not record the ticket: {e}"));
            }
        }
        self.st().target = Some(target);
    }

    /// Queue the ticket's opening (or this run's start note on the ticket it continues) and the
    /// in-progress status, then the phase notes held so far. `quiet`: a run with nothing to
    /// change that only adds its summary to the ticket it continues.
    fn open(&self, quiet: bool) {
        let held = {
            let mut st = self.st();
            if st.opened {
                return;
            }
            st.opened = true;
            std::mem::take(&mut st.held)
        };
        let target = self.target();
        if let Target::New { .. } | Target::Continue { ticket: None, .. } = &target {
            let mut payload = serde_json::to_value(self.new_ticket()).unwrap_or_default();
            let preview = match &target {
                Target::Continue { run_id, .. } => format!("take the ticket of run {run_id} once it is opened"),
                _ => format!("open the ticket \"Offboarding: {}\"", self.user),
            };
            if let Target::Continue { run_id, .. } = &target {
                payload[CONTINUES_RUN] = json!(run_id);
            }
            self.queue(OutboxKind::CreateTicket, "ticket", payload, &preview);
        }
        if quiet {
            return;
        }
        if !matches!(target, Target::New { .. }) {
            let text = format!(
                "{}\noffboard-host is offboarding {} in tenant {} (run {}, script {}).{}",
                marker(&self.run_id, "start"),
                self.user,
                self.tenant,
                self.run_id,
                self.script,
                target.why()
            );
            self.queue(OutboxKind::Note, "start", json!({"text": text}), "a note that the offboarding started");
        }
        self.queue(OutboxKind::Status, "status in_progress", json!({"status": TicketStatus::InProgress}), "set the status to in progress");
        for (what, text, preview) in held {
            self.queue(OutboxKind::Note, &what, json!({"text": text}), &preview);
        }
    }

    fn new_ticket(&self) -> NewTicket {
        NewTicket {
            summary: format!("Offboarding: {}", self.user),
            details: format!(
                "{}\noffboard-host is offboarding {} in tenant {} (run {}, script {}). Each phase adds a note with its steps; the last note is the summary.",
                marker(&self.run_id, "ticket"),
                self.user,
                self.tenant,
                self.run_id,
                self.script
            ),
            contact_id: if self.mode == Mode::Apply { self.contact_for_ticket() } else { None },
        }
    }

    /// The departing user's contact, when exactly one active contact matches (best effort: a
    /// ticket without a contact is still a ticket).
    fn contact_for_ticket(&self) -> Option<String> {
        let found = self.rt.block_on(self.psa.find_contacts(&self.user)).ok()?;
        let active: Vec<_> = found.into_iter().filter(|c| c.active).collect();
        (active.len() == 1).then(|| active[0].id.clone())
    }

    /// Whether these steps are news for the ticket: a write (sent, planned, failed or unsure), or
    /// a to-do for a user who has no ticket yet (a later run's to-do is on the ticket already).
    fn changes(&self, steps: &[StepReport]) -> bool {
        let had_ticket = !matches!(self.target(), Target::New { had_ticket: false });
        steps.iter().any(|s| match s.status {
            StepStatus::Planned | StepStatus::Running | StepStatus::Done | StepStatus::Unconfirmed | StepStatus::Failed => true,
            StepStatus::NeedsAction => !had_ticket,
            StepStatus::AlreadyDone | StepStatus::Skipped => false,
        })
    }

    /// Add the summary, set the final status, deliver; returns the ticket (if known) and the
    /// messages for the report.
    pub fn finish(&self, status: RunStatus, steps: &[StepReport], error: Option<&ReportError>) -> (Option<String>, Vec<String>) {
        let ended_well = matches!(status, RunStatus::Succeeded | RunStatus::Planned);
        // Not opened yet, and nothing to tell but the summary.
        let quiet = !self.st().opened && ended_well && !self.changes(steps);
        if !self.st().opened {
            let target = self.target();
            if quiet && !target.finishes_quietly() {
                // Nothing changed: the ticket of this user's last offboarding (if any) tells it all.
                self.flush(true);
                let mut messages = std::mem::take(&mut self.st().messages);
                let verb = if self.mode == Mode::Plan { "would be" } else { "was" };
                messages.push(format!("psa: nothing to change: no ticket {verb} written{}", target.last_ticket_note()));
                return (None, messages);
            }
            // A failed or stopped run gets the whole story; an unfinished one's ticket, the summary.
            self.open(quiet);
        }
        let (text, close) = self.summary(status, steps, error, quiet);
        let preview = format!("the summary note: {}", text.lines().nth(1).unwrap_or_default());
        self.queue(OutboxKind::Note, "summary", json!({"text": text}), &preview);
        let what = if close { "status completed" } else { "status needs_review" };
        let final_status = if close { TicketStatus::Completed } else { TicketStatus::NeedsReview };
        self.queue(
            OutboxKind::Status,
            what,
            json!({"status": final_status}),
            &format!("set the status to {}", what.trim_start_matches("status ")),
        );
        self.flush(true);

        let mut messages = std::mem::take(&mut self.st().messages);
        if self.mode == Mode::Plan {
            return (self.target().ticket().map(str::to_string), messages);
        }
        let ticket = self.journal.run_ticket(&self.run_id).ok().flatten();
        let pending = self
            .journal
            .outbox_items(Some(&self.tenant), true)
            .map(|items| items.iter().filter(|i| i.run_id == self.run_id).count())
            .unwrap_or(0);
        let label = ticket.as_deref().map(|t| format!("ticket #{t}")).unwrap_or_else(|| "the ticket (not opened yet)".into());
        if pending == 0 {
            messages.push(format!("psa: {} {label} has every note of this run", self.psa.kind()));
        } else {
            let why = self.st().last_error.clone().unwrap_or_default();
            messages.push(format!(
                "warning: psa: {pending} item(s) for {label} wait in the outbox ({why}); the next run or `offboard-host outbox flush --tenant {}` delivers them",
                self.tenant
            ));
        }
        (ticket, messages)
    }

    /// The summary note, and whether the ticket closes.
    fn summary(&self, status: RunStatus, steps: &[StepReport], error: Option<&ReportError>, nothing_changed: bool) -> (String, bool) {
        let refs: Vec<&StepReport> = steps.iter().collect();
        // A plan shows what a successful apply would do.
        // Work left for a person, or a write nobody could confirm, keeps the ticket open for review.
        let open_work = steps.iter().any(|s| matches!(s.status, StepStatus::NeedsAction | StepStatus::Unconfirmed));
        let close = matches!(status, RunStatus::Succeeded | RunStatus::Planned) && self.opts.close_on_success && !open_work;
        let mut text = format!(
            "{}\nOffboarding of {} in tenant {}: {}. {} step(s): {}.",
            marker(&self.run_id, "summary"),
            self.user,
            self.tenant,
            status.as_str(),
            steps.len(),
            counts(&refs)
        );
        if nothing_changed {
            text.push_str("\nRe-checked: nothing left to change.");
        }
        if let Some(e) = error {
            text.push_str(&format!("\nThe script stopped: {} ({}).", e.message, e.code));
        }
        for s in steps.iter().filter(|s| s.status == StepStatus::Failed) {
            text.push_str(&format!("\nFailed: {} {} {}: {}", s.id, s.action, s.target, s.detail));
        }
        for s in steps.iter().filter(|s| s.status == StepStatus::Unconfirmed) {
            text.push_str(&format!("\nUnconfirmed: {} {} {}: {}", s.id, s.action, s.target, s.detail));
        }
        let warnings = self.st().warnings.clone();
        if !warnings.is_empty() {
            text.push_str(&format!("\nWarnings ({}):", warnings.len()));
            for w in &warnings {
                text.push_str(&format!("\n- {w}"));
            }
        }
        let todos = crate::exec::report::todos(steps);
        if !todos.is_empty() {
            text.push_str(&format!("\nTo do by hand ({}):", todos.len()));
            for t in &todos {
                text.push_str(&format!("\n- [ ] {} {} {}: {}", t.step, t.action, t.target, t.instruction));
            }
        }
        text.push_str(&format!(
            "\n{} Journal: offboard-host runs show {}",
            if close { "Closing the ticket." } else { "Leaving the ticket for review." },
            self.run_id
        ));
        (text, close)
    }
}

/// Why a run whose plan has nothing to change must still be applied for its ticket: items wait
/// in the tenant's outbox (an earlier run died after its last PSA write), or the user's last
/// offboarding is unfinished and its ticket still says "in progress". The apply changes nothing
/// in the directories; its ticketing delivers the items and writes the missing summary.
pub fn work_left(journal: &dyn Journal, tenant: &str, user: &str) -> Option<String> {
    let pending = journal.outbox_items(Some(tenant), true).map(|i| i.len()).unwrap_or(0);
    if pending > 0 {
        return Some(format!("{pending} PSA item(s) of earlier runs wait in the outbox"));
    }
    match target::find(journal, tenant, user, "", None) {
        Ok(target::Target::Continue { run_id, status, unfinished: true, .. }) => {
            Some(format!("the ticket of run {run_id} ({}) has no summary yet", status.as_str()))
        }
        _ => None,
    }
}

/// The executor starts ticketing through this: a ticket for every run of a tenant with a PSA.
impl StartObserver for TicketingOptions {
    fn start(&self, run: &RunInfo) -> Option<Arc<dyn RunObserver>> {
        let psa = run.providers.psa()?.clone();
        let t =
            Ticketing::new(psa, run.journal.clone(), run.rt.clone(), run.tenant, run.run_id, run.user, run.script, run.mode, self.clone());
        t.start();
        Some(t)
    }
}

impl RunObserver for Ticketing {
    fn warnings(&self, lines: &[String]) {
        self.st().warnings = lines.to_vec();
    }

    fn finish(&self, status: RunStatus, steps: &[StepReport], error: Option<&ReportError>) -> ObserverReport {
        let (ticket, messages) = Ticketing::finish(self, status, steps, error);
        ObserverReport { ticket, messages }
    }

    fn phase_done(&self, phase: &str, steps: &[StepReport]) {
        let text = phase_note(&self.run_id, &self.user, phase, steps);
        let preview = format!("a note for phase '{phase}': {}", text.lines().nth(1).unwrap_or_default());
        let what = phase_what(phase, steps);
        if !self.st().opened && !self.changes(steps) {
            // Nothing new yet: the note goes out with the ticket if a later phase opens it.
            self.st().held.push((what, text, preview));
            return;
        }
        self.open(false);
        self.queue(OutboxKind::Note, &what, json!({"text": text}), &preview);
        self.flush(false);
    }
}

mod target;
#[cfg(test)]
mod tests;
