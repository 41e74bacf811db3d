//! The workflow on the PostgreSQL journal (`OFFBOARD_JOURNAL_URL`): the binary's commands share
//! one database instead of a file. Skipped without a test database (see `tests/postgres/setup.sh`),
//! failed without one under `OFFBOARD_TEST_PG_REQUIRED=1` (test.sh).

use super::*;
use offboard_host::journal::{PgJournal, WorkflowJournal};

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
pub(super) struct PgHome {
    pub(super) home: Home,
    pub(super) url: String,
    pub(super) schema: String,
    /// The queue's tables next to the journal's, apart from other tests'.
    pub(super) queue: String,
}

impl PgHome {
    pub(super) fn new() -> Option<PgHome> {
        let (url, schema) = journal_url()?;
        Some(PgHome { home: Home::new(), url, queue: format!("{schema}_queue"), schema })
    }

    pub(super) fn cmd(&self, args: &[&str]) -> Cmd {
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
    let child = pg(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).env("OFFBOARD_DEMO_LATENCY_MS", "150").spawn();
    let dead = kill_once_blocked(home, child, "worker");
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

/// A worker's catch-up queues only what has no job: a job backing off after failures keeps its
/// attempts and its time (graphile's replace would reset both, so a run that keeps failing would
/// never run out of attempts), and a job being run gets no second one beside it.
#[test]
fn a_workers_catch_up_leaves_existing_jobs_alone() {
    let Some(t) = PgHome::new() else { return };
    let (url, queue, id) = (&t.url, &t.queue, t.schedule_cloud_leaver());
    let lane = queued_jobs(url, queue)[0].1.clone();
    assert!(lane.starts_with("offboard:demo:"), "the job is in one of the tenant's lanes: {lane}");
    // The job failed three times and waits for its next attempt, an hour away.
    sql(url, &format!("UPDATE {queue}._private_jobs SET attempts = 3, run_at = now() + interval '1 hour'"));
    let o = t.cmd(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["runs"], serde_json::json!([]), "the backing-off job was run at once");
    let jobs = queued_jobs(url, queue);
    assert_eq!(jobs, vec![(Some(id.clone()), lane, 3)], "the catch-up reset the job");
    // The job is being run by a live worker (locked just now): a catch-up adds none beside it.
    sql(url, &format!("UPDATE {queue}._private_jobs SET locked_at = now(), locked_by = 'another-worker', run_at = now()"));
    let o = t.cmd(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(queued_jobs(url, queue).len(), 1, "a second job: {:?}", queued_jobs(url, queue));
    assert_eq!(t.home.stats().writes, 0, "the run was applied beside the worker running it");
}

/// `run --at` is a job in the future, not a sleeping worker: a worker looking before the due
/// time leaves it queued and pending, and a worker started before the due time (by the real
/// clock, which graphile's `run_at` follows) applies it once it is due, not earlier.
#[test]
fn a_worker_started_before_the_due_time_runs_the_schedule_when_due_not_earlier() {
    let Some(t) = PgHome::new() else { return };
    let (home, url, queue) = (&t.home, &t.url, &t.queue);
    assert_eq!(t.cmd(&["demo", "reset"]).run().code, 0);
    let due = Utc::now() + Duration::seconds(8);
    let o = t.cmd(&["run", "default.rhai", "--user", CLOUD, "--at", &due.to_rfc3339(), "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let id = run_id(&o);
    // A look before the due time: nothing runs, the job stays queued for later, untried.
    let o = t.cmd(&["worker", "--once", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.json()["runs"].as_array().unwrap().is_empty(), "{}", o.stdout);
    assert_eq!(home.stats().writes, 0, "a write was sent before the due time");
    let jobs = queued_jobs(url, queue);
    assert_eq!((jobs.len(), jobs[0].0.as_deref(), jobs[0].2), (1, Some(id.as_str()), 0), "{jobs:?}");
    // A long-running worker, started before the due time.
    let mut worker = t.cmd(&["worker", "--interval", "1", "--json"]).spawn();
    let start = std::time::Instant::now();
    let status = loop {
        let o = t.cmd(&["schedule", "list", "--all", "--json"]).run();
        let status = o.json()[0]["status"].as_str().unwrap_or("").to_string();
        if Utc::now() < due - Duration::milliseconds(500) {
            assert_eq!(status, "pending", "started before its due time");
            assert_eq!(home.stats().writes, 0, "a write was sent before the due time");
        }
        if status == "done" || status == "failed" || start.elapsed() > std::time::Duration::from_secs(90) {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert_eq!(status, "done");
    let o = t.cmd(&["runs", "list", "--json"]).run();
    let applied: Vec<Value> = o.json().as_array().unwrap().iter().filter(|r| r["mode"] == "apply").cloned().collect();
    assert_eq!(applied.len(), 1, "{applied:?}");
    let started: chrono::DateTime<Utc> = applied[0]["started_at"].as_str().unwrap().parse().unwrap();
    assert!(started >= due, "applied at {started}, due {due}");
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
}

/// A run whose own outcome fails (its user left the directory since scheduling) ends `failed`
/// with its reason, and its job is done, not retried.
#[test]
fn a_run_that_fails_on_its_own_ends_failed_and_is_not_retried() {
    let Some(t) = PgHome::new() else { return };
    let (home, url, queue, id) = (&t.home, &t.url, &t.queue, t.schedule_cloud_leaver());
    let mut state = home.state();
    state["users"].as_array_mut().unwrap().retain(|u| u["id"] != ids::LEAVER_CLOUD_ID);
    std::fs::write(home.state_path(), serde_json::to_vec(&state).unwrap()).unwrap();
    let o = t.cmd(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(2)).run();
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!((runs.len(), runs[0]["status"].as_str()), (1, Some("failed")), "{runs:?}");
    assert!(runs[0]["note"].as_str().unwrap().contains("was not found"), "{runs:?}");
    assert!(queued_jobs(url, queue).is_empty(), "the job is not retried: {:?}", queued_jobs(url, queue));
    let o = t.cmd(&["schedule", "list", "--all", "--json"]).run();
    assert_eq!((o.json()[0]["id"].as_str(), o.json()[0]["status"].as_str()), (Some(id.as_str()), Some("failed")));
    assert_eq!(home.stats().writes, 0);
}

/// An error that is not the run's (here the journal refuses the claim) fails the job, which is
/// retried with back-off; after the last attempt (`OFFBOARD_QUEUE_MAX_ATTEMPTS`) the schedule
/// item ends `failed` with the reason instead of staying `pending` with no job left.
#[test]
fn a_job_that_keeps_failing_is_retried_then_its_schedule_ends_failed() {
    let Some(t) = PgHome::new() else { return };
    let (home, url, schema, queue) = (&t.home, &t.url, &t.schema, &t.queue);
    assert_eq!(t.cmd(&["demo", "reset"]).run().code, 0);
    let o = t
        .cmd(&["run", "default.rhai", "--user", CLOUD, "--at", &later(1), "--yes", "--json"])
        .env("OFFBOARD_QUEUE_MAX_ATTEMPTS", "2")
        .run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The journal refuses every claim: not the run's fault, nothing was tried on the tenant.
    sql(url, &format!("ALTER TABLE {schema}.workflow ADD CONSTRAINT no_claim CHECK (status <> 'running') NOT VALID"));
    // (Whoever queues the job sets its attempts: the workers' catch-up too.)
    let worker =
        |now: String| t.cmd(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", now).env("OFFBOARD_QUEUE_MAX_ATTEMPTS", "2").run();
    let o = worker(later(2));
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    let jobs = queued_jobs(url, queue);
    assert_eq!((jobs.len(), jobs[0].2), (1, 1), "retried later, once tried: {jobs:?}");
    let o = t.cmd(&["schedule", "list", "--all", "--json"]).run();
    assert_eq!(o.json()[0]["status"].as_str(), Some("pending"), "{}", o.stdout);
    // graphile's back-off (exp(1) s) before the second and last attempt.
    sql(url, &format!("UPDATE {queue}._private_jobs SET run_at = now()"));
    let w = worker(later(3));
    assert_eq!(w.code, 0, "{} {}", w.stdout, w.stderr);
    let o = t.cmd(&["schedule", "list", "--all", "--json"]).run();
    let item = o.json()[0].clone();
    assert_eq!(item["status"].as_str(), Some("failed"), "{} {:?}", w.stderr, queued_jobs(url, queue));
    let note = item["note"].as_str().unwrap_or("");
    assert!(note.contains("gave up after 2 attempt(s)") && note.contains("no_claim"), "{item}");
    assert_eq!(home.stats().writes, 0);
}

/// Graph down at the due time (every request answers 503, past the client's own retries): the
/// run is not the user's failure, so the item goes back to `pending` and its job is tried again
/// with back-off; once Graph answers, the next attempt offboards the user, every write once.
#[test]
fn a_graph_outage_at_the_due_time_is_retried_with_back_off_and_then_applied() {
    let Some(t) = PgHome::new() else { return };
    let (home, url, queue, id) = (&t.home, &t.url, &t.queue, t.schedule_cloud_leaver());
    let o = t
        .cmd(&["worker", "--once", "--json"])
        .env("OFFBOARD_NOW", later(2))
        .env("OFFBOARD_DEMO_FAULT_EVERY", "1")
        .env("OFFBOARD_DEMO_RETRY_BASE_MS", "1")
        .run();
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    let item = &t.cmd(&["schedule", "list", "--all", "--json"]).run().json()[0];
    assert_eq!(item["status"].as_str(), Some("pending"), "{item}");
    let note = item["note"].as_str().unwrap_or("");
    assert!(note.contains("503") && note.contains("another attempt follows with back-off"), "{item}");
    let jobs = queued_jobs(url, queue);
    assert_eq!((jobs.len(), jobs[0].0.as_deref(), jobs[0].2), (1, Some(id.as_str()), 1), "tried once, to be tried again: {jobs:?}");
    assert_eq!(home.stats().writes_applied, 0);
    // graphile's back-off (exp(1) s) over, Graph back.
    sql(url, &format!("UPDATE {queue}._private_jobs SET run_at = now()"));
    let o = t.cmd(&["worker", "--once", "--json"]).env("OFFBOARD_NOW", later(3)).run();
    assert_eq!(o.code, 0, "{} {}", o.stdout, o.stderr);
    let item = &t.cmd(&["schedule", "list", "--all", "--json"]).run().json()[0];
    assert_eq!(item["status"].as_str(), Some("done"), "{item}");
    assert!(queued_jobs(url, queue).is_empty(), "{:?}", queued_jobs(url, queue));
    assert_cloud_offboarded(&home.state(), &seed_state());
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
}

/// A conversion to shared that takes longer than a worker waits inside its job: the run gives
/// the job back (the item `pending` again, its job in the queue for later) instead of a worker
/// asleep holding the tenant's queue, and the next pass goes on from the journal to the end,
/// every write sent once over both passes.
#[test]
fn a_slow_conversion_re_queues_the_run_and_the_next_pass_finishes_it() {
    let Some(t) = PgHome::new() else { return };
    let (home, url, queue, id) = (&t.home, &t.url, &t.queue, t.schedule_cloud_leaver());
    let pass = |now: String| {
        t.cmd(&["worker", "--once", "--json"])
            .env("OFFBOARD_NOW", now)
            .env("OFFBOARD_DEMO_SHARED_DELAY_MS", "3000")
            .env("OFFBOARD_QUEUE_WAIT_IN_JOB_SECS", "0.001")
            .env("OFFBOARD_QUEUE_WAIT_AGAIN_SECS", "60")
            .run()
    };
    let started = std::time::Instant::now();
    let o = pass(later(2));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!((runs.len(), runs[0]["status"].as_str()), (1, Some("waiting")), "{runs:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "the job did not wait for the conversion");
    let item = PgJournal::open(url).expect("journal").work_get(&id).expect("read").expect("item");
    assert_eq!(item.status, "pending", "{item:?}");
    assert!(item.note.as_deref().is_some_and(|n| n.contains("waiting") && n.contains("still a UserMailbox")), "{item:?}");
    let jobs = queued_jobs(url, queue);
    assert_eq!((jobs.len(), jobs[0].0.as_deref()), (1, Some(id.as_str())), "its next pass is a job: {jobs:?}");
    assert!(user_in(&home.state(), ids::LEAVER_CLOUD_ID)["accountEnabled"] == false, "the first pass did its part");
    // Not due again before its time: a worker looking now leaves it.
    let o = pass(later(2));
    assert!(o.json()["runs"].as_array().unwrap().is_empty(), "{}", o.stdout);
    // Once the conversion shows (it was sent during the first pass) and the item is due: the
    // next pass ends it.
    std::thread::sleep(std::time::Duration::from_millis(3300));
    let o = pass(later(3));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let runs = o.json()["runs"].as_array().unwrap().clone();
    assert_eq!((runs.len(), runs[0]["status"].as_str()), (1, Some("done")), "{runs:?}");
    assert_cloud_offboarded(&home.state(), &seed_state());
    // Every write once over both passes (the second pass's early revocation of the sessions
    // stands for the final one, which it finds done: entra/actions/sessions.rs).
    assert_eq!(home.stats().writes_applied, CLEAN_WRITES, "{:?}", home.stats());
    assert!(queued_jobs(url, queue).is_empty(), "{:?}", queued_jobs(url, queue));
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
