//! The workflow on the PostgreSQL journal (`OFFBOARD_JOURNAL_URL`): the binary's commands share
//! one database instead of a file. Skipped without a test database (see `tests/postgres/setup.sh`),
//! failed without one under `OFFBOARD_TEST_PG_REQUIRED=1` (test.sh).

use super::*;
use offboard_host::journal::PgJournal;

/// The test database's URL with the journal in a schema of its own (created here), so tests do
/// not see each other's schedules; `None`: skip.
fn journal_url() -> Option<(String, String)> {
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
    Some((format!("{url}{sep}options=-c%20search_path%3D{schema}"), schema))
}

/// A home whose commands use a journal (and a job queue) of their own on the test database.
struct PgHome {
    home: Home,
    url: String,
    schema: String,
    /// The queue's tables next to the journal's, apart from other tests'.
    queue: String,
}

impl PgHome {
    fn new() -> Option<PgHome> {
        let (url, schema) = journal_url()?;
        Some(PgHome { home: Home::new(), url, queue: format!("{schema}_queue"), schema })
    }

    fn cmd(&self, args: &[&str]) -> Cmd {
        self.home.cmd(args).env("OFFBOARD_JOURNAL_URL", &self.url).env("OFFBOARD_QUEUE_SCHEMA", &self.queue)
    }

    /// A fresh demo tenant and the cloud leaver scheduled in an hour: the run id.
    fn schedule_cloud_leaver(&self) -> String {
        assert_eq!(self.cmd(&["demo", "reset"]).run().code, 0);
        let o = self.cmd(&["run", "default.rhai", "--user", CLOUD, "--at", &later(1), "--yes", "--json"]).run();
        assert_eq!(o.code, 0, "{}", o.stderr);
        run_id(&o)
    }
}

/// Two workers (two machines, one database) look at the same due schedule at once: it is
/// applied once, by one of them, every write sent once; nothing went to a local journal file.
#[test]
fn two_workers_on_one_postgres_journal_apply_a_schedule_once() {
    let Some(t) = PgHome::new() else { return };
    let (home, url, queue, id) = (&t.home, &t.url, &t.queue, t.schedule_cloud_leaver());
    let pg = |args: &[&str]| t.cmd(args);
    // Scheduling queued one job keyed by the run, in one of the tenant's 4 lanes (the default),
    // for the due time.
    let jobs = queued_jobs(url, queue);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].0.as_deref(), Some(id.as_str()));
    let lane = jobs[0].1.strip_prefix("offboard:demo:").and_then(|l| l.strip_suffix("/4")).and_then(|n| n.parse::<u32>().ok());
    assert!(lane.is_some_and(|n| n < 4), "not a lane of the tenant: {jobs:?}");
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
    assert!(queued_jobs(url, queue).is_empty(), "the job is done: {:?}", queued_jobs(url, queue));
    let o = pg(&["schedule", "list", "--all", "--json"]).run();
    let items = o.json().as_array().expect("items").clone();
    assert_eq!((items.len(), items[0]["status"].as_str()), (1, Some("done")), "{items:?}");
}

/// A worker killed mid-run (SIGKILL: it records nothing): once its lease ran out and its
/// journal session stopped beating, the next worker's catch-up queues the run again, takes the
/// writer lock over and finishes it from the journal, every write sent once over both workers.
#[test]
fn a_killed_workers_run_is_taken_over_through_the_queue() {
    let Some(t) = PgHome::new() else { return };
    let (home, url, schema, queue, id) = (&t.home, &t.url, &t.schema, &t.queue, t.schedule_cloud_leaver());
    let pg = |args: &[&str]| t.cmd(args);
    let mut child = pg(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).env("OFFBOARD_DEMO_LATENCY_MS", "150").spawn();
    let start = std::time::Instant::now();
    while !std::fs::read(home.state_path())
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|s| user_in(&s, ids::LEAVER_CLOUD_ID)["accountEnabled"] == false)
    {
        assert!(child.try_wait().unwrap().is_none(), "the worker finished before it could be killed");
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "the worker never blocked the account");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let dead = child.id();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!user_in(&home.state(), ids::LEAVER_CLOUD_ID)["managerId"].is_null(), "the worker was not killed mid-way");
    // Its sessions stop beating: what a few minutes of silence look like to the database.
    sql(url, &format!("UPDATE {schema}.journal_sessions SET heartbeat_at = now() - interval '1 hour' WHERE pid = {dead}"));
    // And the job and tenant queue it locked in graphile (a `--once` worker registers no
    // heartbeat, so its locks count as orphaned once older than the sweep threshold).
    for table in ["_private_jobs", "_private_job_queues"] {
        sql(url, &format!("UPDATE {queue}.{table} SET locked_at = now() - interval '1 hour' WHERE locked_by IS NOT NULL"));
    }
    let o = pg(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(3)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1, "{runs:?} {} dead={dead} out={}", o.stderr, o.stdout);
    assert_eq!((runs[0]["id"].as_str(), runs[0]["status"].as_str()), (Some(id.as_str()), Some("done")), "{runs:?}");
    assert!(runs[0]["note"].as_str().unwrap().contains("taken over"), "{runs:?}");
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
}

fn sql(url: &str, statement: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string())).execute(&pool).await.expect("statement");
    });
}

/// The graphile jobs in `queue` (the schema): (job_key, queue name, attempts).
fn queued_jobs(url: &str, queue: &str) -> Vec<(Option<String>, String, i16)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let sql = format!(
        "SELECT j.key, q.queue_name, j.attempts FROM {queue}._private_jobs j JOIN {queue}._private_job_queues q ON q.id = j.job_queue_id ORDER BY j.id"
    );
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.expect("jobs")
    })
}
