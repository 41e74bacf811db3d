//! The journal test suite, run against every back end: SQLite always, PostgreSQL when a test
//! database is there (`tests/postgres/setup.sh` starts one; `test.sh` always does).
//!
//! The PostgreSQL URL comes from `OFFBOARD_TEST_PG_URL`, else from the file `setup.sh` writes,
//! `$PG_DIR/url` (`PG_DIR` defaults to `/tmp/offboard-host-pg`). Each test gets a schema of its own
//! in that database, so tests run in parallel and again without cleaning up. With no URL the
//! PostgreSQL variants say they are skipped and pass; with `OFFBOARD_TEST_PG_REQUIRED=1` (set by
//! test.sh), or a URL given in the environment, a missing or unreachable database FAILS them.

pub(super) mod audit;
pub(super) mod console_sessions;
pub(super) mod outbox;
pub(super) mod request_keys;
pub(super) mod runs;
pub(super) mod waves;

use super::PgJournal;

const DEFAULT_PG_DIR: &str = "/tmp/offboard-host-pg";

fn pg_required() -> bool {
    std::env::var("OFFBOARD_TEST_PG_REQUIRED").is_ok_and(|v| v.trim() == "1")
}

/// The test database's URL and whether it was asked for explicitly (the environment); `None`:
/// skip (only when not required).
pub(crate) fn pg_test_url() -> Option<(String, bool)> {
    if let Some(u) = std::env::var("OFFBOARD_TEST_PG_URL").ok().filter(|u| !u.trim().is_empty()) {
        return Some((u.trim().to_string(), true));
    }
    let dir = std::env::var("PG_DIR").unwrap_or_else(|_| DEFAULT_PG_DIR.into());
    let from_file =
        std::fs::read_to_string(std::path::Path::new(&dir).join("url")).ok().map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    match from_file {
        Some(u) => Some((u, false)),
        None if pg_required() => {
            panic!("OFFBOARD_TEST_PG_REQUIRED=1 but no PostgreSQL test database: set OFFBOARD_TEST_PG_URL or run tests/postgres/setup.sh")
        }
        None => {
            eprintln!("skipped: no PostgreSQL test database (run tests/postgres/setup.sh, or set OFFBOARD_TEST_PG_URL)");
            None
        }
    }
}

/// A journal on the test database with its tables in `schema` (shared by the journals of one
/// test that open the same name); `None`: skip.
pub(crate) fn pg_journal_in(schema: &str) -> Option<PgJournal> {
    let (url, explicit) = pg_test_url()?;
    match PgJournal::open_in_schema(&url, Some(schema)) {
        Ok(j) => Some(j),
        Err(e) if explicit || pg_required() => panic!("the PostgreSQL test database does not answer: {e}"),
        Err(e) => {
            eprintln!("skipped: the PostgreSQL test database from {DEFAULT_PG_DIR}/url does not answer: {e}");
            None
        }
    }
}

/// A schema name no other test uses.
pub(crate) fn fresh_schema() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

/// A journal in a fresh schema of the test database; `None`: skip.
pub(super) fn pg_journal() -> Option<PgJournal> {
    pg_journal_in(&fresh_schema())
}

/// One `#[test]` per back end for each suite function (`module::name`, taking `&dyn Journal`).
macro_rules! on_every_backend {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$module::$name(&crate::journal::SqliteJournal::open_in_memory().expect("open"));
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                if let Some(j) = super::pg_journal() {
                    super::$module::$name(&j);
                }
            })*
        }
    };
}

on_every_backend!(
    runs::full_lifecycle_round_trips_everything_in_order,
    runs::record_step_after_intent_keeps_intent_and_outcome,
    runs::missing_steps_and_runs_are_reported,
    runs::list_runs_newest_first_with_step_counts,
    runs::runs_are_found_by_user_text_and_time_range,
    runs::last_write_finds_the_latest_apply_intent,
    runs::lock_is_exclusive_per_tenant_and_case_insensitive_user,
    runs::running_run_reads_as_running_only_while_its_lock_is_held_by_a_live_pid,
    outbox::the_last_ticketed_run_of_a_user_is_the_latest_apply_run_with_a_ticket_or_a_queued_one,
    outbox::outbox_keeps_order_dedups_markers_and_tracks_delivery,
    outbox::runs_remember_their_ticket,
    outbox::a_claim_succeeds_once,
    outbox::a_running_schedule_is_requeued_only_by_its_holder,
    audit::console_actions_are_kept_newest_first,
    waves::a_waves_steps_intents_and_outcomes_are_recorded_together,
    waves::a_wave_with_an_unknown_step_records_none_of_its_intents,
    request_keys::a_request_key_is_claimed_once_answered_once_and_scoped,
    request_keys::a_stale_claim_is_taken_over_only_by_the_same_request,
    request_keys::old_answered_keys_are_pruned_and_nothing_else,
    console_sessions::console_sessions_are_kept_until_they_end_taken_once_and_bounded,
);
