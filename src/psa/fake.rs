//! An in-memory PSA for unit tests: tickets with notes, contacts, and three faults (down, and a
//! note or a ticket whose answer is lost after it was stored).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Contact, NewTicket, PResult, Psa, PsaError, PsaStats, TicketStatus};

#[derive(Debug, Clone, Default)]
pub struct FakeTicket {
    pub id: String,
    pub summary: String,
    pub details: String,
    pub status: Option<TicketStatus>,
    pub notes: Vec<String>,
}

#[derive(Default)]
pub struct FakePsa {
    pub tickets: Mutex<Vec<FakeTicket>>,
    pub contacts: Mutex<Vec<Contact>>,
    pub down: AtomicBool,
    /// The next note is stored, then answered with an unclear 503.
    pub lose_next_note_reply: AtomicBool,
    /// The next ticket is opened, then answered with an unclear 503.
    pub lose_next_create_reply: AtomicBool,
    pub requests: AtomicU64,
    pub writes: AtomicU64,
}

impl FakePsa {
    pub fn ticket(&self, id: &str) -> Option<FakeTicket> {
        self.tickets.lock().unwrap().iter().find(|t| t.id == id).cloned()
    }

    fn call(&self, write: bool) -> PResult<()> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(PsaError::Unavailable {
                psa: "Fake PSA",
                method: "X".into(),
                path: "/".into(),
                message: "HTTP 503".into(),
                maybe_applied: write,
            });
        }
        if write {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// A write that landed and whose answer was lost.
fn lost(path: &str) -> PsaError {
    PsaError::Unavailable { psa: "Fake PSA", method: "POST".into(), path: path.into(), message: "HTTP 503".into(), maybe_applied: true }
}

#[async_trait]
impl Psa for FakePsa {
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn company_id(&self) -> &str {
        "7"
    }
    async fn authenticate(&self) -> PResult<()> {
        self.call(false)
    }
    async fn create_ticket(&self, t: &NewTicket) -> PResult<String> {
        self.call(true)?;
        let mut tickets = self.tickets.lock().unwrap();
        let id = (100 + tickets.len()).to_string();
        tickets.push(FakeTicket { id: id.clone(), summary: t.summary.clone(), details: t.details.clone(), ..FakeTicket::default() });
        if self.lose_next_create_reply.swap(false, Ordering::SeqCst) {
            return Err(lost("/tickets"));
        }
        Ok(id)
    }
    async fn set_status(&self, ticket: &str, status: TicketStatus) -> PResult<()> {
        self.call(true)?;
        let mut tickets = self.tickets.lock().unwrap();
        let t = tickets.iter_mut().find(|t| t.id == ticket).expect("ticket");
        t.status = Some(status);
        Ok(())
    }
    async fn add_note(&self, ticket: &str, text: &str) -> PResult<()> {
        self.call(true)?;
        self.tickets.lock().unwrap().iter_mut().find(|t| t.id == ticket).expect("ticket").notes.push(text.into());
        if self.lose_next_note_reply.swap(false, Ordering::SeqCst) {
            return Err(lost("/notes"));
        }
        Ok(())
    }
    async fn count_notes_with(&self, ticket: &str, marker: &str) -> PResult<usize> {
        self.call(false)?;
        Ok(self.ticket(ticket).map_or(0, |t| t.notes.iter().filter(|n| n.contains(marker)).count()))
    }
    async fn find_ticket_with(&self, summary: &str, marker: &str) -> PResult<Option<String>> {
        self.call(false)?;
        let tickets = self.tickets.lock().unwrap();
        Ok(tickets.iter().rev().find(|t| t.summary == summary && t.details.contains(marker)).map(|t| t.id.clone()))
    }
    async fn find_contacts(&self, email: &str) -> PResult<Vec<Contact>> {
        self.call(false)?;
        Ok(self.contacts.lock().unwrap().iter().filter(|c| c.email.eq_ignore_ascii_case(email)).cloned().collect())
    }
    async fn deactivate_contact(&self, contact: &Contact) -> PResult<()> {
        self.call(true)?;
        for c in self.contacts.lock().unwrap().iter_mut().filter(|c| c.id == contact.id) {
            c.active = false;
        }
        Ok(())
    }
    async fn reactivate_contact(&self, contact: &Contact) -> PResult<()> {
        self.call(true)?;
        for c in self.contacts.lock().unwrap().iter_mut().filter(|c| c.id == contact.id) {
            c.active = true;
        }
        Ok(())
    }
    fn stats(&self) -> PsaStats {
        PsaStats { requests: self.requests.load(Ordering::SeqCst), writes: self.writes.load(Ordering::SeqCst), ..PsaStats::default() }
    }
}
