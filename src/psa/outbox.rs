//! Delivering the journal's outbox to a PSA (the items and their rules are in
//! [`crate::journal::OutboxItem`]).
//!
//! Items go out in the order they were queued. An item that fails blocks the later items of its
//! run (notes stay in order), and a PSA that is unavailable stops the delivery altogether: the
//! rest waits for the next run or `outbox flush`. Before each send the attempt is recorded; an
//! item attempted before is a note that may already be on the ticket, so its marker is looked for
//! first and the note is only posted when it is not there.
//!
//! Opening a ticket is de-duplicated the same way: its description carries the run's ticket
//! marker, so a creation whose answer was unclear (a 503 or a timeout after sending), or one
//! attempted before (the process died before it recorded the id), is first looked for in the PSA
//! ([`Psa::find_ticket_with`]) and only opened when it is not there.
//!
//! A run that continues an earlier run's ticket whose creation is itself still queued (the PSA
//! was down) queues a creation that names that run (`continues_run` in the payload): it takes the
//! earlier run's ticket once that exists, and waits while that creation is pending.

use std::collections::HashSet;

use serde_json::Value;

use super::{NewTicket, Psa, PsaError, TicketStatus};
use crate::journal::{Journal, OutboxItem, OutboxKind};

/// What one delivery pass did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Delivery {
    pub delivered: usize,
    /// Items found already on the ticket (an earlier attempt had landed): not posted again.
    pub found_already: usize,
    pub pending: usize,
    /// The first error met, if any.
    pub error: Option<String>,
    /// The PSA was unavailable: delivery stopped.
    pub unavailable: bool,
}

enum Failure {
    Psa(PsaError),
    Other(String),
}

impl From<crate::journal::JournalError> for Failure {
    fn from(e: crate::journal::JournalError) -> Self {
        Failure::Other(format!("journal: {e}"))
    }
}

/// Deliver `tenant`'s pending items.
pub async fn deliver(psa: &dyn Psa, journal: &dyn Journal, tenant: &str) -> Delivery {
    let mut d = Delivery::default();
    let items = match journal.outbox_items(Some(tenant), true) {
        Ok(i) => i,
        Err(e) => {
            d.error = Some(format!("journal: {e}"));
            return d;
        }
    };
    let mut blocked: HashSet<String> = HashSet::new();
    for item in &items {
        if d.unavailable || blocked.contains(&item.run_id) {
            d.pending += 1;
            continue;
        }
        match deliver_one(psa, journal, item).await {
            Ok(found) => {
                d.delivered += 1;
                d.found_already += usize::from(found);
            }
            Err(f) => {
                let msg = match &f {
                    Failure::Psa(e) => e.to_string(),
                    Failure::Other(m) => m.clone(),
                };
                let _ = journal.outbox_failed(item.id, &msg);
                d.unavailable = matches!(&f, Failure::Psa(e) if e.is_unavailable());
                d.error.get_or_insert(msg);
                blocked.insert(item.run_id.clone());
                d.pending += 1;
            }
        }
    }
    d
}

/// `Ok(true)` when the item was found already delivered.
async fn deliver_one(psa: &dyn Psa, journal: &dyn Journal, item: &OutboxItem) -> Result<bool, Failure> {
    let ticket = journal.run_ticket(&item.run_id)?;
    if item.kind == OutboxKind::CreateTicket {
        if ticket.is_some() {
            journal.outbox_delivered(item.id)?;
            return Ok(true);
        }
        return open_ticket(psa, journal, item).await;
    }
    let Some(ticket) = ticket else {
        return Err(Failure::Other(format!("run {} has no ticket yet (its creation is still pending)", item.run_id)));
    };
    let mut found = false;
    match item.kind {
        OutboxKind::Note => {
            if item.attempts > 0 && psa.count_notes_with(&ticket, &item.marker).await.map_err(Failure::Psa)? > 0 {
                found = true;
            } else {
                let text = item.payload.get("text").and_then(Value::as_str).unwrap_or_default();
                journal.outbox_attempt(item.id)?;
                psa.add_note(&ticket, text).await.map_err(Failure::Psa)?;
            }
        }
        OutboxKind::Status => {
            let status: TicketStatus = serde_json::from_value(item.payload.get("status").cloned().unwrap_or_default())
                .map_err(|e| Failure::Other(format!("outbox item {}: {e}", item.id)))?;
            journal.outbox_attempt(item.id)?;
            // Setting a status twice is harmless: no look-up needed.
            psa.set_status(&ticket, status).await.map_err(Failure::Psa)?;
        }
        OutboxKind::CreateTicket => unreachable!("handled above"),
    }
    journal.outbox_delivered(item.id)?;
    Ok(found)
}

/// Open the run's ticket (or take the earlier run's it continues), at most once.
async fn open_ticket(psa: &dyn Psa, journal: &dyn Journal, item: &OutboxItem) -> Result<bool, Failure> {
    if let Some(earlier) = item.payload.get(CONTINUES_RUN).and_then(Value::as_str) {
        if let Some(t) = journal.run_ticket(earlier)? {
            journal.set_run_ticket(&item.run_id, &t)?;
            journal.outbox_delivered(item.id)?;
            return Ok(false);
        }
        let waiting =
            journal.outbox_items(Some(&item.tenant), true)?.iter().any(|i| i.run_id == earlier && i.kind == OutboxKind::CreateTicket);
        if waiting {
            return Err(Failure::Other(format!("run {} continues the ticket of run {earlier}, not opened yet", item.run_id)));
        }
        // The earlier run's ticket will never exist (its creation was removed): open our own.
    }
    let t: NewTicket = serde_json::from_value(item.payload.clone()).map_err(|e| Failure::Other(format!("outbox item {}: {e}", item.id)))?;
    let found = |found: String| async move {
        journal.set_run_ticket(&item.run_id, &found)?;
        journal.outbox_delivered(item.id)?;
        Ok::<bool, Failure>(true)
    };
    // Attempted before: it may have landed without our hearing of it.
    if item.attempts > 0 {
        if let Some(id) = psa.find_ticket_with(&t.summary, &item.marker).await.map_err(Failure::Psa)? {
            return found(id).await;
        }
    }
    journal.outbox_attempt(item.id)?;
    match psa.create_ticket(&t).await {
        Ok(id) => {
            journal.set_run_ticket(&item.run_id, &id)?;
            journal.outbox_delivered(item.id)?;
            Ok(false)
        }
        // The answer is unclear: look at once, so the rest of the run's notes need not wait.
        Err(e) if e.maybe_applied() => match psa.find_ticket_with(&t.summary, &item.marker).await {
            Ok(Some(id)) => found(id).await,
            _ => Err(Failure::Psa(e)),
        },
        Err(e) => Err(Failure::Psa(e)),
    }
}

/// The payload key of a creation that continues an earlier run's ticket (see the module doc).
pub const CONTINUES_RUN: &str = "continues_run";
