//! Benchmark: scheduled runs carried out by 1, 2 and 4 `offboard-host worker` processes on one
//! PostgreSQL journal (#13), against one simulated tenant with latency injected, under the
//! tenant's Graph write quota.
//!
//! `cargo bench --bench scale_out`. Without PostgreSQL (no `OFFBOARD_BENCH_PG_URL` and no
//! `/tmp/offboard-host-pg/url`, as `tests/postgres/setup.sh` writes it, or the server not
//! answering) it says so and exits 0.
//!
//! # What is measured
//!
//! For each worker count, from scratch: a fresh home, journal schema and graphile schema in the
//! database, and `offboard-host demo serve` as a process of its own (the one simulator every
//! worker talks to, so its quota is counted as Graph's: across processes). The tenant `bench` is
//! configured as a real Graph tenant pointing at it, with `graph_write_quota` and `lanes`. Then
//! `OFFBOARD_BENCH_RUNS` ordinary demo users are scheduled (`run default.rhai --user U --at T
//! --yes`, a plan each) and, once all are due, N workers are started; the clock runs from their
//! start until every scheduled item is `done` or `failed` (read from the journal's `workflow`).
//!
//! Reported per worker count: runs/min, the speed-up over one worker, the simulator's quota
//! refusals (`SimStats::quota_throttled`: must be 0; a refusal fails the bench), runs not `done`
//! (must be 0) and the most Graph writes the simulator received in any window of the quota
//! (sampled from `/_sim/stats` every 200 ms, so up to the writes of one sampling interval over).
//!
//! Knobs (environment): `OFFBOARD_BENCH_RUNS` (default 48), `OFFBOARD_BENCH_WORKERS` (default
//! `1,2,4`), `OFFBOARD_BENCH_LATENCY_MS` (default 50), `OFFBOARD_BENCH_QUOTA` (the simulator's
//! and the tenant's, default `300/15`: Graph's documented rate, 3,000 per 150 s, over a tenth of
//! the window, so that the quota binds within a run of a few minutes), `OFFBOARD_BENCH_LANES`
//! (default 16: every worker's 4 job slots can have a lane of their own at 4 workers).
//! The conversion delay is the CLI's default. Results as JSON in `target/bench-scale-out.json`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};

use offboard_host::demo::{self, SimStats, DEMO_CLIENT_ID, DEMO_TENANT_ID};

const SECRET_ENV: &str = "OFFBOARD_BENCH_DEMO_SECRET";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn pg_url() -> Option<String> {
    std::env::var("OFFBOARD_BENCH_PG_URL")
        .ok()
        .or_else(|| std::fs::read_to_string("/tmp/offboard-host-pg/url").ok())
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
}

/// The bench's settings, from the knobs.
struct Setup {
    url: String,
    runs: usize,
    latency_ms: u64,
    quota: (u64, u64),
    lanes: u64,
    /// The script each run applies (`OFFBOARD_BENCH_SCRIPT`, a path; default `default.rhai`).
    script: String,
}

/// The figures of one worker count.
#[derive(serde::Serialize)]
struct Figures {
    workers: usize,
    runs: usize,
    wall_s: f64,
    runs_per_min: f64,
    done: usize,
    not_done: usize,
    graph_writes: u64,
    quota_429s: u64,
    peak_writes_per_window: u64,
}

/// An `offboard-host` command with only this bench's `OFFBOARD_*` variables.
fn cli(home: &Path, env: &[(&str, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offboard-host"));
    c.current_dir(home);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OFFBOARD_") {
            c.env_remove(k);
        }
    }
    c.env("OFFBOARD_HOME", home).env("NO_COLOR", "1").env(SECRET_ENV, demo::DEMO_CLIENT_SECRET);
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Stops (and reaps) the processes it holds when dropped, a failed bench included.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn stats(http: &reqwest::Client, base: &str) -> Result<SimStats, String> {
    let r = http.get(format!("{base}/_sim/stats")).send().await.map_err(|e| e.to_string())?;
    r.json::<SimStats>().await.map_err(|e| e.to_string())
}

/// Graph writes as the quota counts them (the simulator's `writes` count Exchange cmdlets too).
fn graph_writes(s: &SimStats) -> u64 {
    s.writes.saturating_sub(s.exo_writes)
}

/// The most writes within any `window` of the samples `(seconds, writes so far)`.
fn peak_per_window(samples: &[(f64, u64)], window: f64) -> u64 {
    let mut peak = 0;
    for (i, (t, w)) in samples.iter().enumerate() {
        // The last sample at or before the window's start (none: from zero).
        let before = samples[..=i].iter().rev().find(|(s, _)| *s <= t - window).map_or(0, |(_, w)| *w);
        peak = peak.max(w - before);
    }
    peak
}

async fn one(s: &Setup, pool: &PgPool, workers: usize) -> Result<Figures, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let home = dir.path();
    let tag = format!("bench_scale_{}_{workers}", std::process::id());
    let (journal_schema, queue_schema) = (format!("{tag}_j"), format!("{tag}_q"));
    for schema in [&journal_schema, &queue_schema] {
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(pool).await.map_err(|e| e.to_string())?;
    }
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {journal_schema}"))).execute(pool).await.map_err(|e| e.to_string())?;
    let sep = if s.url.contains('?') { '&' } else { '?' };
    let journal_url = format!("{}{sep}options=-csearch_path%3D{journal_schema}", s.url);
    let quota = format!("{}/{}", s.quota.0, s.quota.1);
    let env = vec![
        ("OFFBOARD_JOURNAL_URL", journal_url),
        ("OFFBOARD_QUEUE_SCHEMA", queue_schema.clone()),
        ("OFFBOARD_DEMO_LATENCY_MS", s.latency_ms.to_string()),
        ("OFFBOARD_DEMO_GRAPH_WRITE_QUOTA", quota.clone()),
        // As many ordinary users as runs (the default seed has 1,000).
        ("OFFBOARD_DEMO_USERS", (s.runs + 1).to_string()),
    ];
    let mut children = Children(vec![]);
    let mut sim =
        cli(home, &env).args(["demo", "serve", "--addr", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    let out = sim.stdout.take().ok_or("demo serve: no stdout")?;
    children.0.push(sim);
    let mut lines = std::io::BufReader::new(out).lines();
    let mut url_of = |what: &str| -> Result<String, String> {
        let line = lines.next().ok_or("demo serve ended")?.map_err(|e| e.to_string())?;
        line.strip_prefix(&format!("{what} ")).map(str::to_string).ok_or(format!("demo serve printed {line:?}"))
    };
    let (graph, token) = (url_of("graph")?, url_of("token")?);
    let origin = url::Url::parse(&graph).map_err(|e| e.to_string())?.origin().ascii_serialization();
    std::fs::write(
        home.join("offboard-host.toml"),
        format!(
            "[tenants.bench]\ndirectory = \"cloud\"\ngraph_write_quota = \"{quota}\"\nlanes = {lanes}\n\
             [tenants.bench.graph]\ntenant_id = \"{DEMO_TENANT_ID}\"\nclient_id = \"{DEMO_CLIENT_ID}\"\nclient_secret_env = \"{SECRET_ENV}\"\n\
             base_url = \"{graph}\"\ntoken_url = \"{token}\"\nexchange_url = \"{origin}\"\n",
            lanes = s.lanes
        ),
    )
    .map_err(|e| e.to_string())?;

    // Schedule them all with one bulk schedule (a plan each, 16 at a time), due by the time the
    // workers start.
    // The simulator holds runs + 1 ordinary users, one of whom holds a directory role.
    let mut users = demo::ordinary_users(s.runs + 1);
    users.truncate(s.runs);
    if users.len() < s.runs {
        return Err(format!("the demo tenant has {} ordinary users, fewer than {} runs", users.len(), s.runs));
    }
    std::fs::write(home.join("users.csv"), format!("upn\n{}\n", users.join("\n"))).map_err(|e| e.to_string())?;
    let begun = Instant::now();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339();
    let o = cli(home, &env)
        .args(["run", &s.script, "--tenant", "bench", "--users-file", "users.csv", "--at", &at, "--yes", "--json"])
        .args(["--concurrency", "16"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(format!("scheduling: {}", String::from_utf8_lossy(&o.stderr)));
    }
    println!("  {workers} worker(s): {} runs scheduled in {:.0} s", users.len(), begun.elapsed().as_secs_f64());
    // All due before the clock starts.
    let due = chrono::DateTime::parse_from_rfc3339(&at).map_err(|e| e.to_string())?;
    if let Ok(wait) = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std() {
        tokio::time::sleep(wait + Duration::from_millis(500)).await;
    }

    let http = reqwest::Client::new();
    let before = graph_writes(&stats(&http, &origin).await?);
    let begun = Instant::now();
    for _ in 0..workers {
        let w = cli(home, &env)
            .args(["worker", "--interval", "5"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        children.0.push(w);
    }
    let count = format!("SELECT count(*) FROM {journal_schema}.workflow WHERE kind = 'schedule' AND status IN ('done', 'failed')");
    let mut samples = vec![(0.0, 0u64)];
    let limit = Duration::from_secs(600 + s.runs as u64 * 10);
    loop {
        let st = stats(&http, &origin).await?;
        samples.push((begun.elapsed().as_secs_f64(), graph_writes(&st).saturating_sub(before)));
        let (ended,): (i64,) = sqlx::query_as(AssertSqlSafe(count.clone())).fetch_one(pool).await.map_err(|e| e.to_string())?;
        if ended as usize >= users.len() {
            break;
        }
        if begun.elapsed() > limit {
            return Err(format!("{workers} worker(s): {ended} of {} runs ended after {:?}", users.len(), limit));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = begun.elapsed().as_secs_f64();
    let st = stats(&http, &origin).await?;
    drop(children);
    let (done,): (i64,) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT count(*) FROM {journal_schema}.workflow WHERE kind = 'schedule' AND status = 'done'"
    )))
    .fetch_one(pool)
    .await
    .map_err(|e| e.to_string())?;
    let total = graph_writes(&st).saturating_sub(before);
    samples.push((wall, total));
    for schema in [&journal_schema, &queue_schema] {
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(pool).await.map_err(|e| e.to_string())?;
    }
    Ok(Figures {
        workers,
        runs: users.len(),
        wall_s: wall,
        runs_per_min: users.len() as f64 / (wall / 60.0),
        done: done as usize,
        not_done: users.len() - done as usize,
        graph_writes: total,
        quota_429s: st.quota_throttled,
        peak_writes_per_window: peak_per_window(&samples, s.quota.1 as f64),
    })
}

fn main() -> ExitCode {
    let Some(url) = pg_url() else {
        println!("scale_out bench skipped: no PostgreSQL (set OFFBOARD_BENCH_PG_URL or run `bash tests/postgres/setup.sh`)");
        return ExitCode::SUCCESS;
    };
    let quota = std::env::var("OFFBOARD_BENCH_QUOTA").unwrap_or_else(|_| "300/15".into());
    let Some((w, secs)) = quota.split_once('/').and_then(|(w, s)| Some((w.trim().parse::<u64>().ok()?, s.trim().parse::<u64>().ok()?)))
    else {
        eprintln!("OFFBOARD_BENCH_QUOTA={quota:?} is not WRITES/SECONDS");
        return ExitCode::FAILURE;
    };
    let setup = Setup {
        url,
        runs: env_num("OFFBOARD_BENCH_RUNS", 48) as usize,
        latency_ms: env_num("OFFBOARD_BENCH_LATENCY_MS", 50),
        quota: (w, secs),
        lanes: env_num("OFFBOARD_BENCH_LANES", 16).max(1),
        script: match std::env::var("OFFBOARD_BENCH_SCRIPT") {
            Ok(p) if !p.trim().is_empty() => match std::fs::canonicalize(p.trim()) {
                Ok(abs) => abs.display().to_string(),
                Err(e) => {
                    eprintln!("OFFBOARD_BENCH_SCRIPT={p:?}: {e}");
                    return ExitCode::FAILURE;
                }
            },
            _ => "default.rhai".into(),
        },
    };
    let counts: Vec<usize> = std::env::var("OFFBOARD_BENCH_WORKERS")
        .unwrap_or_else(|_| "1,2,4".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let pool = match rt.block_on(PgPoolOptions::new().max_connections(2).acquire_timeout(Duration::from_secs(5)).connect(&setup.url)) {
        Ok(p) => p,
        Err(e) => {
            println!("scale_out bench skipped: PostgreSQL at {} does not answer ({e})", offboard_host::journal::redacted_url(&setup.url));
            return ExitCode::SUCCESS;
        }
    };
    println!(
        "scale-out: {} scheduled runs ({}, ordinary demo users) per worker count, {} ms latency per HTTP request, \
         write quota {quota} (simulator and tenant), {} lanes (each paced at {} writes / {secs} s), default conversion delay",
        setup.runs,
        setup.script,
        setup.latency_ms,
        setup.lanes,
        w / setup.lanes
    );
    let mut all = Vec::new();
    let mut failures = Vec::new();
    for n in counts {
        match rt.block_on(one(&setup, &pool, n)) {
            Ok(f) => {
                println!(
                    "  {} worker(s): {:.1} s, {:.1} runs/min, {} done, {} not done, {} Graph writes, \
                     peak {} writes in a {secs} s window (quota {w}), {} quota 429s",
                    f.workers, f.wall_s, f.runs_per_min, f.done, f.not_done, f.graph_writes, f.peak_writes_per_window, f.quota_429s
                );
                if f.quota_429s > 0 {
                    failures.push(format!("{} worker(s): {} quota 429s", f.workers, f.quota_429s));
                }
                if f.not_done > 0 {
                    failures.push(format!("{} worker(s): {} runs not done", f.workers, f.not_done));
                }
                all.push(f);
            }
            Err(e) => failures.push(format!("{n} worker(s): {e}")),
        }
    }
    // Against one worker's figure wherever in the order it was measured.
    if let Some(one) = all.iter().find(|f| f.workers == 1).map(|f| f.runs_per_min) {
        for f in &all {
            println!("  {} worker(s): {:.2}x one worker", f.workers, f.runs_per_min / one);
        }
    }
    let out = json!({
        "runs": setup.runs, "latency_ms": setup.latency_ms, "quota": quota, "lanes": setup.lanes,
        "results": all, "failures": failures,
    });
    let path = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench-scale-out.json");
    if let Err(e) = std::fs::write(&path, serde_json::to_vec_pretty(&out).unwrap_or_default()) {
        failures.push(format!("writing {}: {e}", path.display()));
    }
    println!("results: {}", path.display());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            eprintln!("failed: {f}");
        }
        ExitCode::FAILURE
    }
}
