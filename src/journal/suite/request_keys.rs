//! The journal suite, part 5: the JSON API's request keys, against any back end.

use chrono::Duration;
use serde_json::json;

use crate::journal::*;

pub(in crate::journal) fn a_request_key_is_claimed_once_answered_once_and_scoped(j: &dyn Journal) {
    let t0 = super::runs::at(9, 0);
    let long_ago = t0 - Duration::hours(1);
    assert_eq!(j.request_key_claim("halo", "k1", "h1", t0, long_ago).expect("claim"), KeyClaim::Claimed);
    // The same key again while the first is in progress: found, unanswered.
    let KeyClaim::Existing(k) = j.request_key_claim("halo", "k1", "h1", t0, long_ago).expect("claim") else { panic!("claimed twice") };
    assert_eq!((k.request_hash.as_str(), k.created_at, k.answer.as_ref()), ("h1", t0, None));
    // Another scope's key of the same name is another key.
    assert_eq!(j.request_key_claim("hr", "k1", "h9", t0, long_ago).expect("claim"), KeyClaim::Claimed);
    j.request_key_answer("halo", "k1", 201, &json!({"run_id": "r1"})).expect("answer");
    assert!(j.request_key_answer("halo", "k1", 500, &json!({})).is_err(), "an answer is given once");
    let KeyClaim::Existing(k) = j.request_key_claim("halo", "k1", "h2", t0, t0 + Duration::hours(1)).expect("claim") else {
        panic!("an answered key is never claimed again, even when old")
    };
    assert_eq!(k.request_hash, "h1", "the first request's digest, to compare with");
    let a = k.answer.expect("answered");
    assert_eq!((a.status, a.body), (201, json!({"run_id": "r1"})));
    // A released claim is free again; an answered key cannot be released.
    j.request_key_release("hr", "k1").expect("release");
    assert_eq!(j.request_key_claim("hr", "k1", "h3", t0, long_ago).expect("claim"), KeyClaim::Claimed);
    j.request_key_release("halo", "k1").expect("release is a no-op on an answered key");
    assert!(matches!(j.request_key_claim("halo", "k1", "h1", t0, long_ago).expect("claim"), KeyClaim::Existing(_)));
}

pub(in crate::journal) fn a_stale_claim_is_taken_over_only_by_the_same_request(j: &dyn Journal) {
    let t0 = super::runs::at(9, 0);
    let later = t0 + Duration::minutes(30);
    assert_eq!(j.request_key_claim("halo", "k", "h1", t0, t0 - Duration::hours(1)).expect("claim"), KeyClaim::Claimed);
    // Stale (claimed before `stale_before`) but another digest: not this request's to take.
    assert!(matches!(j.request_key_claim("halo", "k", "h2", later, later).expect("claim"), KeyClaim::Existing(_)));
    // Not stale yet: still in progress.
    assert!(matches!(j.request_key_claim("halo", "k", "h1", later, t0).expect("claim"), KeyClaim::Existing(_)));
    assert_eq!(j.request_key_claim("halo", "k", "h1", later, later).expect("claim"), KeyClaim::Claimed, "taken over");
    let KeyClaim::Existing(k) = j.request_key_claim("halo", "k", "h1", later, t0).expect("claim") else { panic!("claimed twice") };
    assert_eq!(k.created_at, later, "the takeover restarts the clock");
}

pub(in crate::journal) fn old_answered_keys_are_pruned_and_nothing_else(j: &dyn Journal) {
    let t0 = super::runs::at(9, 0);
    let (old, recent) = (t0 - Duration::days(40), t0 - Duration::days(1));
    for (key, at) in [("old-answered", old), ("old-open", old), ("recent", recent)] {
        assert_eq!(j.request_key_claim("halo", key, "h", at, at - Duration::hours(1)).expect("claim"), KeyClaim::Claimed);
    }
    j.request_key_answer("halo", "old-answered", 201, &json!({})).expect("answer");
    j.request_key_answer("halo", "recent", 201, &json!({})).expect("answer");
    assert_eq!(j.request_key_prune(t0 - Duration::days(30)).expect("prune"), 1);
    // The pruned key is free again; the others are as they were.
    assert_eq!(j.request_key_claim("halo", "old-answered", "h2", t0, t0 - Duration::hours(1)).expect("claim"), KeyClaim::Claimed);
    for key in ["old-open", "recent"] {
        assert!(matches!(j.request_key_claim("halo", key, "h", t0, old).expect("claim"), KeyClaim::Existing(_)), "{key}");
    }
    assert_eq!(j.request_key_prune(t0 - Duration::days(30)).expect("prune"), 0, "nothing left to prune");
}
