//! The providers one run can use, as the executor sees them: by type, and nothing more.
//!
//! A tenant configures some providers (a cloud directory, Exchange Online, on-premises AD, a
//! PSA). The executor carries them to the actions without knowing any of them: each provider
//! module adds typed accessors through an extension trait (`entra::CloudAccess`,
//! `exchange::ExchangeAccess`, `ad::AdAccess`, `psa::PsaAccess`), so the arrow runs from the
//! providers to the executor and never back. An action asks for the provider it needs and gets a
//! clear error when this tenant has none.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::action_error::ActionError;
use crate::graph::GraphStats;

type StatsFn = Arc<dyn Fn() -> GraphStats + Send + Sync>;

#[derive(Clone, Default)]
pub struct Providers {
    /// `Arc<T>` for each provider trait object `T`, keyed by the type of that `Arc`.
    slots: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
    /// Request counters of the providers that send requests, in the order they were added.
    stats: Vec<StatsFn>,
    /// Counters kept apart from the directories' (the PSA's: its requests tell the ticket's story,
    /// not the offboarding's, but its writes are writes the run sent).
    apart: Vec<StatsFn>,
    /// The directories present by name (`"exchange"`, `"ad"`): a lower provider cannot name a
    /// higher one's trait, yet must know whether another step can do what it cannot (a synced
    /// group is `skipped` for AD to handle, or `needs_action` when the MSP has no AD access).
    directories: std::collections::BTreeSet<&'static str>,
}

impl Providers {
    /// Add (or replace) the provider behind `T`, e.g. `insert::<dyn CloudDirectory>(client)`.
    pub fn insert<T: ?Sized + Send + Sync + 'static>(&mut self, provider: Arc<T>) {
        self.slots.insert(TypeId::of::<Arc<T>>(), Arc::new(provider));
    }

    /// Say that this run can write to the directory `name` (`"exchange"`, `"ad"`).
    pub fn mark_directory(&mut self, name: &'static str) {
        self.directories.insert(name);
    }

    /// Whether this run can write to the directory `name`.
    pub fn has_directory(&self, name: &str) -> bool {
        self.directories.contains(name)
    }

    /// Count this provider's requests in [`Providers::stats`].
    pub fn count_stats(&mut self, stats: impl Fn() -> GraphStats + Send + Sync + 'static) {
        self.stats.push(Arc::new(stats));
    }

    /// Count this provider's requests in [`Providers::stats_apart`], not with the directories'.
    pub fn count_stats_apart(&mut self, stats: impl Fn() -> GraphStats + Send + Sync + 'static) {
        self.apart.push(Arc::new(stats));
    }

    /// The provider behind `T`, if this tenant has one.
    pub fn get<T: ?Sized + Send + Sync + 'static>(&self) -> Option<&Arc<T>> {
        self.slots.get(&TypeId::of::<Arc<T>>()).and_then(|p| p.downcast_ref::<Arc<T>>())
    }

    /// The provider behind `T`, or an error saying what this tenant lacks.
    pub fn require<T: ?Sized + Send + Sync + 'static>(&self, missing: &str) -> Result<&Arc<T>, ActionError> {
        self.get::<T>().ok_or_else(|| ActionError::Other(missing.to_string()))
    }

    /// HTTP statistics summed over every provider (AD counts LDAP operations as requests).
    pub fn stats(&self) -> GraphStats {
        sum(&self.stats)
    }

    /// The counters kept apart (the PSA's), summed.
    pub fn stats_apart(&self) -> GraphStats {
        sum(&self.apart)
    }
}

fn sum(counters: &[StatsFn]) -> GraphStats {
    let mut total = GraphStats::default();
    // Round trips of providers that keep no spans (LDAP) add up; the others are counted together.
    let mut unspanned = 0;
    for s in counters.iter().map(|f| f()) {
        total.http_requests += s.http_requests;
        total.operations += s.operations;
        total.writes += s.writes;
        total.batches += s.batches;
        total.retries += s.retries;
        total.throttled += s.throttled;
        total.wait_ms += s.wait_ms;
        if s.spans.is_empty() {
            unspanned += s.round_trips;
        }
        total.spans.extend(s.spans);
    }
    // Graph and Exchange requests are in flight together within a phase (and the two tokens at
    // the start): one chain over all their exchanges, not the sum of each client's chain.
    total.round_trips = crate::graph::round_trips(total.spans.clone()) + unspanned;
    total
}

/// Anything that carries the run's providers: [`Providers`] itself, an action's
/// [`super::Cx`], the script [`super::host::Host`]. The providers' extension traits are
/// implemented for every such type.
pub trait HasProviders {
    fn providers(&self) -> &Providers;
}

impl HasProviders for Providers {
    fn providers(&self) -> &Providers {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Greeter: Send + Sync {
        fn hello(&self) -> &'static str;
    }
    struct En;
    impl Greeter for En {
        fn hello(&self) -> &'static str {
            "hello"
        }
    }

    #[test]
    fn providers_are_found_by_their_trait() {
        let mut p = Providers::default();
        assert!(p.get::<dyn Greeter>().is_none());
        assert_eq!(p.require::<dyn Greeter>("no greeter").err().unwrap().to_string(), "no greeter");
        p.insert::<dyn Greeter>(Arc::new(En));
        assert_eq!(p.get::<dyn Greeter>().unwrap().hello(), "hello");
        p.count_stats(|| GraphStats { http_requests: 2, ..Default::default() });
        p.count_stats(|| GraphStats { http_requests: 3, ..Default::default() });
        p.count_stats_apart(|| GraphStats { http_requests: 7, writes: 1, ..Default::default() });
        assert_eq!(p.stats().http_requests, 5);
        assert_eq!((p.stats_apart().http_requests, p.stats_apart().writes), (7, 1));
    }

    #[test]
    fn round_trips_in_flight_together_across_providers_count_once() {
        let t = std::time::Instant::now();
        let ms = move |n| t + std::time::Duration::from_millis(n);
        let mut p = Providers::default();
        // Graph: [0,10] then [10,20]; Exchange: [1,9] then [11,19], each alongside Graph's.
        p.count_stats(move || GraphStats { round_trips: 2, spans: vec![(ms(0), ms(10)), (ms(10), ms(20))], ..Default::default() });
        p.count_stats(move || GraphStats { round_trips: 2, spans: vec![(ms(1), ms(9)), (ms(11), ms(19))], ..Default::default() });
        assert_eq!(p.stats().round_trips, 2);
        // A provider without spans (LDAP) adds its own chain.
        p.count_stats(|| GraphStats { round_trips: 3, ..Default::default() });
        assert_eq!(p.stats().round_trips, 5);
    }
}
