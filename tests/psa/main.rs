//! PSA ticketing end to end: the binary against the demo tenant's simulated ConnectWise Manage,
//! Autotask and HaloPSA (one client tenant each: `demo-cw`, `demo-autotask`, `demo-halo`).
//!
//! Every test runs in its own `OFFBOARD_HOME` (journal and demo state) and reads what the
//! simulator stored afterwards, so nothing passes against an empty or untouched PSA.
//!
//! | file | what it tests |
//! |---|---|
//! | `main.rs` | the helpers |
//! | `basics.rs` | a ticket per offboarding with a note per phase; outages, throttling, credentials, plan, `--ticket`, restore |
//! | `one_ticket.rs` | one offboarding, one ticket: killed and failed runs continued, a lost creation answer, re-runs with nothing to change, the outbox flushed first, the PSA's request counts |

mod basics;
mod one_ticket;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use offboard_host::demo::psa::{read_state, PsaState, SimPsa};
use serde_json::Value;

pub(crate) const TENANTS: [&str; 3] = ["demo-cw", "demo-autotask", "demo-halo"];
pub(crate) const LEAVER: &str = "leaver.cloud@contoso.test";
/// The phases of `scripts/default.rhai`, in order.
/// The default script's phases, each with a ticket note (the mailbox phases included).
pub(crate) const PHASES: [&str; 6] = ["cut_off", "lock", "mailbox_and_cleanup", "wait_for_shared", "licenses", "final"];

/// The binary in `home`, with none of the PSA knobs of the calling environment.
pub(crate) fn cmd(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_offboard-host"));
    cmd.args(args)
        .current_dir(home)
        .env("OFFBOARD_HOME", home)
        .env_remove("OFFBOARD_CONFIG")
        .env_remove("OFFBOARD_TENANT")
        .env_remove("OFFBOARD_DEMO_PSA_SECRET")
        .env_remove("OFFBOARD_DEMO_PSA_DOWN_AFTER")
        .env_remove("OFFBOARD_DEMO_PSA_THROTTLE_EVERY")
        .env_remove("OFFBOARD_DEMO_PSA_CREATE_LOST")
        .env_remove("OFFBOARD_DEMO_PSA_PAGE_MAX")
        .env("OFFBOARD_DEMO_RETRY_BASE_MS", "10");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub(crate) fn bin(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    cmd(home, args, env).output().expect("run offboard-host")
}

pub(crate) fn text(o: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub(crate) fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

pub(crate) fn state_path(home: &Path) -> PathBuf {
    home.join("demo").join("tenant.json")
}

pub(crate) fn psa_state(home: &Path) -> PsaState {
    read_state(&state_path(home)).expect("demo state")
}

pub(crate) fn sim<'a>(st: &'a PsaState, tenant: &str) -> &'a SimPsa {
    match tenant {
        "demo-cw" => &st.connectwise,
        "demo-autotask" => &st.autotask,
        _ => &st.halo,
    }
}

/// The status a successful run leaves, in each simulator's own words.
/// The leaver stays in a dynamic group (its rule, not a removal, takes them out): a to-do for a
/// person, so the ticket is left for review instead of closed.
pub(crate) const REVIEW: &str = "Needs Review";

/// The summary note lists the to-do as a checklist item.
pub(crate) fn assert_todo_listed(notes: &[String], what: &str) {
    let summary = notes.iter().find(|n| n.contains(" summary]")).unwrap_or_else(|| panic!("{what}: no summary in {notes:#?}"));
    assert!(summary.contains("To do by hand (") && summary.contains("- [ ] ") && summary.contains("All Sales"), "{what}: {summary}");
    assert!(summary.contains("Leaving the ticket for review."), "{what}: {summary}");
}

/// The first line (the marker) of each note of the ticket.
pub(crate) fn note_heads(st: &PsaState, tenant: &str, ticket: &str) -> Vec<String> {
    let t = sim(st, tenant).tickets.iter().find(|t| t.id.to_string() == ticket).unwrap_or_else(|| panic!("{tenant}: no ticket {ticket}"));
    t.notes.iter().map(|n| n.text.lines().next().unwrap_or_default().to_string()).collect()
}

pub(crate) fn expected_heads(run_id: &str) -> Vec<String> {
    let mut heads: Vec<String> = PHASES.iter().map(|p| format!("[offboard-host run {run_id} phase {p} ")).collect();
    heads.push(format!("[offboard-host run {run_id} summary]"));
    heads
}

pub(crate) fn assert_heads(actual: &[String], expected: &[String], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: {actual:#?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(a.starts_with(e.as_str()), "{what}: note {a:?} should start with {e:?}; all: {actual:#?}");
    }
}
