//! Graph's write quotas, as the simulator enforces them.
//!
//! Microsoft documents, for the identity and access service (learn.microsoft.com/graph/
//! throttling-limits, "Identity and access service limits"; `/work/shared/reference/apis.md` §2):
//! writes are limited to **3,000 per 2 min 30 s per app and tenant**, **18,000 per 5 min per
//! tenant** (all apps) and **70,000 per 5 min per app across all tenants** (an older version of
//! the page said 35,000). A write over a limit answers 429 `TooManyRequests` with `Retry-After`
//! and `x-ms-throttle-information: WriteLimitExceeded`, and is not applied.
//!
//! The simulator serves one app in one tenant, so the per-tenant limit (18,000 / 5 min) can never
//! bind before the per-app-and-tenant one and is not modelled; the per-app limit across tenants is
//! kept (one window for the app, whatever tenant the write is for), so a knob can make it the one
//! that binds.
//!
//! Each limit is a sliding window: a write is admitted when fewer than `writes` writes were
//! admitted in the last `secs` seconds. A refused write does not count. The `Retry-After` sent is
//! when the oldest admitted write leaves the window (rounded up to whole seconds, at least 1), the
//! earliest moment a retry can be admitted: what a client that honours it needs and no more.

use std::collections::{HashMap, VecDeque};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A write quota: at most `writes` writes in any `secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriteQuota {
    pub writes: u64,
    pub secs: u64,
}

impl WriteQuota {
    /// Graph's documented write limit per app and tenant: 3,000 writes per 150 s.
    pub const PER_APP_AND_TENANT: WriteQuota = WriteQuota { writes: 3000, secs: 150 };
    /// Graph's documented write limit per app across all tenants: 70,000 writes per 5 min.
    pub const PER_APP: WriteQuota = WriteQuota { writes: 70_000, secs: 300 };

    fn window(&self) -> Duration {
        Duration::from_secs(self.secs)
    }
}

impl FromStr for WriteQuota {
    type Err = String;
    /// `WRITES/SECONDS`, both whole numbers above 0 (e.g. `300/15`).
    fn from_str(s: &str) -> Result<WriteQuota, String> {
        let bad = || format!("{s:?} is not WRITES/SECONDS (e.g. 3000/150)");
        let (w, t) = s.trim().split_once('/').ok_or_else(bad)?;
        let writes: u64 = w.trim().parse().map_err(|_| bad())?;
        let secs: u64 = t.trim().parse().map_err(|_| bad())?;
        if writes == 0 || secs == 0 {
            return Err(bad());
        }
        Ok(WriteQuota { writes, secs })
    }
}

impl std::fmt::Display for WriteQuota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.writes, self.secs)
    }
}

/// The admitted writes of one limit's last window, oldest first.
#[derive(Debug, Default)]
struct Window {
    admitted: VecDeque<Instant>,
}

impl Window {
    /// How long until this window admits one more write under `q` (zero: now).
    fn wait(&mut self, q: WriteQuota, now: Instant) -> Duration {
        while self.admitted.front().is_some_and(|t| now.duration_since(*t) >= q.window()) {
            self.admitted.pop_front();
        }
        if (self.admitted.len() as u64) < q.writes {
            return Duration::ZERO;
        }
        // The window is full: a slot frees when the write `len - writes` from the front leaves it
        // (the front one, unless a knob shrank the quota below what the window holds).
        let ix = self.admitted.len() - q.writes as usize;
        (self.admitted[ix] + q.window()).saturating_duration_since(now)
    }
}

/// The simulator's write windows: one per (app, tenant) and one per app.
#[derive(Debug, Default)]
pub struct Quotas {
    per_tenant: HashMap<(String, String), Window>,
    per_app: HashMap<String, Window>,
}

impl Quotas {
    /// Admit one write by `app` in `tenant` at `now`, or refuse it with the `Retry-After` seconds.
    pub fn admit(&mut self, app: &str, tenant: &str, per_tenant: WriteQuota, per_app: WriteQuota, now: Instant) -> Result<(), u64> {
        let t = self.per_tenant.entry((app.to_ascii_lowercase(), tenant.to_ascii_lowercase())).or_default();
        let a = self.per_app.entry(app.to_ascii_lowercase()).or_default();
        let wait = t.wait(per_tenant, now).max(a.wait(per_app, now));
        if !wait.is_zero() {
            // Whole seconds, as Graph sends them; rounded up so the retry is not refused again.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(secs.max(1));
        }
        t.admitted.push_back(now);
        a.admitted.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "app";
    const T: &str = "tenant";
    const BIG: WriteQuota = WriteQuota { writes: 1_000_000, secs: 1 };

    #[test]
    fn parses_writes_per_seconds() {
        assert_eq!("300/15".parse::<WriteQuota>(), Ok(WriteQuota { writes: 300, secs: 15 }));
        assert_eq!(" 3000 / 150 ".parse::<WriteQuota>(), Ok(WriteQuota::PER_APP_AND_TENANT));
        for bad in ["300", "0/15", "300/0", "x/15", "300/15s", ""] {
            assert!(bad.parse::<WriteQuota>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_full_window_refuses_until_its_oldest_write_leaves() {
        let q = WriteQuota { writes: 3, secs: 10 };
        let mut quotas = Quotas::default();
        let t0 = Instant::now();
        assert_eq!(quotas.admit(APP, T, q, BIG, t0), Ok(()));
        assert_eq!(quotas.admit(APP, T, q, BIG, t0 + Duration::from_secs(2)), Ok(()));
        assert_eq!(quotas.admit(APP, T, q, BIG, t0 + Duration::from_millis(4500)), Ok(()));
        // Full: the first write leaves at t0+10 s; at t0+5 s that is 5 s away.
        assert_eq!(quotas.admit(APP, T, q, BIG, t0 + Duration::from_secs(5)), Err(5));
        // Part seconds round up: at t0+5.5 s it is 4.5 s away, sent as 5.
        assert_eq!(quotas.admit(APP, T, q, BIG, t0 + Duration::from_millis(5500)), Err(5));
        // The window slides: at t0+10 s the first write has left, one slot is free, and only one.
        assert_eq!(quotas.admit(APP, T, q, BIG, t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(quotas.admit(APP, T, q, BIG, t0 + Duration::from_secs(10)), Err(2));
        // A refused write did not count: the next slot is when the t0+2 s write leaves.
        assert_eq!(quotas.admit(APP, T, q, BIG, t0 + Duration::from_secs(12)), Ok(()));
        // After a whole quiet window everything is free again.
        let later = t0 + Duration::from_secs(30);
        for _ in 0..3 {
            assert_eq!(quotas.admit(APP, T, q, BIG, later), Ok(()));
        }
        assert!(quotas.admit(APP, T, q, BIG, later).is_err());
    }

    #[test]
    fn tenants_have_their_own_windows_and_the_app_one_spans_them() {
        let per_tenant = WriteQuota { writes: 2, secs: 10 };
        let per_app = WriteQuota { writes: 3, secs: 20 };
        let mut quotas = Quotas::default();
        let t0 = Instant::now();
        assert_eq!(quotas.admit(APP, "a", per_tenant, per_app, t0), Ok(()));
        assert_eq!(quotas.admit(APP, "a", per_tenant, per_app, t0), Ok(()));
        assert_eq!(quotas.admit(APP, "a", per_tenant, per_app, t0), Err(10), "tenant a is full");
        assert_eq!(quotas.admit(APP, "b", per_tenant, per_app, t0), Ok(()), "tenant b has its own window");
        // The app's window (3 per 20 s) is now full across both tenants.
        assert_eq!(quotas.admit(APP, "b", per_tenant, per_app, t0 + Duration::from_secs(1)), Err(19));
        // Another app is not affected.
        assert_eq!(quotas.admit("other", "b", per_tenant, per_app, t0), Ok(()));
    }
}
