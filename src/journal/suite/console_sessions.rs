//! The journal suite, part 6: the console's sessions, against any back end.

use chrono::Duration;
use serde_json::json;

use crate::journal::*;

fn session(state: &str, now: chrono::DateTime<chrono::Utc>, life: Duration) -> StoredSession {
    StoredSession { state: json!({"state": state}), csrf: format!("csrf-{state}"), created_at: now, expires_at: now + life }
}

pub(in crate::journal) fn console_sessions_are_kept_until_they_end_taken_once_and_bounded(j: &dyn Journal) {
    let t0 = super::runs::at(9, 0);
    let (a, b, c) = (session_key("id-a"), session_key("id-b"), session_key("id-c"));
    assert_ne!(a, "id-a", "never the id itself");
    assert!(j.console_session_put(&a, &session("pending", t0, Duration::minutes(10)), 2, t0).expect("put"));
    assert_eq!(j.console_session_get(&a, t0).expect("get"), Some(session("pending", t0, Duration::minutes(10))));
    assert_eq!(j.console_session_get(&b, t0).expect("get"), None);
    // Taken once.
    assert!(j.console_session_take(&a, t0).expect("take").is_some());
    assert_eq!(j.console_session_take(&a, t0).expect("take"), None);
    // Ended: not found, and not counted against the bound.
    assert!(j.console_session_put(&b, &session("signed-in", t0, Duration::hours(8)), 2, t0).expect("put"));
    assert!(j.console_session_put(&c, &session("short", t0, Duration::minutes(1)), 2, t0).expect("put"));
    assert_eq!(j.console_session_get(&c, t0 + Duration::minutes(2)).expect("get"), None, "ended");
    assert_eq!(j.console_session_take(&c, t0 + Duration::minutes(2)).expect("take"), None, "ended");
    assert!(j.console_session_put(&a, &session("again", t0, Duration::hours(1)), 2, t0 + Duration::minutes(2)).expect("put"));
    // Full: two live ones, a third is refused and not kept; replacing one of them is not a third.
    let d = session_key("id-d");
    assert!(!j.console_session_put(&d, &session("third", t0, Duration::hours(1)), 2, t0 + Duration::minutes(3)).expect("put"));
    assert_eq!(j.console_session_get(&d, t0 + Duration::minutes(3)).expect("get"), None);
    assert!(j.console_session_put(&a, &session("replaced", t0, Duration::hours(1)), 2, t0 + Duration::minutes(3)).expect("put"));
    assert_eq!(j.console_session_get(&a, t0 + Duration::minutes(3)).expect("get").map(|s| s.state), Some(json!({"state": "replaced"})));
}
