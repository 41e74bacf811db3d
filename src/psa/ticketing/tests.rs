//! Ticketing and outbox delivery over an in-memory journal and a fake PSA.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::*;
use crate::journal::{NewRun, SqliteJournal};
use crate::psa::fake::FakePsa;
use crate::psa::outbox::deliver;

fn setup(mode: Mode, opts: TicketingOptions) -> (tokio::runtime::Runtime, Arc<FakePsa>, Arc<dyn Journal>, Arc<Ticketing>) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open_in_memory().unwrap());
    let psa = Arc::new(FakePsa::default());
    let t = next_run(&rt, &psa, &journal, "r1", mode, opts);
    (rt, psa, journal, t)
}

/// Another run of the same user in the same journal.
fn next_run(
    rt: &tokio::runtime::Runtime,
    psa: &Arc<FakePsa>,
    journal: &Arc<dyn Journal>,
    run_id: &str,
    mode: Mode,
    opts: TicketingOptions,
) -> Arc<Ticketing> {
    journal
        .create_run(&NewRun {
            run_id: run_id.into(),
            tenant: "t".into(),
            user: "lee@contoso.test".into(),
            script: "default.rhai".into(),
            script_hash: "h".into(),
            mode,
            options: json!({}),
            started_at: chrono::Utc::now(),
        })
        .unwrap();
    Ticketing::new(psa.clone(), journal.clone(), rt.handle().clone(), "t", run_id, "lee@contoso.test", "default.rhai", mode, opts)
}

fn step(id: &str, phase: &str, status: StepStatus) -> StepReport {
    StepReport {
        id: id.into(),
        phase: phase.into(),
        action: "disable_account".into(),
        directory: "cloud".into(),
        target: "lee@contoso.test".into(),
        target_id: "u1".into(),
        status,
        detail: "sign-in blocked".into(),
        required: true,
    }
}

#[test]
fn a_run_opens_a_ticket_adds_one_note_per_phase_then_the_summary_and_closes_it() {
    let (_rt, psa, journal, t) = setup(Mode::Apply, TicketingOptions::default());
    t.start();
    t.phase_done("lock", &[step("s001", "lock", StepStatus::Done), step("s002", "lock", StepStatus::AlreadyDone)]);
    t.phase_done("cleanup", &[step("s003", "cleanup", StepStatus::Skipped)]);
    let steps = [
        step("s001", "lock", StepStatus::Done),
        step("s002", "lock", StepStatus::AlreadyDone),
        step("s003", "cleanup", StepStatus::Skipped),
    ];
    let (ticket, messages) = t.finish(RunStatus::Succeeded, &steps, None);
    let ticket = ticket.expect("ticket recorded on the run");
    assert_eq!(journal.run_ticket("r1").unwrap().as_deref(), Some(ticket.as_str()));
    let fake = psa.ticket(&ticket).unwrap();
    assert_eq!(fake.summary, "Offboarding: lee@contoso.test");
    assert_eq!(fake.status, Some(TicketStatus::Completed));
    assert_eq!(fake.notes.len(), 3, "{:#?}", fake.notes);
    assert!(fake.notes[0].starts_with("[offboard-host run r1 phase lock s001]\nPhase 'lock' for lee@contoso.test: 2 step(s): 1 done, 1 already done\n- s001 disable_account"));
    assert!(fake.notes[1].starts_with("[offboard-host run r1 phase cleanup s003]"));
    assert!(fake.notes[2].starts_with("[offboard-host run r1 summary]") && fake.notes[2].contains("succeeded. 3 step(s)"));
    assert!(journal.outbox_items(Some("t"), true).unwrap().is_empty());
    assert!(messages.iter().any(|m| m.contains("has every note")), "{messages:?}");
}

#[test]
fn a_failed_run_or_on_success_review_leaves_the_ticket_for_review() {
    let (_rt, psa, _j, t) = setup(Mode::Apply, TicketingOptions::default());
    t.start();
    let (ticket, _) = t.finish(RunStatus::Failed, &[step("s001", "lock", StepStatus::Failed)], None);
    let fake = psa.ticket(&ticket.unwrap()).unwrap();
    assert_eq!(fake.status, Some(TicketStatus::NeedsReview));
    assert!(fake.notes[0].contains("Failed: s001 disable_account"), "{}", fake.notes[0]);

    let (_rt, psa, _j, t) = setup(Mode::Apply, TicketingOptions { existing_ticket: None, close_on_success: false });
    t.start();
    let (ticket, _) = t.finish(RunStatus::Succeeded, &[step("s001", "lock", StepStatus::Done)], None);
    assert_eq!(psa.ticket(&ticket.unwrap()).unwrap().status, Some(TicketStatus::NeedsReview));
}

#[test]
fn an_existing_ticket_is_continued_not_opened() {
    let (_rt, psa, journal, t) = setup(Mode::Apply, TicketingOptions { existing_ticket: Some("100".into()), close_on_success: true });
    psa.tickets.lock().unwrap().push(crate::psa::fake::FakeTicket { id: "100".into(), ..Default::default() });
    t.start();
    t.phase_done("lock", &[step("s001", "lock", StepStatus::Done)]);
    let (ticket, _) = t.finish(RunStatus::Succeeded, &[step("s001", "lock", StepStatus::Done)], None);
    assert_eq!(ticket.as_deref(), Some("100"));
    assert_eq!(psa.tickets.lock().unwrap().len(), 1, "no new ticket");
    let notes = psa.ticket("100").unwrap().notes;
    let heads: Vec<&str> = notes.iter().map(|n| n.lines().next().unwrap()).collect();
    assert_eq!(heads, ["[offboard-host run r1 start]", "[offboard-host run r1 phase lock s001]", "[offboard-host run r1 summary]"]);
    assert_eq!(journal.run_ticket("r1").unwrap().as_deref(), Some("100"));
}

#[test]
fn plan_mode_writes_nothing_and_says_what_it_would_write() {
    let (_rt, psa, journal, t) = setup(Mode::Plan, TicketingOptions::default());
    t.start();
    t.phase_done("lock", &[step("s001", "lock", StepStatus::Planned)]);
    let (ticket, messages) = t.finish(RunStatus::Planned, &[step("s001", "lock", StepStatus::Planned)], None);
    assert_eq!(ticket, None);
    assert_eq!(psa.requests.load(Ordering::SeqCst), 0, "plan mode sends nothing to the PSA");
    assert!(journal.outbox_items(None, false).unwrap().is_empty(), "and queues nothing");
    let all = messages.join("\n");
    for expected in [
        "open the ticket \"Offboarding: lee@contoso.test\"",
        "a note for phase 'lock': Phase 'lock'",
        "the summary note",
        "set the status to completed",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in {all}");
    }
}

#[test]
fn a_psa_outage_keeps_everything_in_the_outbox_and_costs_two_attempts_per_run() {
    let (rt, psa, journal, t) = setup(Mode::Apply, TicketingOptions::default());
    psa.down.store(true, Ordering::SeqCst);
    t.start();
    for (i, phase) in ["a", "b", "c"].iter().enumerate() {
        t.phase_done(phase, &[step(&format!("s00{i}"), phase, StepStatus::Done)]);
    }
    let before_finish = psa.requests.load(Ordering::SeqCst);
    let (ticket, messages) = t.finish(RunStatus::Succeeded, &[], None);
    assert_eq!(ticket, None);
    // The first phase: one contact look-up and one delivery attempt, whose unclear 503 is looked
    // up at once (the ticket may have been opened); later phases: none; finish: one attempt, a
    // look-up first (it was attempted before), which fails and stops the delivery.
    assert_eq!(before_finish, 3);
    assert_eq!(psa.requests.load(Ordering::SeqCst), 4);
    let pending = journal.outbox_items(Some("t"), true).unwrap();
    assert_eq!(pending.len(), 7, "create, in progress, 3 notes, summary, final status");
    assert!(messages.iter().any(|m| m.contains("7 item(s)") && m.contains("outbox flush --tenant t")), "{messages:?}");

    // The PSA is back: one delivery brings everything, in order, once.
    psa.down.store(false, Ordering::SeqCst);
    let d = rt.block_on(deliver(psa.as_ref(), journal.as_ref(), "t"));
    assert_eq!((d.delivered, d.pending, d.error.is_none()), (7, 0, true), "{d:?}");
    let ticket = journal.run_ticket("r1").unwrap().expect("ticket");
    let fake = psa.ticket(&ticket).unwrap();
    let heads: Vec<&str> = fake.notes.iter().map(|n| n.lines().next().unwrap()).collect();
    assert_eq!(
        heads,
        [
            "[offboard-host run r1 phase a s000]",
            "[offboard-host run r1 phase b s001]",
            "[offboard-host run r1 phase c s002]",
            "[offboard-host run r1 summary]"
        ]
    );
    assert_eq!(fake.status, Some(TicketStatus::Completed));
    let again = rt.block_on(deliver(psa.as_ref(), journal.as_ref(), "t"));
    assert_eq!((again.delivered, again.pending), (0, 0));
}

#[test]
fn a_note_whose_answer_was_lost_is_found_by_its_marker_and_not_posted_twice() {
    let (rt, psa, journal, t) = setup(Mode::Apply, TicketingOptions::default());
    t.start();
    psa.lose_next_note_reply.store(true, Ordering::SeqCst);
    t.phase_done("lock", &[step("s001", "lock", StepStatus::Done)]);
    let pending = journal.outbox_items(Some("t"), true).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert!(pending[0].last_error.as_deref().unwrap_or_default().contains("503"));

    let d = rt.block_on(deliver(psa.as_ref(), journal.as_ref(), "t"));
    assert_eq!((d.delivered, d.found_already), (1, 1), "{d:?}");
    let ticket = journal.run_ticket("r1").unwrap().unwrap();
    let notes = psa.ticket(&ticket).unwrap().notes;
    assert_eq!(notes.iter().filter(|n| n.contains("[offboard-host run r1 phase lock s001]")).count(), 1, "{notes:#?}");
}

#[test]
fn a_run_with_to_dos_lists_them_and_leaves_the_ticket_for_review() {
    let (_rt, psa, _j, t) = setup(Mode::Apply, TicketingOptions::default());
    t.start();
    let mut todo = step("s002", "cleanup", StepStatus::NeedsAction);
    todo.action = "remove_group_membership".into();
    todo.detail = "in on-premises AD (offboard-host has no AD access for this client): remove lee from the group Sales".into();
    let mut unsure = step("s003", "final", StepStatus::Unconfirmed);
    unsure.action = "notify_supervisor".into();
    unsure.detail = "sent; accepted, but it could not be read back".into();
    let steps = [step("s001", "lock", StepStatus::Done), todo, unsure];
    let (ticket, _) = t.finish(RunStatus::Succeeded, &steps, None);
    let fake = psa.ticket(&ticket.unwrap()).unwrap();
    assert_eq!(fake.status, Some(TicketStatus::NeedsReview), "to-dos keep the ticket open");
    let summary = fake.notes.last().unwrap();
    assert!(summary.contains("1 done, 1 unconfirmed, 1 to do by hand"), "{summary}");
    assert!(summary.contains("To do by hand (1):\n- [ ] s002 remove_group_membership lee@contoso.test: in on-premises AD"), "{summary}");
    assert!(summary.contains("Unconfirmed: s003 notify_supervisor"), "{summary}");
    assert!(summary.contains("Leaving the ticket for review."), "{summary}");
}

#[test]
fn a_ticket_whose_creation_answer_was_lost_is_found_by_its_marker_not_opened_twice() {
    let (_rt, psa, journal, t) = setup(Mode::Apply, TicketingOptions::default());
    psa.lose_next_create_reply.store(true, Ordering::SeqCst);
    t.start();
    t.phase_done("lock", &[step("s001", "lock", StepStatus::Done)]);
    let (ticket, _) = t.finish(RunStatus::Succeeded, &[step("s001", "lock", StepStatus::Done)], None);
    assert_eq!(psa.tickets.lock().unwrap().len(), 1, "one ticket");
    assert_eq!(ticket.as_deref(), Some("100"));
    assert_eq!(journal.run_ticket("r1").unwrap().as_deref(), Some("100"));
    assert_eq!(psa.ticket("100").unwrap().notes.len(), 2, "the phase note and the summary");
}

#[test]
fn a_run_with_nothing_to_change_writes_no_ticket_unless_it_finishes_an_unfinished_one() {
    let (rt, psa, journal, t) = setup(Mode::Apply, TicketingOptions::default());
    t.start();
    t.phase_done("lock", &[step("s001", "lock", StepStatus::AlreadyDone)]);
    let (ticket, messages) = t.finish(RunStatus::Succeeded, &[step("s001", "lock", StepStatus::AlreadyDone)], None);
    assert_eq!(ticket, None);
    assert!(psa.tickets.lock().unwrap().is_empty() && journal.outbox_items(None, false).unwrap().is_empty());
    assert!(messages.iter().any(|m| m.contains("nothing to change: no ticket was written")), "{messages:?}");

    // r2 is killed after its first phase: r3, with nothing left to change, adds its summary to
    // r2's ticket and sets the final status; r4 then writes nothing.
    let r2 = next_run(&rt, &psa, &journal, "r2", Mode::Apply, TicketingOptions::default());
    r2.start();
    r2.phase_done("lock", &[step("s001", "lock", StepStatus::Done)]);
    let ticket = journal.run_ticket("r2").unwrap().expect("r2's ticket");
    let r3 = next_run(&rt, &psa, &journal, "r3", Mode::Apply, TicketingOptions::default());
    r3.start();
    r3.phase_done("lock", &[step("s001", "lock", StepStatus::AlreadyDone)]);
    let (t3, _) = r3.finish(RunStatus::Succeeded, &[step("s001", "lock", StepStatus::AlreadyDone)], None);
    assert_eq!(t3.as_deref(), Some(ticket.as_str()));
    let fake = psa.ticket(&ticket).unwrap();
    assert_eq!(psa.tickets.lock().unwrap().len(), 1);
    assert_eq!(fake.status, Some(TicketStatus::Completed));
    assert_eq!(fake.notes.len(), 2, "r2's phase note, r3's summary only: {:#?}", fake.notes);
    assert!(fake.notes[1].starts_with("[offboard-host run r3 summary]") && fake.notes[1].contains("Re-checked: nothing left to change."));
    journal.finish_run("r3", RunStatus::Succeeded, &json!({})).unwrap();
    let writes = psa.writes.load(Ordering::SeqCst);
    let r4 = next_run(&rt, &psa, &journal, "r4", Mode::Apply, TicketingOptions::default());
    r4.start();
    let (t4, _) = r4.finish(RunStatus::Succeeded, &[step("s001", "lock", StepStatus::AlreadyDone)], None);
    assert_eq!((t4, psa.writes.load(Ordering::SeqCst)), (None, writes), "r3 closed the ticket: nothing to add");
}

#[test]
fn a_run_continues_the_ticket_of_an_earlier_run_even_while_its_creation_is_queued() {
    let (rt, psa, journal, r1) = setup(Mode::Apply, TicketingOptions::default());
    psa.down.store(true, Ordering::SeqCst);
    r1.start();
    r1.phase_done("lock", &[step("s001", "lock", StepStatus::Done)]);
    let _ = r1.finish(RunStatus::Failed, &[step("s002", "cleanup", StepStatus::Failed)], None);
    // Still down: r2 cannot know r1's ticket and queues a creation that takes it later.
    let r2 = next_run(&rt, &psa, &journal, "r2", Mode::Apply, TicketingOptions::default());
    r2.start();
    r2.phase_done("cleanup", &[step("s002", "cleanup", StepStatus::Done)]);
    let (t2, _) = r2.finish(RunStatus::Succeeded, &[step("s002", "cleanup", StepStatus::Done)], None);
    assert_eq!(t2, None);
    psa.down.store(false, Ordering::SeqCst);
    let d = rt.block_on(deliver(psa.as_ref(), journal.as_ref(), "t"));
    assert_eq!((d.pending, d.error), (0, None));
    assert_eq!(psa.tickets.lock().unwrap().len(), 1, "one offboarding, one ticket");
    let (t1, t2) = (journal.run_ticket("r1").unwrap(), journal.run_ticket("r2").unwrap());
    assert!(t1.is_some() && t1 == t2, "{t1:?} {t2:?}");
    let heads: Vec<String> = psa.ticket(&t1.unwrap()).unwrap().notes.iter().map(|n| n.lines().next().unwrap().to_string()).collect();
    assert_eq!(heads.len(), 5, "{heads:#?}");
    assert!(heads[2] == "[offboard-host run r2 start]" && heads[4] == "[offboard-host run r2 summary]", "{heads:#?}");
}
