//! The time the workflow commands see.
//!
//! `OFFBOARD_NOW` (an RFC 3339 date-time) replaces the clock **in debug builds only**, so the
//! tests can make a schedule fall due or an approval expire without sleeping. A release build
//! ignores it: nobody can move an expiry or a due time with an environment variable in production.

use chrono::{DateTime, Utc};

pub fn now() -> DateTime<Utc> {
    if cfg!(debug_assertions) {
        if let Some(t) = std::env::var("OFFBOARD_NOW").ok().and_then(|v| DateTime::parse_from_rfc3339(&v).ok()) {
            return t.with_timezone(&Utc);
        }
    }
    Utc::now()
}
