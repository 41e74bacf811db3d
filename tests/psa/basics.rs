//! A ticket per offboarding, a note per phase, and what a PSA that misbehaves does to them.

use std::path::Path;

use serde_json::Value;

use crate::*;

#[test]
fn each_psa_gets_a_ticket_with_a_note_per_phase_the_summary_and_the_final_status() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        let o = bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json"], &[]);
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        let r = json(&o);
        assert_eq!(r["status"], "succeeded", "{tenant}");
        let run_id = r["run_id"].as_str().expect("run id");
        let ticket = r["ticket"].as_str().unwrap_or_else(|| panic!("{tenant}: no ticket in the report: {r}")).to_string();
        let contact_step = r["steps"].as_array().unwrap().iter().find(|s| s["action"] == "disable_psa_contact").expect("contact step");
        assert_eq!(contact_step["status"], "done", "{tenant}: {contact_step}");

        let st = psa_state(home.path());
        let s = sim(&st, tenant);
        assert_eq!(s.tickets.len(), 1, "{tenant}");
        let t = &s.tickets[0];
        assert_eq!(t.id.to_string(), ticket);
        assert_eq!(t.status, REVIEW, "{tenant}");
        assert_todo_listed(&t.notes.iter().map(|n| n.text.clone()).collect::<Vec<_>>(), tenant);
        assert_eq!(t.summary, format!("Offboarding: {LEAVER}"));
        assert_eq!(t.company_id, s.company_id, "{tenant}: the ticket is in the client's company");
        assert!(t.notes.iter().all(|n| n.internal), "{tenant}: notes are internal");
        assert_heads(&note_heads(&st, tenant, &ticket), &expected_heads(run_id), tenant);
        // The cleanup note lists its steps with their results, the contact step included.
        let cleanup = t.notes.iter().find(|n| n.text.contains(" phase mailbox_and_cleanup ")).unwrap();
        assert!(cleanup.text.contains("disable_psa_contact") && cleanup.text.contains(": done ("), "{tenant}: {}", cleanup.text);
        assert!(t.notes.last().unwrap().text.contains("succeeded."), "{tenant}");
        // The leaver's contact in the client's company is inactive; the same e-mail elsewhere is not.
        for c in s.contacts.iter().filter(|c| c.email == LEAVER) {
            assert_eq!(c.active, c.company_id != s.company_id, "{tenant}: {c:?}");
        }
        // The run is recorded with its ticket in the journal.
        let shown = bin(home.path(), &["runs", "show", run_id, "--json"], &[]);
        assert_eq!(json(&shown)["report"]["ticket"].as_str(), Some(ticket.as_str()), "{tenant}");

        // A second run finds nothing to change: no second ticket, no duplicate note.
        let before = st.stats.writes;
        let o = bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes"], &[]);
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to change"), "{tenant}: {}", text(&o));
        let st2 = psa_state(home.path());
        assert_eq!(st2.stats.writes, before, "{tenant}: the second run wrote to the PSA");
        assert_eq!(sim(&st2, tenant).tickets.len(), 1);
        assert_heads(&note_heads(&st2, tenant, &ticket), &expected_heads(run_id), tenant);
    }
}

#[test]
fn a_psa_outage_during_the_run_leaves_the_offboarding_complete_and_the_notes_in_the_outbox_until_flush() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        // The PSA takes two writes (open the ticket, set it in progress), then answers 503.
        let o = bin(
            home.path(),
            &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json", "--set", "disable_psa_contact=false"],
            &[("OFFBOARD_DEMO_PSA_DOWN_AFTER", "2")],
        );
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        let r = json(&o);
        assert_eq!(r["status"], "succeeded", "{tenant}: the offboarding is not blocked by the PSA");
        let steps = r["steps"].as_array().unwrap();
        assert!(steps.iter().filter(|s| s["status"] == "done").count() >= 10, "{tenant}: {r}");
        let run_id = r["run_id"].as_str().unwrap().to_string();
        let ticket = r["ticket"].as_str().expect("the ticket was opened before the outage").to_string();
        assert!(r["messages"].as_array().unwrap().iter().any(|m| m.as_str().unwrap().contains("wait in the outbox")), "{tenant}: {r}");

        let st = psa_state(home.path());
        assert!(st.stats.outages > 0, "{tenant}: the outage knob did not trigger");
        assert!(note_heads(&st, tenant, &ticket).is_empty(), "{tenant}: no note got through the outage");
        let pending = json(&bin(home.path(), &["outbox", "list", "--tenant", tenant, "--json"], &[]));
        let pending = pending.as_array().unwrap();
        assert_eq!(pending.len(), PHASES.len() + 2, "{tenant}: a note per phase, the summary, the final status: {pending:#?}");
        assert!(pending.iter().all(|i| i["run_id"] == run_id.as_str() && i["delivered"] == false));

        // The PSA is back: flush delivers everything once, in order.
        let o = bin(home.path(), &["outbox", "flush", "--tenant", tenant], &[]);
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        let delivered = format!("delivered {}", PHASES.len() + 2);
        assert!(String::from_utf8_lossy(&o.stdout).contains(&delivered), "{tenant}: {}", text(&o));
        let st = psa_state(home.path());
        assert_heads(&note_heads(&st, tenant, &ticket), &expected_heads(&run_id), tenant);
        assert_eq!(sim(&st, tenant).tickets[0].status, REVIEW);
        assert!(json(&bin(home.path(), &["outbox", "list", "--json"], &[])).as_array().unwrap().is_empty());

        // Flushing again sends nothing and duplicates nothing.
        let writes = st.stats.writes;
        let o = bin(home.path(), &["outbox", "flush", "--tenant", tenant], &[]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let st = psa_state(home.path());
        assert_eq!(st.stats.writes, writes, "{tenant}");
        assert_heads(&note_heads(&st, tenant, &ticket), &expected_heads(&run_id), tenant);
    }
}

#[test]
fn a_psa_down_from_the_start_does_not_block_the_offboarding_and_the_ticket_is_opened_on_flush() {
    let home = tempfile::tempdir().expect("home");
    let tenant = "demo-autotask";
    let down = [("OFFBOARD_DEMO_PSA_DOWN_AFTER", "0")];
    let o = bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json"], &down);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = json(&o);
    assert_eq!(r["status"], "succeeded", "{r}");
    assert!(r["ticket"].is_null(), "no ticket could be opened: {r}");
    let contact = r["steps"].as_array().unwrap().iter().find(|s| s["action"] == "disable_psa_contact").unwrap();
    assert_eq!(contact["status"], "skipped", "{contact}");
    assert!(contact["detail"].as_str().unwrap().starts_with("not checked: Autotask"), "{contact}");
    let graph = offboard_host::demo::read_stats(&state_path(home.path())).expect("stats");
    assert!(graph.writes_applied >= 10, "the directory steps ran: {graph:?}");
    let pending = json(&bin(home.path(), &["outbox", "list", "--json"], &[]));
    let kinds: Vec<&str> = pending.as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    let mut expected = vec!["create_ticket", "status"];
    expected.extend(std::iter::repeat_n("note", PHASES.len() + 1));
    expected.push("status");
    assert_eq!(kinds, expected);

    // Still down: flush keeps everything and says so (exit 5).
    let o = bin(home.path(), &["outbox", "flush"], &down);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(psa_state(home.path()).autotask.tickets.is_empty());

    let o = bin(home.path(), &["outbox", "flush"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let st = psa_state(home.path());
    assert_eq!(st.autotask.tickets.len(), 1);
    let t = &st.autotask.tickets[0];
    assert_eq!(t.status, REVIEW);
    assert_heads(&note_heads(&st, tenant, &t.id.to_string()), &expected_heads(r["run_id"].as_str().unwrap()), tenant);

    // The contact step was only skipped: the next run deactivates it.
    let o = bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json"], &[]);
    let r2 = json(&o);
    let contact = r2["steps"].as_array().unwrap().iter().find(|s| s["action"] == "disable_psa_contact").unwrap();
    assert_eq!(contact["status"], "done", "{contact}");
}

#[test]
fn a_throttling_psa_is_waited_out_and_gets_every_note_once() {
    let home = tempfile::tempdir().expect("home");
    let tenant = "demo-cw";
    let env = [("OFFBOARD_DEMO_PSA_THROTTLE_EVERY", "2"), ("OFFBOARD_DEMO_RETRY_AFTER", "0")];
    let o = bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = json(&o);
    let ticket = r["ticket"].as_str().expect("ticket");
    let st = psa_state(home.path());
    assert!(st.stats.throttled >= 5, "the knob did not throttle: {:?}", st.stats);
    assert_heads(&note_heads(&st, tenant, ticket), &expected_heads(r["run_id"].as_str().unwrap()), tenant);
    assert_eq!(st.connectwise.tickets[0].status, REVIEW);
    assert!(json(&bin(home.path(), &["outbox", "list", "--json"], &[])).as_array().unwrap().is_empty());
}

#[test]
fn bad_psa_credentials_stop_the_run_before_any_directory_change() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        let o = bin(
            home.path(),
            &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes"],
            &[("OFFBOARD_DEMO_PSA_SECRET", "not-the-secret")],
        );
        assert_eq!(o.status.code(), Some(5), "{tenant}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("authentication failed"), "{tenant}: {err}");
        assert!(!err.contains("not-the-secret"), "{tenant}: the secret is never printed");
        let graph = offboard_host::demo::read_stats(&state_path(home.path())).expect("stats");
        assert_eq!(graph.writes, 0, "{tenant}: a directory write was sent");
        let st = psa_state(home.path());
        assert_eq!(st.stats.writes, 0, "{tenant}");
        assert!(st.stats.auth_failures > 0, "{tenant}: the simulator never saw the bad credentials");
    }
}

#[test]
fn plan_writes_nothing_to_the_psa_and_shows_what_it_would_write() {
    let home = tempfile::tempdir().expect("home");
    let o = bin(home.path(), &["plan", "default.rhai", "--user", LEAVER, "--tenant", "demo-autotask", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = json(&o);
    let messages: Vec<&str> = r["messages"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let all = messages.join("\n");
    assert!(all.contains("would write to a new autotask ticket: open the ticket \"Offboarding: leaver.cloud@contoso.test\""), "{all}");
    assert_eq!(messages.iter().filter(|m| m.contains("a note for phase")).count(), PHASES.len(), "{all}");
    let contact = r["steps"].as_array().unwrap().iter().find(|s| s["action"] == "disable_psa_contact").unwrap();
    assert_eq!(contact["status"], "planned", "{contact}");
    let st = psa_state(home.path());
    assert!(st.stats.requests > 0, "the plan read the PSA");
    assert_eq!(st.stats.writes, 0);
    assert!(st.autotask.tickets.is_empty());
}

#[test]
fn run_with_ticket_continues_an_existing_ticket() {
    let home = tempfile::tempdir().expect("home");
    let first = json(&bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", "demo-halo", "--yes", "--json"], &[]));
    let ticket = first["ticket"].as_str().expect("ticket").to_string();
    let o = bin(
        home.path(),
        &["run", "default.rhai", "--user", "leaver.synced@contoso.test", "--tenant", "demo-halo", "--yes", "--json", "--ticket", &ticket],
        &[],
    );
    let second = json(&o);
    assert_eq!(second["ticket"].as_str(), Some(ticket.as_str()), "{}", text(&o));
    let st = psa_state(home.path());
    assert_eq!(st.halo.tickets.len(), 1, "no second ticket");
    let heads = note_heads(&st, "demo-halo", &ticket);
    let run2 = second["run_id"].as_str().unwrap();
    assert!(heads.iter().any(|h| h == &format!("[offboard-host run {run2} start]")), "{heads:#?}");
    assert!(heads.last().unwrap().starts_with(&format!("[offboard-host run {run2} summary]")), "{heads:#?}");

    let bad = bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", "demo", "--ticket", "12"], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("has no PSA configured"));
}

#[test]
fn restore_reactivates_the_contact_in_each_psa() {
    for tenant in TENANTS {
        let home = tempfile::tempdir().expect("home");
        let o = bin(home.path(), &["run", "default.rhai", "--user", LEAVER, "--tenant", tenant, "--yes", "--json"], &[]);
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        let run_id = json(&o)["run_id"].as_str().expect("run id").to_string();
        let ours = |home: &Path| {
            let st = psa_state(home);
            let s = sim(&st, tenant);
            s.contacts.iter().find(|c| c.email == LEAVER && c.company_id == s.company_id).cloned().expect("the leaver's contact")
        };
        assert!(!ours(home.path()).active, "{tenant}");
        let o = bin(home.path(), &["restore", &run_id, "--yes", "--json"], &[]);
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        let r = json(&o);
        let s = r["steps"].as_array().unwrap().iter().find(|s| s["action"] == "reactivate_psa_contact").expect("reactivate step");
        assert_eq!((s["status"].as_str(), s["directory"].as_str()), (Some("done"), Some("psa")), "{tenant}: {s}");
        assert!(ours(home.path()).active, "{tenant}: the contact is active again");
        // The same e-mail in another company was never touched.
        let st = psa_state(home.path());
        let other = sim(&st, tenant);
        assert!(other.contacts.iter().filter(|c| c.email == LEAVER).all(|c| c.active), "{tenant}");
        // Restoring again: the contact is already active, nothing is written to the PSA.
        let before = st.stats.writes;
        let o = bin(home.path(), &["restore", &run_id, "--yes", "--json"], &[]);
        assert_eq!(o.status.code(), Some(0), "{tenant}: {}", text(&o));
        assert_eq!(psa_state(home.path()).stats.writes, before, "{tenant}: the second restore wrote to the PSA");
    }
}

#[test]
fn the_scripts_warnings_reach_the_ticket() {
    let home = tempfile::tempdir().expect("home");
    let script = home.path().join("warn.rhai");
    std::fs::write(
        &script,
        "let u = graph::get_user(USER);\nwarn(\"keep the laptop: legal asked for it\");\nphase(\"lock\", || graph::disable_account(u));\n",
    )
    .unwrap();
    let o = bin(home.path(), &["run", script.to_str().unwrap(), "--user", LEAVER, "--tenant", "demo-halo", "--yes", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let st = psa_state(home.path());
    let t = &sim(&st, "demo-halo").tickets[0];
    let summary = t.notes.iter().find(|n| n.text.contains(" summary]")).expect("summary note");
    assert!(summary.text.contains("Warnings (1):\n- keep the laptop: legal asked for it"), "{}", summary.text);
}
