//! The workflow on the PostgreSQL journal (`OFFBOARD_JOURNAL_URL`): the binary's commands share
//! one database instead of a file. Skipped without a test database (see `tests/postgres/setup.sh`),
//! failed without one under `OFFBOARD_TEST_PG_REQUIRED=1` (test.sh).

use super::*;
use offboard_host::journal::PgJournal;

/// The test database's URL with the journal in a schema of its own (created here), so tests do
/// not see each other's schedules; `None`: skip.
fn journal_url() -> Option<String> {
    let required = std::env::var("OFFBOARD_TEST_PG_REQUIRED").is_ok_and(|v| v.trim() == "1");
    let dir = std::env::var("PG_DIR").unwrap_or_else(|_| "/tmp/offboard-host-pg".into());
    let url = std::env::var("OFFBOARD_TEST_PG_URL")
        .ok()
        .or_else(|| std::fs::read_to_string(std::path::Path::new(&dir).join("url")).ok())
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    let Some(url) = url else {
        assert!(!required, "OFFBOARD_TEST_PG_REQUIRED=1 but no PostgreSQL test database");
        eprintln!("skipped: no PostgreSQL test database");
        return None;
    };
    let schema = format!("wf_{}", uuid::Uuid::new_v4().simple());
    drop(PgJournal::open_in_schema(&url, Some(&schema)).expect("the PostgreSQL test database answers"));
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
}

/// Two workers (two machines, one database) look at the same due schedule at once: it is
/// applied once, by one of them, every write sent once; nothing went to a local journal file.
#[test]
fn two_workers_on_one_postgres_journal_apply_a_schedule_once() {
    let Some(url) = journal_url() else { return };
    let home = Home::new();
    let pg = |args: &[&str]| home.cmd(args).env("OFFBOARD_JOURNAL_URL", &url);
    assert_eq!(pg(&["demo", "reset"]).run().code, 0);
    let o = pg(&["run", "default.rhai", "--user", CLOUD, "--at", &later(1), "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let id = run_id(&o);
    let workers: Vec<_> = (0..2).map(|_| pg(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).spawn()).collect();
    let mut applied = Vec::new();
    for w in workers {
        let out = w.wait_with_output().expect("worker");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).expect("worker json");
        applied.extend(report["runs"].as_array().expect("runs").iter().cloned());
    }
    assert_eq!(applied.len(), 1, "exactly one worker applied it: {applied:?}");
    assert_eq!((applied[0]["id"].as_str(), applied[0]["status"].as_str()), (Some(id.as_str()), Some("done")));
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
    assert!(!home.journal_path().exists(), "the journal is the database, not a file");
    let o = pg(&["schedule", "list", "--all", "--json"]).run();
    let items = o.json().as_array().expect("items").clone();
    assert_eq!((items.len(), items[0]["status"].as_str()), (1, Some("done")), "{items:?}");
}
