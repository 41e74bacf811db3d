//! Pacing Graph writes at the tenant's write quota.
//!
//! Graph limits identity writes per app and tenant (documented: 3,000 per 2 min 30 s;
//! learn.microsoft.com/graph/throttling-limits, "Identity and access service limits"). A bulk run
//! that sends faster is answered 429 and waits out `Retry-After`, which wastes the window and
//! risks a write that cannot be re-sent. [`WritePacer`] keeps the client under the quota instead:
//! every write attempt (direct or inside a `$batch`) takes a permit first, and a permit is granted
//! only while fewer than `writes` writes are in flight or were answered within the last `window`.
//!
//! The window is a sliding one, as Graph's is, and each write counts from when its *answer*
//! arrived: the server received it no later than that, so when the client lets a new write out
//! one window after an answer, the write it replaces has already left the server's window, and
//! the client can never be over the quota as the server counts it. One pacer serves every client
//! of one app in one tenant (plan and apply, every user of a bulk run).
//!
//! The quota is configuration (`graph_write_quota` in the tenant's section), not something
//! learnt from the service: Graph does not announce it before throttling.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Graph's documented write quota per app and tenant: 3,000 writes per 150 s.
pub const DOCUMENTED_WRITE_QUOTA: (u64, Duration) = (3000, Duration::from_secs(150));

/// The writes of one app in one tenant: at most `writes` per sliding `window`.
#[derive(Debug)]
pub struct WritePacer {
    writes: u64,
    window: Duration,
    state: Mutex<Window>,
    freed: Notify,
}

#[derive(Debug, Default)]
struct Window {
    /// When the answers of the writes still in the window arrived, oldest first.
    answered: VecDeque<Instant>,
    in_flight: u64,
    /// Writers waiting for a permit.
    waiting: u64,
    /// Permits granted so far.
    granted: u64,
}

impl Window {
    fn prune(&mut self, window: Duration, now: Instant) {
        while self.answered.front().is_some_and(|t| now.duration_since(*t) >= window) {
            self.answered.pop_front();
        }
    }
    fn used(&self) -> u64 {
        self.in_flight + self.answered.len() as u64
    }
}

/// A granted write: counts as in flight until dropped, then as answered now.
#[derive(Debug)]
pub struct Permit<'a> {
    pacer: &'a WritePacer,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut w = self.pacer.lock();
        w.in_flight = w.in_flight.saturating_sub(1);
        w.answered.push_back(Instant::now());
        drop(w);
        self.pacer.freed.notify_waiters();
    }
}

impl WritePacer {
    /// At most `writes` writes per `window` (both above zero; zero is taken as one).
    pub fn new(writes: u64, window: Duration) -> WritePacer {
        WritePacer { writes: writes.max(1), window: window.max(Duration::from_millis(1)), state: Mutex::default(), freed: Notify::new() }
    }

    /// One of `shares` equal slices of this pacer's quota (at least one write per window): what
    /// each of `shares` writers pacing on their own may use so that together they stay under it.
    pub fn share(&self, shares: u32) -> WritePacer {
        WritePacer::new(self.writes / u64::from(shares.max(1)), self.window)
    }

    /// Count writes answered `ages` ago (as [`WritePacer::history`] gave them) as if answered
    /// through this pacer: a writer that picks up where another stopped (the next job of a
    /// worker lane) starts with the window the other left, not an empty one.
    pub fn resume(&self, ages: &[Duration]) {
        let now = Instant::now();
        let mut w = self.lock();
        let mut at: Vec<Instant> = ages.iter().filter(|a| **a < self.window).map(|a| now.checked_sub(*a).unwrap_or(now)).collect();
        at.extend(w.answered.drain(..));
        at.sort();
        w.answered = at.into();
    }

    /// How long ago the writes still in the window were answered, writes in flight counting as
    /// answered now: what [`WritePacer::resume`] takes.
    pub fn history(&self) -> Vec<Duration> {
        let now = Instant::now();
        let mut w = self.lock();
        w.prune(self.window, now);
        let mut ages: Vec<Duration> = w.answered.iter().map(|t| now.duration_since(*t)).collect();
        ages.extend(std::iter::repeat_n(Duration::ZERO, w.in_flight as usize));
        ages
    }

    /// Parse `WRITES/SECONDS` (e.g. `3000/150`), as the tenant's `graph_write_quota` is written.
    /// (The demo's knob has a parser of its own on purpose: the simulator shares no code with the
    /// clients it tests.)
    pub fn parse(text: &str) -> Result<WritePacer, String> {
        let bad = || format!("graph_write_quota {text:?} is not WRITES/SECONDS (e.g. \"3000/150\")");
        let (w, s) = text.trim().split_once('/').ok_or_else(bad)?;
        let writes: u64 = w.trim().parse().map_err(|_| bad())?;
        let secs: u64 = s.trim().parse().map_err(|_| bad())?;
        if writes == 0 || secs == 0 {
            return Err(bad());
        }
        Ok(WritePacer::new(writes, Duration::from_secs(secs)))
    }

    /// The documented quota ([`DOCUMENTED_WRITE_QUOTA`]).
    pub fn documented() -> WritePacer {
        WritePacer::new(DOCUMENTED_WRITE_QUOTA.0, DOCUMENTED_WRITE_QUOTA.1)
    }

    /// The quota paced at: writes per window.
    pub fn quota(&self) -> (u64, Duration) {
        (self.writes, self.window)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        // The counters are consistent between statements; a panic elsewhere cannot leave them torn.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for room for one more write, and take it.
    pub async fn acquire(&self) -> Permit<'_> {
        let mut counted = false;
        loop {
            let wake = {
                let mut w = self.lock();
                let now = Instant::now();
                w.prune(self.window, now);
                if w.used() < self.writes {
                    w.in_flight += 1;
                    w.granted += 1;
                    if counted {
                        w.waiting -= 1;
                    }
                    return Permit { pacer: self };
                }
                if !counted {
                    w.waiting += 1;
                    counted = true;
                }
                // Room comes when the oldest answer leaves the window, or when a write in flight
                // is answered (then it too has to leave the window first, but the answer may be
                // the oldest).
                w.answered.front().map(|t| (*t + self.window).saturating_duration_since(now))
            };
            match wake {
                Some(d) => tokio::time::sleep(d).await,
                None => {
                    // Everything is in flight: wait for an answer, but never longer than a window.
                    let _ = tokio::time::timeout(self.window, self.freed.notified()).await;
                }
            }
        }
    }

    /// Is there room for a write now, with nobody waiting? A bulk run starts its next user only
    /// then, so users that send no writes (waiting for a conversion) leave room for others.
    pub fn has_room(&self) -> bool {
        let mut w = self.lock();
        w.prune(self.window, Instant::now());
        w.waiting == 0 && w.used() < self.writes
    }

    /// Write permits granted so far.
    pub fn granted(&self) -> u64 {
        self.lock().granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_quota_and_refuses_nonsense() {
        assert_eq!(WritePacer::parse("300/15").expect("ok").quota(), (300, Duration::from_secs(15)));
        assert_eq!(WritePacer::documented().quota(), (3000, Duration::from_secs(150)));
        for bad in ["300", "0/15", "300/0", "a/b", ""] {
            assert!(WritePacer::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_resumed_window_holds_the_writes_of_the_one_before() {
        let window = Duration::from_millis(300);
        let first = WritePacer::new(8, window).share(2);
        assert_eq!(first.quota(), (4, window));
        for _ in 0..4 {
            drop(first.acquire().await);
        }
        let ages = first.history();
        assert_eq!(ages.len(), 4);
        // The next writer of the same slice starts full: its first write waits out the window.
        let next = WritePacer::new(8, window).share(2);
        next.resume(&ages);
        assert!(!next.has_room());
        let begun = Instant::now();
        drop(next.acquire().await);
        assert!(begun.elapsed() >= window - Duration::from_millis(50), "{:?}", begun.elapsed());
        // Ages beyond the window are dropped.
        let fresh = WritePacer::new(4, window);
        fresh.resume(&[window * 2; 4]);
        assert!(fresh.has_room());
    }

    #[tokio::test]
    async fn never_more_than_the_quota_in_any_window() {
        let window = Duration::from_millis(400);
        let pacer = std::sync::Arc::new(WritePacer::new(5, window));
        let sent = std::sync::Arc::new(Mutex::new(Vec::<(Instant, Instant)>::new()));
        let mut tasks = Vec::new();
        for _ in 0..23 {
            let (pacer, sent) = (pacer.clone(), sent.clone());
            tasks.push(tokio::spawn(async move {
                let p = pacer.acquire().await;
                let start = Instant::now();
                // A write takes 30 ms at the server.
                tokio::time::sleep(Duration::from_millis(30)).await;
                drop(p);
                sent.lock().expect("lock").push((start, Instant::now()));
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let mut sent = sent.lock().expect("lock").clone();
        sent.sort();
        assert_eq!(sent.len(), 23);
        // As a server counting each write when it received it (at `start`) would: never more than
        // 5 in a window.
        for (i, (s, _)) in sent.iter().enumerate() {
            let in_window = sent[..=i].iter().filter(|(t, _)| s.duration_since(*t) < window).count();
            assert!(in_window <= 5, "{in_window} writes within a window at write {i}");
        }
        // And it is paced, not stopped: 23 writes start within 4 windows and a bit (each write's
        // 30 ms and the scheduler's slack), and not all at once.
        let span = sent[22].0.duration_since(sent[0].0);
        assert!(span >= window * 4, "{span:?}");
        assert!(span < window * 4 + Duration::from_millis(1500), "{span:?}");
        assert!(pacer.has_room());
    }
}
