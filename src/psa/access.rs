//! How an action, ticketing or the CLI reach the client's PSA through the executor's
//! provider-neutral [`Providers`] (the executor knows no provider; see `exec/providers.rs`).

use std::sync::Arc;

use super::Psa;
use crate::exec::{HasProviders, Providers};

/// `providers.psa()`, `cx.providers.psa()`.
pub trait PsaAccess: HasProviders {
    /// The PSA, or `None` when this tenant has none (PSA actions skip rather than fail).
    fn psa(&self) -> Option<&Arc<dyn Psa>> {
        self.providers().get::<dyn Psa>()
    }
}

impl<T: HasProviders + ?Sized> PsaAccess for T {}

/// Add the client's PSA to a run's providers. Its requests are not counted with the
/// directories' (the PSA is reported on its own, through the ticket).
pub fn provide_psa(providers: &mut Providers, psa: Arc<dyn Psa>) {
    providers.insert::<dyn Psa>(psa);
}
