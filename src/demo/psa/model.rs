//! The simulated PSAs' data: companies, contacts, tickets and notes, in one shape common to
//! ConnectWise, Autotask and Halo (each simulator renders it its own way), and their counters.
//! Kept apart from the handlers so the tenant's state (`demo/model.rs`) can hold it without
//! importing them.

use serde::{Deserialize, Serialize};

use super::{AT_COMPANY, CW_COMPANY, HALO_CLIENT};
use crate::demo::ids::{LEAVER_CLOUD_UPN, LEAVER_SYNCED_UPN, MANAGER_UPN};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PsaSimStats {
    pub requests: u64,
    /// Writes received (creating or changing something), even if refused.
    pub writes: u64,
    pub writes_applied: u64,
    pub throttled: u64,
    pub outages: u64,
    pub auth_failures: u64,
    /// Ticket creations applied and answered 503 (the `psa_create_lost` knob).
    pub lost_answers: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PsaState {
    pub connectwise: SimPsa,
    pub autotask: SimPsa,
    pub halo: SimPsa,
    pub stats: PsaSimStats,
    /// Halo access tokens issued by this server process.
    #[serde(skip)]
    pub halo_tokens: Vec<String>,
    #[serde(skip)]
    pub(super) writes_since_start: u64,
    #[serde(skip)]
    pub(super) requests_since_start: u64,
    #[serde(skip)]
    pub(super) creates_lost_since_start: u64,
}

/// One PSA's data, in a shape common to the three; each simulator renders it its own way.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SimPsa {
    pub company_id: i64,
    pub other_company_id: i64,
    pub contacts: Vec<SimContact>,
    pub tickets: Vec<SimTicket>,
    pub next_id: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SimContact {
    pub id: i64,
    pub company_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub active: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SimTicket {
    pub id: i64,
    pub company_id: i64,
    pub summary: String,
    pub details: String,
    pub contact_id: Option<i64>,
    /// The status name (label for Autotask).
    pub status: String,
    pub notes: Vec<SimNote>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SimNote {
    pub id: i64,
    pub text: String,
    pub internal: bool,
    pub created: String,
}

impl SimPsa {
    pub(super) fn seed(company_id: i64, other_company_id: i64, first_id: i64) -> SimPsa {
        let people = [
            ("Morgan", "Manager", MANAGER_UPN, company_id),
            ("Lee", "Cloud", LEAVER_CLOUD_UPN, company_id),
            ("Sam", "Synced", LEAVER_SYNCED_UPN, company_id),
            ("Lee", "Cloud", LEAVER_CLOUD_UPN, other_company_id),
        ];
        let contacts = people
            .iter()
            .enumerate()
            .map(|(i, (f, l, e, c))| SimContact {
                id: first_id + i as i64,
                company_id: *c,
                first_name: (*f).into(),
                last_name: (*l).into(),
                email: (*e).into(),
                active: true,
            })
            .collect();
        SimPsa { company_id, other_company_id, contacts, tickets: vec![], next_id: first_id + 100 }
    }

    pub(super) fn next(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn ticket_mut(&mut self, id: i64) -> Option<&mut SimTicket> {
        self.tickets.iter_mut().find(|t| t.id == id)
    }

    pub(super) fn has_company(&self, id: i64) -> bool {
        id == self.company_id || id == self.other_company_id
    }

    pub(super) fn add_note(&mut self, ticket: i64, text: &str, internal: bool) -> Option<SimNote> {
        let id = self.next();
        let t = self.ticket_mut(ticket)?;
        let n = SimNote { id, text: text.into(), internal, created: crate::demo::reply::now() };
        t.notes.push(n.clone());
        Some(n)
    }
}

impl PsaState {
    pub fn seed() -> PsaState {
        PsaState {
            connectwise: SimPsa::seed(CW_COMPANY, 251, 31000),
            autotask: SimPsa::seed(AT_COMPANY, 29683502, 30500000),
            halo: SimPsa::seed(HALO_CLIENT, 13, 400),
            ..PsaState::default()
        }
    }
}
