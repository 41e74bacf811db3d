//! What the CLI and the console share: a tenant's connection ([`Connection`]: the demo tenant
//! started or the configured APIs), and a [`Session`] that plans and applies one script for any
//! number of users of one tenant, with the journal the configuration names.
//!
//! It sits below both: the console plans and requests what a signed-in person asked for with the
//! same code the CLI uses for `run`, `approve` and the worker, so the two cannot drift apart.

pub mod approval;
mod connection;
pub mod jobs;
pub mod lanes;
pub mod request;
pub mod restore;
mod session;

use std::path::Path;
use std::sync::Arc;

pub use connection::{demo_state_path, tenant_write_pacer, Connection};
pub use session::{check_user, load_layered, protection, Reuse, RunSpec, Session};

use crate::config::TenantConfig;
use crate::error::{Error, Result};
use crate::journal::{Journal, JournalConfig};
use crate::psa::settings::OnSuccess;
use crate::psa::ticketing::TicketingOptions;

/// The async runtime of one command or session: two worker threads, the machine's size in CI.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the async runtime", e))
}

/// The journal `configured` names (`journal = "postgres://…"`, or `OFFBOARD_JOURNAL_URL`), else
/// `journal.db` under `home`.
pub fn open_journal(home: &Path, configured: Option<&str>) -> Result<Arc<dyn Journal>> {
    std::fs::create_dir_all(home).map_err(|e| Error::io(format!("creating {}", home.display()), e))?;
    Ok(crate::journal::open(&JournalConfig::resolve(configured, home.join("journal.db")))?)
}

/// `--ticket` and the tenant's `on_success`, checked before anything is sent.
pub fn ticketing_options(name: &str, t: &TenantConfig, ticket: Option<&str>) -> Result<TicketingOptions> {
    if let Some(n) = ticket {
        if t.psa.is_none() {
            return Err(Error::Usage(format!("--ticket {n}: tenant '{name}' has no PSA configured ([tenants.{name}.psa])")));
        }
        if !crate::psa::valid_ticket_id(n) {
            return Err(Error::Usage(format!("--ticket '{n}': a ticket number is a positive integer")));
        }
    }
    Ok(TicketingOptions {
        existing_ticket: ticket.map(str::to_string),
        close_on_success: t.psa.as_ref().is_none_or(|p| p.on_success == OnSuccess::Close),
    })
}
