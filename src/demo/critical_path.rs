//! The critical path of what the simulator served: how many round trips had to happen one after
//! another, as the server sees them (`SimStats::round_trips`).
//!
//! Each counted HTTP request (token, Graph, Exchange; not `/_sim/*`, not the PSAs) is an interval
//! from when the server received it to when its answer was ready (after the injected latency and
//! any held-back answer). Two requests whose intervals overlap were in flight together, so a client
//! did not wait for one before sending the other; two that do not overlap may have. The largest
//! set of pairwise non-overlapping intervals is therefore the longest chain of round trips that can
//! have been sequential: the figure latency multiplies (wall time ≥ chain × latency).
//!
//! That set is found greedily by taking intervals in order of their end, each one that starts at
//! or after the end of the last one taken (classic interval scheduling, optimal). Requests end in
//! the order this module sees them end, because the end is read under the same lock that updates
//! the chain, so the greedy runs online in O(1) per request: no interval is kept.
//!
//! The count is over everything served since the state was seeded. One simulator serves one app
//! in one tenant; runs one after another (plan, apply, a re-run) add up exactly, so the difference
//! across one run is that run's critical path. Runs in flight together (a bulk) share one chain,
//! which then is the critical path of all of them together.

use std::sync::Arc;
use std::time::Instant;

use super::shared::Shared;

/// One request being served: counts into the chain when dropped (answered, or abandoned by a
/// client that went away, which still held the server that long).
pub struct Trip {
    shared: Arc<Shared>,
    start: Instant,
}

impl Trip {
    pub fn start(shared: &Arc<Shared>) -> Trip {
        Trip { shared: shared.clone(), start: Instant::now() }
    }
}

impl Drop for Trip {
    fn drop(&mut self) {
        let mut last_end = self.shared.lock_chain_end();
        let end = Instant::now();
        if last_end.is_none_or(|last| self.start >= last) {
            *last_end = Some(end);
            drop(last_end);
            self.shared.lock_state().stats.round_trips += 1;
            self.shared.mark_dirty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_requests_count_once_and_a_later_one_again() {
        let shared = Arc::new(Shared::new(Default::default(), Default::default(), std::env::temp_dir().join("unused-chain.json")));
        let rt = || shared.lock_state().stats.round_trips;
        {
            let a = Trip::start(&shared);
            let b = Trip::start(&shared);
            drop(a);
            // b started before a ended: in flight together, one round trip.
            drop(b);
        }
        assert_eq!(rt(), 1);
        let c = Trip::start(&shared);
        drop(c);
        assert_eq!(rt(), 2);
        // A request that started before the last counted one ended, but ended after: not a new
        // step of the chain (it overlapped).
        let d = Trip::start(&shared);
        let e = Trip::start(&shared);
        drop(d);
        drop(e);
        assert_eq!(rt(), 3);
    }
}
