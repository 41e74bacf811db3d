//! When each user's writes landed, and from which client: the evidence that two workers never
//! wrote one user at once (the scale test, `tests/workflow/scale.rs`), read at `/_sim/user-writes`.
//!
//! Recorded where [`super::SimStats::user_writes`] is counted, for the same writes (applied Graph
//! writes to a user's own resource). The client is a hash of the bearer token the write came
//! with (never the token): one token is one client session, and two sessions' writes to one user
//! must not interleave. In memory only, not in the state file: a list per write would grow the
//! file that is rewritten after every change.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use serde::Serialize;

/// One applied write to a user.
#[derive(Debug, Clone, Serialize)]
pub struct UserWrite {
    /// When it was applied (unix microseconds, the simulator's clock).
    pub at_us: i64,
    /// A hash of the bearer token it came with.
    pub client: String,
}

/// The writes by user id, in the order they were applied.
#[derive(Debug, Default)]
pub struct WriteLog(Mutex<BTreeMap<String, Vec<UserWrite>>>);

impl WriteLog {
    /// A write to `user_id` applied now, sent with the `Authorization` header `authorization`.
    pub fn record(&self, user_id: &str, authorization: Option<&str>) {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        authorization.unwrap_or("").trim().hash(&mut h);
        let write = UserWrite { at_us: chrono::Utc::now().timestamp_micros(), client: format!("{:016x}", h.finish()) };
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(user_id.to_string()).or_default().push(write);
    }

    pub fn snapshot(&self) -> BTreeMap<String, Vec<UserWrite>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
