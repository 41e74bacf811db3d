//! The journal suite, part 2: the PSA outbox, run tickets, and the workflow (approvals and
//! schedules), against any back end.

use serde_json::json;

use crate::journal::*;
fn add_run(j: &dyn Journal, run_id: &str, user: &str, mode: Mode) {
    j.create_run(&NewRun {
        run_id: run_id.into(),
        tenant: "t".into(),
        user: user.into(),
        script: "s".into(),
        script_hash: "h".into(),
        mode,
        options: json!({}),
        started_at: chrono::Utc::now(),
    })
    .unwrap();
}

pub(super) fn the_last_ticketed_run_of_a_user_is_the_latest_apply_run_with_a_ticket_or_a_queued_one(j: &dyn Journal) {
    add_run(j, "r1", "u@x.test", Mode::Apply);
    assert_eq!(j.last_ticketed_run("t", "u@x.test", "now").unwrap(), None, "r1 never touched a ticket");
    j.set_run_ticket("r1", "41").unwrap();
    j.finish_run("r1", RunStatus::Succeeded, &json!({})).unwrap();
    add_run(j, "r2", "U@X.test", Mode::Apply);
    let item =
        |kind, marker: &str, payload| NewOutboxItem { tenant: "t".into(), run_id: "r2".into(), kind, marker: marker.into(), payload };
    j.outbox_add(&item(OutboxKind::CreateTicket, "[m]", json!({}))).unwrap();
    j.outbox_add(&item(OutboxKind::Status, "[s1]", json!({"status": "in_progress"}))).unwrap();
    j.outbox_add(&item(OutboxKind::Status, "[s2]", json!({"status": "completed"}))).unwrap();
    add_run(j, "r3", "u@x.test", Mode::Plan);
    add_run(j, "r4", "other@x.test", Mode::Apply);
    j.set_run_ticket("r4", "99").unwrap();
    let last = j.last_ticketed_run("t", "u@x.test", "now").unwrap().unwrap();
    let closed = Some(json!({"status": "completed"}));
    assert_eq!(last, TicketedRun { run_id: "r2".into(), status: RunStatus::Running, ticket: None, last_status: closed });
    assert!(last.unfinished());
    let before = j.last_ticketed_run("t", "u@x.test", "r2").unwrap().unwrap();
    assert_eq!((before.run_id.as_str(), before.ticket.as_deref(), before.unfinished()), ("r1", Some("41"), false));
    assert_eq!(j.last_ticketed_run("other-tenant", "u@x.test", "now").unwrap(), None);
}

pub(super) fn outbox_keeps_order_dedups_markers_and_tracks_delivery(j: &dyn Journal) {
    add_run(j, "r1", "u@x.test", Mode::Apply);
    let item = |marker: &str| NewOutboxItem {
        tenant: "t".into(),
        run_id: "r1".into(),
        kind: OutboxKind::Note,
        marker: marker.into(),
        payload: json!({"text": marker}),
    };
    assert!(j.outbox_add(&item("[a]")).unwrap());
    assert!(j.outbox_add(&item("[b]")).unwrap());
    assert!(!j.outbox_add(&item("[a]")).unwrap(), "same marker twice is one item");
    let pending = j.outbox_items(Some("t"), true).unwrap();
    assert_eq!(pending.iter().map(|i| i.marker.as_str()).collect::<Vec<_>>(), ["[a]", "[b]"]);
    j.outbox_attempt(pending[0].id).unwrap();
    j.outbox_failed(pending[0].id, "HTTP 503").unwrap();
    j.outbox_attempt(pending[0].id).unwrap();
    j.outbox_delivered(pending[0].id).unwrap();
    let all = j.outbox_items(None, false).unwrap();
    assert!(all[0].delivered && all[0].attempts == 2 && all[0].last_error.is_none() && all[0].delivered_at.is_some());
    assert_eq!(j.outbox_items(Some("t"), true).unwrap().len(), 1);
    assert!(j.outbox_items(Some("other"), true).unwrap().is_empty());
}

pub(super) fn runs_remember_their_ticket(j: &dyn Journal) {
    add_run(j, "r1", "u@x.test", Mode::Apply);
    assert_eq!(j.run_ticket("r1").unwrap(), None);
    j.set_run_ticket("r1", "4711").unwrap();
    assert_eq!(j.run_ticket("r1").unwrap().as_deref(), Some("4711"));
    assert!(matches!(j.run_ticket("nope"), Err(JournalError::NoSuchRun(_))));
}

pub(super) fn a_claim_succeeds_once(j: &dyn Journal) {
    let now = chrono::Utc::now();
    j.create_run(&NewRun {
        run_id: "r1".into(),
        tenant: "t".into(),
        user: "u@x.test".into(),
        script: "s".into(),
        script_hash: "h".into(),
        mode: Mode::Plan,
        options: json!({}),
        started_at: now,
    })
    .unwrap();
    let mut item = pending_schedule("r1", now);
    item.tenant = "t".into();
    item.user = "u@x.test".into();
    item.plan = vec![PlannedStep {
        action: "disable_account".into(),
        target_id: "u1".into(),
        target: "u".into(),
        status: "planned".into(),
        params: serde_json::Value::Null,
    }];
    j.work_add(&item).unwrap();
    assert_eq!(j.work_due(now - chrono::Duration::seconds(1)).unwrap().len(), 0);
    assert_eq!(j.work_due(now).unwrap().len(), 1);
    let lease = now + chrono::Duration::seconds(60);
    assert!(j.work_claim("r1", "w1", now, lease).unwrap());
    assert!(!j.work_claim("r1", "w2", now, lease).unwrap(), "second claim must fail");
    let item = j.work_get("r1").unwrap().unwrap();
    assert_eq!((item.status.as_str(), item.claimed_by.as_deref()), ("running", Some("w1")));
    assert_eq!(item.plan[0].action, "disable_account");
    // Held while the lease runs: not due, not cancellable; renewed only by its holder.
    assert!(j.work_due(now).unwrap().is_empty());
    assert!(!j.work_cancel("r1", now).unwrap());
    assert!(!j.work_renew("r1", "w2", lease).unwrap());
    assert!(j.work_renew("r1", "w1", lease + chrono::Duration::seconds(60)).unwrap());
    // Its worker died: once the lease ran out another worker takes it over, once.
    let later = lease + chrono::Duration::seconds(61);
    assert_eq!(j.work_due(later).unwrap().len(), 1);
    assert!(j.work_claim("r1", "w2", later, later + chrono::Duration::seconds(60)).unwrap());
    assert!(!j.work_claim("r1", "w3", later, later + chrono::Duration::seconds(60)).unwrap());
    assert!(!j.work_renew("r1", "w1", later).unwrap(), "the dead worker's lease is gone");
    let far = later + chrono::Duration::seconds(600);
    assert!(j.work_cancel("r1", far).unwrap());
    assert!(j.work_due(far).unwrap().is_empty());
}

/// A running schedule put back to wait (a mailbox conversion): pending again, due later, free
/// for any worker then; only its holder may put it back.
pub(super) fn a_running_schedule_is_requeued_only_by_its_holder(j: &dyn Journal) {
    let now = chrono::Utc::now();
    add_run(j, "r1", "u@x.test", Mode::Plan);
    j.work_add(&pending_schedule("r1", now)).unwrap();
    let lease = now + chrono::Duration::seconds(60);
    assert!(j.work_claim("r1", "w1", now, lease).unwrap());
    let at = now + chrono::Duration::seconds(30);
    assert!(!j.work_requeue("r1", "w2", at, "waiting").unwrap(), "not its holder");
    assert!(j.work_requeue("r1", "w1", at, "waiting for the conversion").unwrap());
    assert!(!j.work_requeue("r1", "w1", at, "again").unwrap(), "no longer running");
    let item = j.work_get("r1").unwrap().unwrap();
    assert_eq!((item.status.as_str(), item.claimed_by.as_deref(), item.lease_until), ("pending", None, None));
    assert_eq!((item.at.timestamp(), item.note.as_deref()), (at.timestamp(), Some("waiting for the conversion")));
    assert!(j.work_due(now).unwrap().is_empty(), "not due before its new time");
    assert_eq!(j.work_due(at).unwrap().len(), 1);
    assert!(j.work_claim("r1", "w2", at, at + chrono::Duration::seconds(60)).unwrap(), "any worker takes it then");
}

/// A pending schedule made from plan run `id`, due at `now` (an empty plan, tenant `contoso`).
pub(in crate::journal) fn pending_schedule(id: &str, now: chrono::DateTime<chrono::Utc>) -> WorkItem {
    WorkItem {
        id: id.into(),
        kind: WorkKind::Schedule,
        tenant: "contoso".into(),
        user: "jane@contoso.com".into(),
        script: "s".into(),
        script_hash: "h".into(),
        options: json!({}),
        plan: vec![],
        status: "pending".into(),
        created_at: now,
        at: now,
        decided_by: None,
        decided_at: None,
        reason: None,
        claimed_by: None,
        applied_run_id: None,
        note: None,
        policy: None,
        requested_by: None,
        decided_os: None,
        lease_until: None,
    }
}
