//! One offboarding, one ticket: a run continues the ticket of the same user's killed or failed
//! run, a ticket whose creation answer was lost is found rather than opened twice, a re-run with
//! nothing to change writes nothing, the outbox goes out before a run's own writes, and the
//! report counts the PSA's requests and writes.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::*;

/// `run --yes --json` for the leaver: the exit code and the report.
fn apply(home: &Path, tenant: &str, env: &[(&str, &str)]) -> (Option<i32>, Value) {
    let o = bin(home, &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json"], env);
    (o.status.code(), json(&o))
}

fn run_id(r: &Value) -> String {
    r["run_id"].as_str().expect("run id").to_string()
}

/// The tenant's only ticket (there must be one): its id, status and full note texts.
fn only_ticket(home: &Path, tenant: &str) -> (String, String, Vec<String>) {
    let st = psa_state(home);
    let tickets = &sim(&st, tenant).tickets;
    assert_eq!(tickets.len(), 1, "{tenant}: one offboarding, one ticket: {:#?}", tickets.iter().map(|t| t.id).collect::<Vec<_>>());
    let t = &tickets[0];
    (t.id.to_string(), t.status.clone(), t.notes.iter().map(|n| n.text.clone()).collect())
}

fn heads(notes: &[String]) -> Vec<String> {
    notes.iter().map(|n| n.lines().next().unwrap_or_default().to_string()).collect()
}

fn pending(home: &Path) -> usize {
    json(&bin(home, &["outbox", "list", "--json"], &[])).as_array().expect("outbox list").len()
}

/// The second run's notes on the first run's ticket: its start note (saying whom it continues),
/// a note per phase, then its summary.
fn assert_continued(notes: &[String], first: &str, second: &str, why: &str, what: &str) {
    let h = heads(notes);
    let start = format!("[offboard-host run {second} start]");
    let at = h.iter().position(|x| *x == start).unwrap_or_else(|| panic!("{what}: no start note of {second}: {h:#?}"));
    assert!(h[..at].iter().all(|x| x.starts_with(&format!("[offboard-host run {first} "))), "{what}: {h:#?}");
    assert!(notes[at].contains(&format!("It continues run {first}, which ended {why}")), "{what}: {}", notes[at]);
    assert_heads(&h[at + 1..], &expected_heads(second), what);
}

#[test]
fn a_failed_run_and_the_run_that_finishes_it_share_one_ticket_in_each_psa() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        // The password reset (a required step) fails: the run stops after its first phases.
        let fail = [("OFFBOARD_DEMO_FAULT_EVERY", "1"), ("OFFBOARD_DEMO_FAULT_MATCH", "passwordProfile")];
        let (code, r1) = apply(home.path(), tenant, &fail);
        assert_ne!(code, Some(0), "{tenant}: {r1}");
        assert_eq!(r1["status"], "aborted", "{tenant}: {r1}");
        let ticket = r1["ticket"].as_str().expect("the failed run's ticket").to_string();

        let (code, r2) = apply(home.path(), tenant, &[]);
        assert_eq!(code, Some(0), "{tenant}: {r2}");
        assert_eq!(r2["ticket"].as_str(), Some(ticket.as_str()), "{tenant}: the re-run continues the ticket");
        let (id, status, notes) = only_ticket(home.path(), tenant);
        assert_eq!(id, ticket);
        assert_eq!(status, REVIEW, "{tenant}");
        assert_continued(&notes, &run_id(&r1), &run_id(&r2), "aborted", tenant);
    }
}

#[test]
fn a_killed_run_is_continued_by_the_next_run_on_the_same_ticket() {
    let home = tempfile::tempdir().expect("home");
    let tenant = "demo-cw";
    let args = ["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json"];
    let mut child = cmd(home.path(), &args, &[("OFFBOARD_DEMO_LATENCY_MS", "100")]).spawn().expect("spawn");
    // Kill it once its ticket has the lock phase's note, well before the end.
    let start = Instant::now();
    loop {
        let noted = offboard_host::demo::psa::read_state(&state_path(home.path()))
            .ok()
            .is_some_and(|st| st.connectwise.tickets.iter().any(|t| t.notes.iter().any(|n| n.text.contains(" phase lock "))));
        if noted {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
        assert!(start.elapsed() < Duration::from_secs(30), "the lock phase's note never arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (ticket, status, notes) = only_ticket(home.path(), tenant);
    assert!(!heads(&notes).iter().any(|h| h.ends_with(" summary]")), "the run was not killed mid-way: {notes:#?}");
    assert_eq!(status, "In Progress");
    let first = heads(&notes)[0].split(' ').nth(2).expect("run id in the marker").to_string();

    let (code, r2) = apply(home.path(), tenant, &[]);
    assert_eq!(code, Some(0), "{r2}");
    assert_eq!(r2["ticket"].as_str(), Some(ticket.as_str()), "{r2}");
    let (_, status, notes) = only_ticket(home.path(), tenant);
    assert_eq!(status, REVIEW);
    assert_continued(&notes, &first, &run_id(&r2), "interrupted", tenant);
}

#[test]
fn a_ticket_whose_creation_answer_was_lost_is_found_not_opened_again_in_each_psa() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        let (code, r) = apply(home.path(), tenant, &[("OFFBOARD_DEMO_PSA_CREATE_LOST", "1")]);
        assert_eq!(code, Some(0), "{tenant}: {r}");
        let st = psa_state(home.path());
        assert_eq!(st.stats.lost_answers, 1, "{tenant}: the knob did not lose the answer");
        let (id, status, notes) = only_ticket(home.path(), tenant);
        assert_eq!(r["ticket"].as_str(), Some(id.as_str()), "{tenant}: {r}");
        assert_eq!(status, REVIEW, "{tenant}");
        assert_heads(&heads(&notes), &expected_heads(&run_id(&r)), tenant);
        assert_eq!(pending(home.path()), 0, "{tenant}");
    }
}

#[test]
fn a_rerun_with_nothing_to_change_writes_no_ticket_and_the_report_counts_psa_requests_and_writes_apart() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        let (code, r1) = apply(home.path(), tenant, &[]);
        assert_eq!(code, Some(0), "{tenant}: {r1}");
        // One PSA client in the whole run (--yes --json plans nothing first): its counts are the
        // simulator's, and `writes` is the directories' writes and the PSA's.
        let psa = psa_state(home.path()).stats;
        let graph = offboard_host::demo::read_stats(&state_path(home.path())).expect("stats");
        let s = &r1["stats"];
        assert_eq!(s["psa_requests"].as_u64(), Some(psa.requests), "{tenant}: {s}");
        assert_eq!(s["psa_writes"].as_u64(), Some(psa.writes), "{tenant}: {s}");
        assert!(psa.writes >= PHASES.len() as u64 + 4, "{tenant}: {psa:?}");
        assert_eq!(s["writes"].as_u64(), Some(graph.writes + psa.writes), "{tenant}: {s} {graph:?}");
        assert_eq!(s["requests"].as_u64(), Some(graph.http_requests), "{tenant}: the directories' requests only: {s} {graph:?}");

        let (code, r2) = apply(home.path(), tenant, &[]);
        assert_eq!(code, Some(0), "{tenant}: {r2}");
        for step in r2["steps"].as_array().unwrap() {
            assert!(["already_done", "skipped", "needs_action"].contains(&step["status"].as_str().unwrap()), "{tenant}: {step}");
        }
        let after = psa_state(home.path()).stats;
        assert_eq!(after.writes, psa.writes, "{tenant}: the re-run wrote to the PSA");
        assert!(r2["ticket"].is_null(), "{tenant}: {r2}");
        let s = &r2["stats"];
        assert_eq!((s["writes"].as_u64(), s["psa_writes"].as_u64()), (Some(0), Some(0)), "{tenant}: {s}");
        assert_eq!(s["psa_requests"].as_u64(), Some(after.requests - psa.requests), "{tenant}: the contact was read: {s}");
        let messages = r2["messages"].to_string();
        assert!(messages.contains("nothing to change: no ticket was written"), "{tenant}: {messages}");
        let (id, _, notes) = only_ticket(home.path(), tenant);
        assert_eq!(r1["ticket"].as_str(), Some(id.as_str()));
        assert_heads(&heads(&notes), &expected_heads(&run_id(&r1)), tenant);
    }
}

#[test]
fn the_outbox_is_delivered_at_the_start_of_the_next_run_even_with_nothing_to_change() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        // The PSA takes the ticket and its status, then is down: the notes wait in the outbox.
        // (No contact step: it would be left for the next run to do, which is not the point.)
        let no_contact = ["--set", "disable_psa_contact=false"];
        let args = ["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json", no_contact[0], no_contact[1]];
        let r1 = json(&bin(home.path(), &args, &[("OFFBOARD_DEMO_PSA_DOWN_AFTER", "2")]));
        assert_eq!(r1["status"], "succeeded", "{tenant}: {r1}");
        assert_eq!(pending(home.path()), PHASES.len() + 2, "{tenant}");

        // The PSA is back. The plan finds nothing to change: the run still goes ahead for the
        // ticket, and delivers the notes without opening another ticket.
        let o =
            bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", no_contact[0], no_contact[1]], &[]);
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("running for the PSA ticket"), "{tenant}: {}", text(&o));
        assert_eq!(pending(home.path()), 0, "{tenant}: the outbox was not flushed");
        let (id, status, notes) = only_ticket(home.path(), tenant);
        assert_eq!(r1["ticket"].as_str(), Some(id.as_str()));
        assert_eq!(status, REVIEW, "{tenant}");
        assert_heads(&heads(&notes), &expected_heads(&run_id(&r1)), tenant);
    }
}

#[test]
fn earlier_runs_items_go_out_before_the_next_runs_own() {
    let home = tempfile::tempdir().expect("home");
    let tenant = "demo-autotask";
    let (code, r1) = apply(home.path(), tenant, &[("OFFBOARD_DEMO_PSA_DOWN_AFTER", "2")]);
    assert_eq!(code, Some(0), "{r1}");
    // Another user's offboarding: its own ticket, opened after the first run's notes went out.
    let o = bin(home.path(), &["run", "default.rhai", "--user", "leaver.synced@contoso.test", "--tenant", tenant, "--yes", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r2 = json(&o);
    assert_eq!(pending(home.path()), 0);
    let st = psa_state(home.path());
    let tickets = &st.autotask.tickets;
    assert_eq!(tickets.len(), 2);
    let first = tickets.iter().find(|t| Some(t.id.to_string().as_str()) == r1["ticket"].as_str()).expect("first ticket");
    let second = tickets.iter().find(|t| Some(t.id.to_string().as_str()) == r2["ticket"].as_str()).expect("second ticket");
    assert_heads(&heads(&first.notes.iter().map(|n| n.text.clone()).collect::<Vec<_>>()), &expected_heads(&run_id(&r1)), tenant);
    // The simulator numbers tickets and notes from one counter.
    assert!(first.notes.iter().all(|n| n.id < second.id), "the first run's notes came after the second's ticket");
}
