//! Whether a user's mailbox must keep an Exchange Online licence once it is shared.
//!
//! A shared mailbox needs no licence, unless it holds 50 GB or more, has an online archive or is
//! on hold: then removing the licence leaves it over quota or drops the hold. Only Exchange can
//! say (size, archive, holds), and the Exchange provider sits above this one, so the licence step
//! asks through this trait and the Exchange provider answers it (see `exchange::provide_exchange`).

use async_trait::async_trait;

use crate::action_error::ActionError;

#[async_trait]
pub trait MailboxLicenceNeed: Send + Sync {
    /// `Some(why)` when the user's mailbox needs an Exchange Online licence to stay as it is
    /// ("it holds 50.3 GB", "it has an online archive", "it is on litigation hold"); `None` when
    /// it does not, or the user has no mailbox.
    async fn licence_needed(&self, cache: &crate::exec::cache::ReadCache, upn: &str) -> Result<Option<String>, ActionError>;
}
