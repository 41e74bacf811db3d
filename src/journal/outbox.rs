//! The PSA outbox: what a run has to tell its ticket, kept in the journal until delivered.
//!
//! A run never writes to its PSA directly. It adds an item here (open the ticket, set a status,
//! add a note), durable first, then [`crate::psa::outbox`] delivers pending items in order. A PSA
//! that is down or throttling delays the items but never loses them, and a later run or
//! `offboard-host outbox flush` delivers them. Each item has a `marker` unique within its run
//! (`[offboard-host run R phase P]`): an item attempted before is only re-sent after the marker was
//! looked for on the ticket, so a retry after an unclear failure never posts a note twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// Open the run's ticket (payload: a `psa::NewTicket`).
    CreateTicket,
    /// Set the ticket's status (payload: `{"status": "in_progress" | "completed" | "needs_review"}`).
    Status,
    /// Add an internal note (payload: `{"text": …}`; the text contains the marker).
    Note,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::CreateTicket => "create_ticket",
            OutboxKind::Status => "status",
            OutboxKind::Note => "note",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "create_ticket" => OutboxKind::CreateTicket,
            "status" => OutboxKind::Status,
            "note" => OutboxKind::Note,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewOutboxItem {
    pub tenant: String,
    pub run_id: String,
    pub kind: OutboxKind,
    /// Unique within the run.
    pub marker: String,
    pub payload: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Delivery order.
    pub id: i64,
    pub tenant: String,
    pub run_id: String,
    pub kind: OutboxKind,
    pub marker: String,
    pub payload: Value,
    pub delivered: bool,
    /// Sends started (recorded before each send).
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}
