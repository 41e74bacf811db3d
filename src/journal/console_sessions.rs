//! The console's sign-in sessions, kept in the journal so that a restarted `serve`, or several
//! `serve` processes behind one address on a PostgreSQL journal, know who is signed in.
//!
//! The journal never sees a session id: it keys each session by the SHA-256 of its id, so someone
//! who can read the journal cannot take a session over with what is stored. A session ends when
//! its time is up (`expires_at`); reading one that has ended finds nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One session as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSession {
    /// The console's state of the session (a pending sign-in, or who signed in), as JSON.
    pub state: Value,
    /// The token each of the session's forms carries.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The key a session is kept under: the SHA-256 of its id, hex.
pub fn session_key(id: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(id.as_bytes()))
}
