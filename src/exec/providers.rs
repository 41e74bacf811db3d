//! The providers one run can use.
//!
//! A tenant configures some of them (a cloud directory today; Exchange Online, on-premises AD and a
//! PSA as they are added). An action asks for the one it needs and gets a clear error when this
//! tenant has none, instead of each action knowing how tenants are configured.

use std::sync::Arc;

use super::ActionError;
use crate::ad::OnPremDirectory;
use crate::entra::CloudDirectory;
use crate::graph::GraphStats;

#[derive(Clone, Default)]
pub struct Providers {
    pub cloud: Option<Arc<dyn CloudDirectory>>,
    pub exchange: Option<Arc<dyn crate::exchange::ExchangeOnline>>,
    /// The client's PSA (ticketing and `psa::` functions).
    pub psa: Option<Arc<dyn crate::psa::Psa>>,
    /// On-premises Active Directory over LDAP (`[tenants.x.ad]`).
    pub ad: Option<Arc<dyn OnPremDirectory>>,
}

impl Providers {
    /// The PSA, or `None` when this tenant has none (PSA actions skip rather than fail).
    pub fn psa(&self) -> Option<&Arc<dyn crate::psa::Psa>> {
        self.psa.as_ref()
    }

    pub fn cloud(&self) -> Result<&Arc<dyn CloudDirectory>, ActionError> {
        self.cloud.as_ref().ok_or_else(|| ActionError::Other("this tenant has no cloud directory (Graph) configured".into()))
    }

    pub fn exchange(&self) -> Result<&Arc<dyn crate::exchange::ExchangeOnline>, ActionError> {
        self.exchange.as_ref().ok_or_else(|| ActionError::Other("this tenant has no Exchange Online configured".into()))
    }

    pub fn ad(&self) -> Result<&Arc<dyn OnPremDirectory>, ActionError> {
        self.ad.as_ref().ok_or_else(|| ActionError::Other("this tenant has no on-premises AD configured ([tenants.<name>.ad])".into()))
    }

    /// HTTP statistics summed over every provider.
    pub fn stats(&self) -> GraphStats {
        let mut total = GraphStats::default();
        // AD counts LDAP operations as requests.
        let cloud = self.cloud.iter().map(|c| c.stats());
        for s in cloud.chain(self.exchange.iter().map(|e| e.stats())).chain(self.ad.iter().map(|a| a.stats())) {
            total.http_requests += s.http_requests;
            total.operations += s.operations;
            total.writes += s.writes;
            total.batches += s.batches;
            total.retries += s.retries;
            total.throttled += s.throttled;
            // Providers are used one after another within a phase's stages, so their chains add up.
            total.round_trips += s.round_trips;
            total.wait_ms += s.wait_ms;
        }
        total
    }
}
