//! How an action, the script host or the CLI reach Exchange Online through the executor's
//! provider-neutral [`Providers`] (the executor knows no provider; see `exec/providers.rs`).

use std::sync::Arc;

use super::ExchangeOnline;
use crate::action_error::ActionError;
use crate::entra::MailboxLicenceNeed;
use crate::exec::{HasProviders, Providers};

/// `providers.exchange()`, `cx.exchange()`, `host.exchange()`.
pub trait ExchangeAccess: HasProviders {
    /// Exchange Online, or an error naming what is missing.
    fn exchange(&self) -> Result<&Arc<dyn ExchangeOnline>, ActionError> {
        self.providers().require::<dyn ExchangeOnline>("this tenant has no Exchange Online configured")
    }
}

impl<T: HasProviders + ?Sized> ExchangeAccess for T {}

/// Add Exchange Online to a run's providers; its requests count in the run's statistics.
pub fn provide_exchange(providers: &mut Providers, exchange: Arc<dyn ExchangeOnline>) {
    let counted = exchange.clone();
    providers.count_stats(move || counted.stats());
    providers.mark_directory("exchange");
    // The licence step asks Exchange whether the mailbox must keep its licence.
    providers.insert::<dyn MailboxLicenceNeed>(Arc::new(super::licence_need::ExchangeLicenceNeed(exchange.clone())));
    providers.insert::<dyn ExchangeOnline>(exchange);
}
