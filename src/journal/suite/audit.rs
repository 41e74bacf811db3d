//! The journal suite, part 3: the console's audit log, against any back end.

use crate::journal::*;

pub(in crate::journal) fn console_actions_are_kept_newest_first(j: &dyn Journal) {
    let event = |action: &str, sub: &str| AuditEvent {
        at: super::runs::at(9, 0),
        action: action.into(),
        issuer: "https://issuer.test".into(),
        subject: sub.into(),
        email: (sub != "c").then(|| format!("{sub}@msp.test")),
        detail: serde_json::json!({"roles": {"contoso": ["request"]}}),
    };
    j.record_audit(&event("sign_in", "a")).expect("record");
    j.record_audit(&event("sign_in_refused", "b")).expect("record");
    j.record_audit(&event("sign_in", "c")).expect("record");
    let got = j.audit_events(10).expect("read");
    assert_eq!(got, vec![event("sign_in", "c"), event("sign_in_refused", "b"), event("sign_in", "a")]);
    assert_eq!(j.audit_events(1).expect("read"), vec![event("sign_in", "c")]);
}
