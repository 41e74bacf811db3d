//! Request keys: what makes a JSON API request idempotent (`Idempotency-Key`).
//!
//! A caller (a PSA's webhook, an HR system) retries when it did not get an answer: the network
//! dropped it, or the console restarted. The retry must not offboard twice or open a second
//! approval. So the first request with a key *claims* it, with a digest of what was asked; the
//! answer is kept with the key once given, and every later request with the same key and digest
//! gets that answer again. The same key with another digest is a caller's bug and is refused.
//!
//! Keys are scoped: the API uses the token's name, so one caller can neither collide with nor
//! read another's answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request key as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestKey {
    /// Whose key it is (the API token's name).
    pub scope: String,
    pub key: String,
    /// The digest of the request that claimed the key.
    pub request_hash: String,
    /// When it was claimed (or taken over).
    pub created_at: DateTime<Utc>,
    /// None while the first request is still being answered.
    pub answer: Option<KeyAnswer>,
}

/// The answer kept with a key: the HTTP status and the JSON body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyAnswer {
    pub status: u16,
    pub body: Value,
    pub answered_at: DateTime<Utc>,
}

/// What [`crate::journal::Journal::request_key_claim`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyClaim {
    /// The key is this request's now: do the work, then answer or release it.
    Claimed,
    /// The key was claimed before (answered, or still in progress, or with another digest).
    Existing(RequestKey),
}
