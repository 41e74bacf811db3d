//! Counters the run report shows: how many calls, writes and throttles, and how many
//! *sequential* round trips the run needed (the number that decides wall time).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A snapshot of the client's statistics.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct GraphStats {
    /// HTTP requests sent, all kinds: token, direct calls, $batch envelopes, retries.
    pub http_requests: u64,
    /// Logical Graph operations sent (a $batch with 5 sub-requests = 5), counting re-sends.
    pub operations: u64,
    /// Write operations sent (inside batches too; not the token call nor the $batch envelope).
    pub writes: u64,
    /// $batch envelopes sent.
    pub batches: u64,
    /// Operations re-sent after 429/503/504/timeout.
    pub retries: u64,
    /// 429 answers seen (direct, envelope, or inside a batch).
    pub throttled: u64,
    /// The longest chain of HTTP exchanges that do not overlap in time.
    pub round_trips: u64,
    /// Total time spent waiting for retries.
    pub wait_ms: u64,
    /// (start, end) of every HTTP exchange, so that the round trips of several clients used in
    /// one run can be counted together ([`round_trips`]): their chains overlap in time, so adding
    /// them would count twice what was in flight together. Empty for a provider that does not
    /// keep them (its `round_trips` then adds up).
    #[serde(skip)]
    pub spans: Vec<(Instant, Instant)>,
}

#[derive(Default)]
pub(crate) struct Recorder {
    pub http_requests: AtomicU64,
    pub operations: AtomicU64,
    pub writes: AtomicU64,
    pub batches: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub wait_ms: AtomicU64,
    /// (start, end) of every HTTP exchange. A run makes at most a few thousand calls, so keeping
    /// them all is cheap and lets the snapshot compute round trips exactly.
    exchanges: Mutex<Vec<(Instant, Instant)>>,
}

impl Recorder {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn exchange(&self, start: Instant, end: Instant) {
        // A poisoned lock only means another thread panicked mid-push; the data is still usable.
        let mut v = self.exchanges.lock().unwrap_or_else(|p| p.into_inner());
        v.push((start, end));
    }

    pub fn waited(&self, d: Duration) {
        Self::add(&self.wait_ms, d.as_millis().min(u64::MAX as u128) as u64);
    }

    pub fn snapshot(&self) -> GraphStats {
        let exchanges = self.exchanges.lock().unwrap_or_else(|p| p.into_inner()).clone();
        GraphStats {
            http_requests: self.http_requests.load(Ordering::Relaxed),
            operations: self.operations.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            round_trips: round_trips(exchanges.clone()),
            wait_ms: self.wait_ms.load(Ordering::Relaxed),
            spans: exchanges,
        }
    }
}

/// Greedy interval scheduling: sort by end, take every exchange that starts at or after the end
/// of the last one taken. This is the largest set of mutually non-overlapping exchanges, i.e.
/// the number of round trips that had to happen one after another.
pub fn round_trips(mut v: Vec<(Instant, Instant)>) -> u64 {
    v.sort_by_key(|&(_, end)| end);
    let mut count = 0;
    let mut last_end: Option<Instant> = None;
    for (start, end) in v {
        if last_end.is_none_or(|le| start >= le) {
            count += 1;
            last_end = Some(end);
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_exchanges_count_once() {
        let t = Instant::now();
        let ms = |n| t + Duration::from_millis(n);
        // token [0,10], three overlapping calls [10,30] [12,25] [11,40], then one [40,50].
        let v = vec![(ms(0), ms(10)), (ms(10), ms(30)), (ms(12), ms(25)), (ms(11), ms(40)), (ms(40), ms(50))];
        assert_eq!(round_trips(v), 3);
        assert_eq!(round_trips(vec![]), 0);
    }
}
