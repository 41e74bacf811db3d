//! Scale-out (#13): four `offboard-host worker` processes on one PostgreSQL journal carry out a
//! thousand scheduled runs of the demo's users (999 ordinary ones and the cloud leaver) against ONE demo tenant process
//! (`demo serve`, which every worker reaches by URL, as machines reach a client tenant), while the
//! test SIGKILLs workers at random and starts new ones. Then:
//! - every scheduled run ended `done`: none `pending`, `running` or `failed` (nothing stuck);
//! - every user was written exactly once, counted by the simulator where the write lands
//!   (`SimStats::user_writes`, `/_sim/user-writes`), and nothing else was written;
//! - no two runs of one user overlapped: a user's apply runs in the journal follow each other, an
//!   earlier one stopped only because its worker was killed before the next one started, and the
//!   user's one write landed inside one run's time (a dead worker's write before the taker began).
//!
//! **Why one cheap script is representative.** The script reads the user and blocks sign-in: one
//! observe, one intent, one write, one outcome — every journal guarantee a longer script relies
//! on, per step: the claim of the schedule item, the writer lock per user, the intent before the
//! write, the observe that makes a re-run send nothing. What a longer script adds is more of the
//! same steps; what it costs is time, and CI has two cores. A duplicated run (redelivered job,
//! premature takeover) would either send the write twice (the count says 2) or overlap another
//! run of the same user (the windows say so).
//!
//! **Knobs** (environment of the worker processes; the defaults are for production):
//! - `OFFBOARD_WORKER_POLL_MS` (1000): how often a worker asks the queue for a job. graphile
//!   fetches one job per wake-up, and a tenant's jobs run one after the other, so this is the gap
//!   between two runs of one tenant; 50 here.
//! - `OFFBOARD_WORKER_LEASE_SECS` (120): the schedule item's lease; a dead worker's item is taken
//!   over once it ran out; 8 here.
//! - `OFFBOARD_WORKER_STALE_SECS` (60): a worker silent this long is swept by graphile, which
//!   frees the job and the tenant queue it held; 6 here.
//! - `OFFBOARD_JOURNAL_SESSION_TTL_SECS` (30): a journal session silent this long loses its writer
//!   locks; 4 here, shorter than the lease as in production.
//!
//! The test itself: `OFFBOARD_SCALE_RUNS` (1000) runs, `OFFBOARD_SCALE_KILLS` (6) kills,
//! `OFFBOARD_SCALE_STUCK_SECS` (120) without a run finishing before it fails as stuck. It prints
//! its figures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::postgres::PgHome;
use super::*;

const WORKERS: usize = 4;
const SCRIPT: &str = "let u = graph::get_user(USER);\ngraph::disable_account(u);\n";
const SECRET_ENV: &str = "SCALE_DEMO_SECRET";
const KNOBS: [(&str, &str); 4] = [
    ("OFFBOARD_WORKER_POLL_MS", "50"),
    ("OFFBOARD_WORKER_LEASE_SECS", "8"),
    ("OFFBOARD_WORKER_STALE_SECS", "6"),
    ("OFFBOARD_JOURNAL_SESSION_TTL_SECS", "4"),
];
/// The tenant's Graph write quota, scaled from the documented 3,000 per 150 s to 300 per 15 s on
/// both sides (the simulator's and the client's): the same rate, a window a tenth as long. A
/// lane whose worker was killed does not know what that run wrote and waits out a full window
/// before its next write ([`offboard_host::service::lanes`]); at 150 s that is a wait the stuck
/// guard cannot tell from a hang, at 15 s it is a takeover the test sees several times.
const QUOTA: &str = "300/15";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// `demo serve` in a home of its own: one tenant state for every worker.
struct DemoProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`
    origin: String,
    _home: Home,
}

impl DemoProcess {
    fn start() -> DemoProcess {
        let home = Home::new();
        let mut child = home.cmd(["demo", "serve", "--addr", "127.0.0.1:0"]).env("OFFBOARD_DEMO_GRAPH_WRITE_QUOTA", QUOTA).spawn();
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("demo serve printed its address").expect("utf-8");
        let origin = first.trim_start_matches("graph ").trim_end_matches("/v1.0").to_string();
        assert!(origin.starts_with("http://127.0.0.1:"), "{first}");
        std::thread::spawn(move || lines.for_each(drop));
        drain(child.stderr.take());
        DemoProcess { child, origin, _home: home }
    }

    fn get(&self, route: &str) -> Value {
        let url = format!("{}{route}", self.origin);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async { reqwest::get(&url).await.expect(&url).json::<Value>().await.expect("json") })
    }

    /// The configuration of a client tenant served by this process.
    fn tenant_config(&self) -> String {
        use offboard_host::demo::{DEMO_CLIENT_ID, DEMO_TENANT_ID};
        let o = &self.origin;
        format!(
            "default_tenant = \"shared\"\n[tenants.shared]\ndirectory = \"cloud\"\ngraph_write_quota = \"{QUOTA}\"\n[tenants.shared.graph]\n\
             tenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret_env = \"{SECRET_ENV}\"\n\
             base_url = \"{o}/v1.0\"\ntoken_url = \"{o}/{DEMO_TENANT_ID}/oauth2/v2.0/token\"\nexchange_url = \"{o}\"\n"
        )
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Read a child's pipe to the end, so that it never blocks on a full pipe.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) {
    if let Some(mut p) = pipe {
        std::thread::spawn(move || std::io::copy(&mut p, &mut std::io::sink()));
    }
}

fn worker(t: &PgHome) -> Child {
    let mut cmd = t.cmd(&["worker"]).env(SECRET_ENV, offboard_host::demo::DEMO_CLIENT_SECRET);
    for (k, v) in KNOBS {
        cmd = cmd.env(k, v);
    }
    let mut child = cmd.spawn();
    drain(child.stdout.take());
    drain(child.stderr.take());
    child
}

/// How a worker names itself in the journal (`claimed_by`, takeover notes).
fn worker_name(pid: u32) -> String {
    format!("{}:{pid}", std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()))
}

fn query<T>(url: &str, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(&pool).await.expect(sql);
        pool.close().await;
        rows
    })
}

/// An apply run of the journal: (user, status, started, finished).
type Run = (String, String, DateTime<Utc>, Option<DateTime<Utc>>);

#[test]
fn four_workers_killed_at_random_apply_a_thousand_scheduled_runs_once_each() {
    let Some(t) = PgHome::new() else { return };
    let (n, kills_wanted) = (env_or("OFFBOARD_SCALE_RUNS", 1000) as usize, env_or("OFFBOARD_SCALE_KILLS", 6));
    // Stuck is no run finishing for this long (a takeover takes about a lease and a sweep, 15 s),
    // not a total time: a loaded machine is slow, not stuck.
    let timeout = std::time::Duration::from_secs(env_or("OFFBOARD_SCALE_STUCK_SECS", 120));
    let demo = DemoProcess::start();
    t.home.write("offboard-host.toml", &demo.tenant_config());
    let script = t.home.write("one.rhai", SCRIPT);
    let script = script.to_str().unwrap();
    let seed = offboard_host::demo::seed::seed();
    // The 999 ordinary users that hold no directory role, and the cloud leaver for the thousandth.
    let mut upns = offboard_host::demo::ordinary_users(n);
    if upns.len() < n {
        upns.push(CLOUD.to_string());
    }
    assert_eq!(upns.len(), n, "the demo has {} users to offboard", upns.len());
    let id_of = |upn: &str| seed.users.iter().find(|u| u.user_principal_name == upn).map(|u| u.id.clone()).expect("seeded");

    // Schedule: each run due two seconds after it was scheduled (real time: the workers' leases
    // must run out for takeovers, so no OFFBOARD_NOW). The first alone, as it creates the queue.
    let started = Instant::now();
    let schedule = |upn: &str| {
        let at = (Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let o = t
            .cmd(&["run", script, "--user", upn, "--at", &at, "--yes", "--json"])
            .env(SECRET_ENV, offboard_host::demo::DEMO_CLIENT_SECRET)
            .run();
        assert_eq!(o.code, 0, "{upn}: {}", o.stderr);
    };
    schedule(&upns[0]);
    std::thread::scope(|s| {
        for chunk in upns[1..].chunks(n.div_ceil(WORKERS).max(1)) {
            s.spawn(|| chunk.iter().for_each(|u| schedule(u)));
        }
    });
    let scheduled_in = started.elapsed();
    assert_eq!(demo.get("/_sim/stats")["writes"], 0, "scheduling wrote");

    // Work, killing a worker every few seconds: first the one running an item (a run cut off
    // mid-way), then any. Each killed worker is replaced at once, as a supervisor would.
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..WORKERS).map(|_| worker(&t)).collect();
    let mut kills: Vec<(String, DateTime<Utc>)> = Vec::new();
    let mut rng = rand::thread_rng();
    let open_sql = format!("SELECT count(*) FROM {}.workflow WHERE status IN ('pending', 'running')", t.schema);
    let running_sql = format!("SELECT claimed_by FROM {}.workflow WHERE status = 'running'", t.schema);
    let (mut last_open, mut progress) = (i64::MAX, Instant::now());
    loop {
        std::thread::sleep(std::time::Duration::from_millis(rng.gen_range(2000..6000)));
        let (open,): (i64,) = query(&t.url, &open_sql)[0];
        if open == 0 {
            break;
        }
        if open < last_open {
            (last_open, progress) = (open, Instant::now());
        }
        assert!(progress.elapsed() < timeout, "stuck: {open} scheduled runs pending or running, none finished for {timeout:?}");
        if kills.len() as u64 >= kills_wanted {
            continue;
        }
        let running: Vec<(Option<String>,)> = query(&t.url, &running_sql);
        let busy = running.iter().filter_map(|(w,)| workers.iter().position(|c| Some(worker_name(c.id())) == *w)).next();
        // The first half of the kills take the worker running an item when there is one (so
        // takeovers happen for sure), the rest any worker.
        let victim = match busy {
            Some(i) if (kills.len() as u64) < kills_wanted.div_ceil(2) => i,
            _ => rng.gen_range(0..WORKERS),
        };
        let pid = workers[victim].id();
        workers[victim].kill().expect("SIGKILL");
        workers[victim].wait().expect("reaped");
        kills.push((worker_name(pid), Utc::now()));
        workers[victim] = worker(&t);
    }
    let worked_in = started.elapsed();
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }

    // Nothing stuck: every item done.
    let items: Vec<(String, String, Option<String>)> =
        query(&t.url, &format!("SELECT user_name, status, note FROM {}.workflow WHERE kind = 'schedule'", t.schema));
    assert_eq!(items.len(), n);
    let not_done: Vec<_> = items.iter().filter(|(_, s, _)| s != "done").collect();
    assert!(not_done.is_empty(), "{} not done, e.g. {:?}", not_done.len(), &not_done[..not_done.len().min(5)]);
    let taken_over: Vec<_> = items.iter().filter(|(_, _, note)| note.as_deref().unwrap_or("").contains("taken over")).collect();

    // Exactly once, where the writes land.
    let stats = demo.get("/_sim/stats");
    let log = demo.get("/_sim/user-writes");
    assert_eq!(stats["writes_applied"], n as u64, "{stats}");
    // The lanes together kept under the tenant's quota, killed workers included.
    assert_eq!(stats["quota_throttled"], 0, "Graph refused writes over the quota: {stats}");
    let runs: Vec<Run> =
        query(&t.url, &format!("SELECT user_name, status, started_at, finished_at FROM {}.runs WHERE mode = 'apply'", t.schema));
    let mut by_user: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in &runs {
        by_user.entry(r.0.as_str()).or_default().push(r);
    }
    let killed_between = |a: DateTime<Utc>, b: DateTime<Utc>| kills.iter().any(|(_, k)| a <= *k && *k <= b);
    for upn in &upns {
        let id = id_of(upn);
        assert_eq!(stats["user_writes"][&id], 1, "{upn} written {} times", stats["user_writes"][&id]);
        let writes = log[&id].as_array().expect("the user's writes");
        assert_eq!(writes.len(), 1, "{upn}: {writes:?}");
        let landed = DateTime::from_timestamp_micros(writes[0]["at_us"].as_i64().unwrap()).unwrap();
        // Never two runs of the user at once: one after the other, each earlier one ended (or its
        // worker was killed) before the next began, the last one succeeded.
        let mut mine = by_user.remove(upn.as_str()).unwrap_or_default();
        mine.sort_by_key(|r| r.2);
        let last = *mine.last().unwrap_or_else(|| panic!("{upn}: no apply run"));
        assert_eq!(last.1, "succeeded", "{upn}: {mine:?}");
        let mut window = None;
        for (a, b) in mine.iter().zip(mine.iter().skip(1)) {
            assert_ne!(a.1, "succeeded", "{upn}: applied twice: {mine:?}");
            match a.3 {
                Some(end) => assert!(end <= b.2, "{upn}: runs overlap: {mine:?}"),
                None => assert!(killed_between(a.2, b.2), "{upn}: a run was left before the next began, with no kill between: {mine:?}"),
            }
            if a.2 <= landed && landed <= b.2 {
                window = Some(*a);
            }
        }
        if landed >= last.2 && last.3.is_some_and(|end| landed <= end) {
            window = Some(last);
        }
        assert!(window.is_some(), "{upn}: its write ({landed}) landed outside its runs: {mine:?}");
    }
    // A takeover's note names the killed worker, and it was dead before the taker's run began.
    for (upn, _, note) in &taken_over {
        let note = note.as_deref().unwrap_or("");
        let dead = kills.iter().find(|(w, _)| note.contains(&format!("worker {w} ")));
        let (_, killed_at) = dead.unwrap_or_else(|| panic!("{upn}: taken over from a worker the test did not kill: {note}"));
        let last = by_user_last(&runs, upn);
        assert!(*killed_at <= last, "{upn}: taken over before its worker died: {note}");
    }
    assert!(kills_wanted == 0 || !taken_over.is_empty(), "{} kills, but no run was taken over: recovery went untested", kills.len());
    eprintln!(
        "scale: {n} runs scheduled in {:.1}s, carried out by {WORKERS} workers in {:.1}s ({:.0} runs/min) with {} kills, {} taken over",
        scheduled_in.as_secs_f64(),
        worked_in.as_secs_f64(),
        n as f64 / worked_in.as_secs_f64() * 60.0,
        kills.len(),
        taken_over.len()
    );
}

/// When the user's last apply run started.
fn by_user_last(runs: &[Run], upn: &str) -> DateTime<Utc> {
    runs.iter().filter(|r| r.0 == upn).map(|r| r.2).max().expect("an apply run")
}
