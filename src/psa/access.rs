//! How an action, ticketing or the CLI reach the client's PSA through the executor's
//! provider-neutral [`Providers`] (the executor knows no provider; see `exec/providers.rs`).

use std::sync::Arc;

use super::Psa;
use crate::exec::{HasProviders, Providers};
use crate::graph::GraphStats;

/// `providers.psa()`, `cx.providers.psa()`.
pub trait PsaAccess: HasProviders {
    /// The PSA, or `None` when this tenant has none (PSA actions skip rather than fail).
    fn psa(&self) -> Option<&Arc<dyn Psa>> {
        self.providers().get::<dyn Psa>()
    }
}

impl<T: HasProviders + ?Sized> PsaAccess for T {}

/// Add the client's PSA to a run's providers. Its requests are counted apart from the
/// directories' (the report's `psa_requests`, `psa_writes`), its writes with every other write.
pub fn provide_psa(providers: &mut Providers, psa: Arc<dyn Psa>) {
    let counted = psa.clone();
    providers.count_stats_apart(move || {
        let s = counted.stats();
        GraphStats {
            http_requests: s.requests,
            operations: s.requests,
            writes: s.writes,
            retries: s.retries,
            throttled: s.throttled,
            ..GraphStats::default()
        }
    });
    providers.insert::<dyn Psa>(psa);
}
