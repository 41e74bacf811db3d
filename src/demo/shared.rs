//! What every simulated service shares: the state behind one lock, the knobs, the fault
//! counter, the request headers, and the state file it persists to. It sits below the
//! dispatchers (Graph, Exchange, the PSAs) and the HTTP front end that use it, so none of them
//! has to import another for it.
//!
//! State sits behind a `std::sync::Mutex` because every operation is short and synchronous and the
//! lock is never held across an await; the state file is snapshot under the lock and serialised
//! and written outside it, one writer at a time, with a generation number so concurrent writes are grouped
//! into one (see [`Shared::persist`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::model::State;
use super::quota::Quotas;
use super::write_log::WriteLog;
use super::{store, Knobs};

/// The resource a token was issued for (its `aud`): each API accepts only its own, as the real
/// services do, so a client that sends the Graph token to Exchange fails here as it would there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Graph,
    Exchange,
}

impl Audience {
    /// The `.default` scope that asks for a token for this resource.
    pub fn scope(self) -> &'static str {
        match self {
            Audience::Graph => "https://graph.microsoft.com/.default",
            Audience::Exchange => "https://outlook.office365.com/.default",
        }
    }
}

/// Request headers, case-insensitive by name. A plain list because `$batch` sub-request headers
/// arrive as JSON and may not even be valid HTTP header names.
#[derive(Debug, Default, Clone)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PATCH" | "PUT" | "DELETE")
}

/// Everything the handlers share.
pub struct Shared {
    state: Mutex<State>,
    knobs: Mutex<Knobs>,
    /// Issued tokens: expiry and the resource they are for.
    tokens: Mutex<HashMap<String, (Instant, Audience)>>,
    path: PathBuf,
    /// Stats changed since the last write (tenant changes are written at once, stats lazily).
    dirty: AtomicBool,
    generation: AtomicU64,
    written: Mutex<u64>,
    /// The end of the last request taken into the critical path (see `critical_path.rs`).
    chain_end: Mutex<Option<Instant>>,
    /// Operations that matched `Knobs::fault_match` (the count the fault knobs use when it is set).
    pub(crate) matched: AtomicU64,
    /// Exchange requests being served now (see `exchange::Slot`).
    pub(crate) exo_in_flight: AtomicU64,
    /// Graph's write windows (not persisted: a restarted simulator starts with empty windows,
    /// as a quota a process never saw cannot be held against it).
    quotas: Mutex<Quotas>,
    /// When each user's writes landed, and from which client (not persisted either).
    pub(crate) user_writes: WriteLog,
}

// A panic while holding a lock must not take the simulator down for the next request; the data
// under these locks is always left consistent between statements, so recovering is safe.
fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(state: State, knobs: Knobs, path: PathBuf) -> Shared {
        Shared {
            state: Mutex::new(state),
            knobs: Mutex::new(knobs),
            tokens: Mutex::new(HashMap::new()),
            path,
            dirty: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            written: Mutex::new(0),
            chain_end: Mutex::new(None),
            matched: AtomicU64::new(0),
            exo_in_flight: AtomicU64::new(0),
            quotas: Mutex::new(Quotas::default()),
            user_writes: WriteLog::default(),
        }
    }
    pub fn set_knobs(&self, knobs: Knobs) {
        *relock(&self.knobs) = knobs;
    }
    /// Stats changed since the state file was last written.
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::SeqCst)
    }
    pub fn lock_state(&self) -> MutexGuard<'_, State> {
        relock(&self.state)
    }
    pub fn lock_tokens(&self) -> MutexGuard<'_, HashMap<String, (Instant, Audience)>> {
        relock(&self.tokens)
    }
    pub fn lock_chain_end(&self) -> MutexGuard<'_, Option<Instant>> {
        relock(&self.chain_end)
    }
    pub fn lock_quotas(&self) -> MutexGuard<'_, Quotas> {
        relock(&self.quotas)
    }
    pub fn knobs(&self) -> Knobs {
        relock(&self.knobs).clone()
    }
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
    }
    /// Write the state file now: when this returns, the file holds every change made before the
    /// call.
    ///
    /// Writes are grouped: one writer at a time, and a caller that waited for the writer before it
    /// returns at once if that writer's snapshot was taken after this call (it holds this caller's
    /// change too). With a thousand users a snapshot is megabytes, so N concurrent writes cost two
    /// snapshots instead of N.
    pub fn persist(&self) {
        // Any snapshot taken once `generation` is at least `wanted` holds the caller's change: the
        // change was made, under the state lock, before this increment.
        let wanted = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let mut written = relock(&self.written);
        if *written >= wanted {
            return;
        }
        // A clone under the lock, serialised outside it: cloning a thousand users takes a tenth of
        // the time serialising them does, and requests wait for the lock meanwhile.
        let (generation, snapshot) = {
            let st = self.lock_state();
            self.dirty.store(false, Ordering::SeqCst);
            (self.generation.load(Ordering::SeqCst), st.clone())
        };
        let bytes = serde_json::to_vec(&snapshot);
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("demo tenant: cannot serialise state: {e}");
                return;
            }
        };
        if let Err(e) = store::save_bytes(&self.path, &bytes) {
            tracing::warn!("demo tenant: cannot write {}: {e}", self.path.display());
            return;
        }
        *written = generation;
    }
}

/// Which operation this is for the fault knobs: every operation counts, or with a match filter only
/// the matching ones (`None`: this one does not match). Shared with the Exchange endpoint.
pub fn fault_count(shared: &Shared, knobs: &Knobs, operations: u64, method: &str, path_and_query: &str, body: &[u8]) -> Option<u64> {
    match &knobs.fault_match {
        None => Some(operations),
        Some(m) => {
            let text = format!("{method} {path_and_query} {}", String::from_utf8_lossy(body));
            text.contains(m.as_str()).then(|| shared.matched.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1)
        }
    }
}

/// Which fault a seeded random knob draws for (each its own stream, so raising one rate does not
/// move the operations another rate hits).
#[derive(Debug, Clone, Copy)]
pub enum Draw {
    Throttle = 1,
    Fault = 2,
    Hang = 3,
}

/// Is operation `n` hit by the fault knob `every` (every Nth) or, with `Knobs::fault_seed`, by
/// `rate`? The random pick depends on the seed, the kind and `n` only, so the same seed hits the
/// same operations in every run.
pub fn hits(knobs: &Knobs, n: Option<u64>, every: u64, rate: f64, draw: Draw) -> bool {
    let Some(n) = n else { return false };
    if every > 0 && n % every == 0 {
        return true;
    }
    match knobs.fault_seed {
        Some(seed) if rate > 0.0 => {
            use rand::{Rng, SeedableRng};
            // One small generator per (seed, kind, operation): no state to share or to order.
            let key = seed ^ (draw as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            rand::rngs::StdRng::seed_from_u64(key).gen::<f64>() < rate
        }
        _ => false,
    }
}

/// Count an operation that was refused before reaching [`handle`] (a `$batch` sub-request with a
/// failed dependency or a missing Content-Type): it was still received.
pub fn count_refused(shared: &Shared, method: &str) {
    let mut st = shared.lock_state();
    st.stats.operations += 1;
    if is_write(&method.to_ascii_uppercase()) {
        st.stats.writes += 1;
    }
    drop(st);
    shared.mark_dirty();
}
