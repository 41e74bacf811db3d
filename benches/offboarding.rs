//! Benchmark: what batching and concurrency buy an offboarding.
//!
//! `cargo bench --bench offboarding` (quick smoke run: `BENCH_QUICK=1`, 1 iteration, 10 ms latency).
//!
//! # What is measured
//!
//! The default script (`scripts/default.rhai`) offboards `leaver.cloud@contoso.test` against the
//! simulated tenant (`offboard_host::demo`), served in this process on loopback with a fixed
//! latency injected into **every** HTTP request (token, direct Graph call, `$batch` envelope), so
//! the figures stand for a tenant some distance away rather than for loopback speed. Two modes:
//!
//! * **batched**: what `offboard-host run` does: the executor runs a phase's actions concurrently
//!   (`ExecOptions::default()`) and the Graph client coalesces requests that are in flight
//!   together into `$batch` calls (up to 20 each);
//! * **one at a time**: the same script and the same calls, executor concurrency 1 and client
//!   batching off: every Graph operation is its own HTTP request and actions run one after the
//!   other. (Not every request waits for the previous one: resolving a user reads the user, its
//!   groups, its manager and the SKUs at once, in either way; so even here round trips are fewer
//!   than requests.)
//!
//! Each iteration starts from a freshly seeded tenant (the state file is reset and a new simulator
//! started) and does three runs, each with its own client, as the CLI does:
//! `plan` (read-only client: no write can be sent), `apply`, and a second `apply` that must find
//! everything already done and send no write.
//!
//! For each run we report:
//! * **wall**: from creating the client to the report, token request included (median, min, max
//!   over the iterations; the journal is a SQLite file, as in the CLI);
//! * **requests**: HTTP requests the client sent (token, direct calls, `$batch` envelopes);
//! * **writes** / **ops**: write operations / all Graph operations sent (a `$batch` with 5
//!   sub-requests counts 5 operations and 1 request);
//! * **batches**: `$batch` envelopes sent;
//! * **round trips**: *sequential* round trips: the longest chain of HTTP exchanges that do not
//!   overlap in time (computed by the client from the start and end of every exchange). Requests
//!   in flight together count once; this is the figure latency multiplies, so wall time is at
//!   least `round trips × latency`, which the bench checks. Graph and Exchange are counted as one
//!   chain (their requests overlap);
//! * **sim round trips**: the same chain as the simulator saw it (`SimStats::round_trips`, from
//!   when each request arrived to when its answer was ready): the measure the targets are set in,
//!   since it does not rely on the client's own bookkeeping;
//! * **sim requests**: HTTP requests the simulator itself received, a cross-check of *requests*;
//! * **per phase**: the simulator's round trips as each phase with steps ends (an observer on the
//!   run), in a second table;
//! * **the wait's lateness**: how long after the simulator made the conversion to shared visible
//!   the wait saw it. The tenant takes the CLI's default delay (`demo::DEFAULT_SHARED_DELAY_MS`),
//!   so the wait really polls; the round-trip targets are checked without its polls beyond the
//!   first (their number is the delay over the poll interval, not the client's doing).
//!
//! What the script does (operations, writes, steps) is the same in every iteration, which the
//! bench checks; at 50 ms so are requests, batches and round trips (at very low latency how
//! requests meet in a batch window can vary; the table then shows a range). Wall time varies.
//! Wall time above `round trips × latency` is local work: the journal, the simulator writing its
//! state file, and, batched, the client's batch window (`GraphConfig::batch_window`, 3 ms), which
//! every batched round trip waits out. Optionally (`BENCH_BULK`, default 20 users, 5 in quick mode, 0 to skip) a bulk case
//! offboards that many ordinary seeded users one after another, with one client for the whole
//! bulk, in both modes.
//!
//! The bench asserts what must hold for the figures to mean anything (batched: fewer requests,
//! and fewer round trips whenever writes are sent, never more; the same operations and writes in
//! both modes; wall time at least `round trips × latency`; no write in plan or in the
//! second apply, client and simulator agreeing on the request count, ...) and exits non-zero if
//! any fails. Results are printed as a table and written as JSON to
//! `$CARGO_TARGET_DIR/bench-offboarding.json` (default `target/bench-offboarding.json`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use serde_json::{json, Value};

use offboard_host::demo::ids::LEAVER_CLOUD_UPN;
use offboard_host::demo::{self, DemoConfig, DemoServer, Knobs, SimStats, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID};
use offboard_host::engine::EngineOptions;
use offboard_host::entra::{CloudDirectory, GraphDirectory};
use offboard_host::exchange::{ExchangeOnline, InvokeCommandExchange, EXO_SCOPE};
use offboard_host::exec::host::ExecOptions;
use offboard_host::exec::observer::{ObserverReport, RunInfo, RunObserver, StartObserver};
use offboard_host::exec::report::{Report, ReportError, StepReport};
use offboard_host::exec::Providers;
use offboard_host::graph::{GraphClient, GraphConfig};
use offboard_host::journal::{Journal, Mode, RunStatus, SqliteJournal, StepStatus};
use offboard_host::run::{outcome_error, run_script, RunRequest, Script, DEFAULT_SCRIPT};
use offboard_host::secret::Secret;

#[path = "offboarding/bulk.rs"]
mod paced_bulk;

const USER: &str = LEAVER_CLOUD_UPN;
const TENANT: &str = "demo";

/// How the calls are made.
#[derive(Clone, Copy)]
struct Way {
    name: &'static str,
    concurrency: usize,
    batching: bool,
}

/// What `offboard-host run` does: the executor's default concurrency, `$batch` coalescing on.
fn batched_way() -> Way {
    Way { name: "batched", concurrency: ExecOptions::default().concurrency, batching: true }
}
const ONE_AT_A_TIME: Way = Way { name: "one at a time", concurrency: 1, batching: false };

/// The figures of one run (counts from the client and the simulator, wall time measured here).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
struct Counts {
    requests: u64,
    writes: u64,
    operations: u64,
    batches: u64,
    round_trips: u64,
    retries: u64,
    sim_requests: u64,
    /// The critical path as the simulator saw it (`SimStats::round_trips`): the measure.
    sim_round_trips: u64,
    steps_planned: usize,
    steps_done: usize,
    /// Sequential round trips (simulator) per phase with steps, in order; each counts those since
    /// the previous such phase ended (the first includes the token and resolving the user), and
    /// `end` what came after the last one.
    phases: Vec<(String, u64)>,
    /// How long after the conversion to shared became visible the wait saw it (apply only).
    wait_late_ms: Option<i64>,
}

/// One kind of run in one way, over all iterations.
struct Row {
    way: Way,
    run: &'static str,
    walls: Vec<Duration>,
    counts: Vec<Counts>,
}

impl Row {
    fn new(way: Way, run: &'static str) -> Row {
        Row { way, run, walls: vec![], counts: vec![] }
    }
    fn counts(&self) -> &Counts {
        &self.counts[0]
    }
    /// What the script does cannot depend on timing (how requests met in batches can, a little,
    /// at very low latency; at 50 ms every iteration has had the same figures), but for the
    /// wait's polls: how many depends on when the conversion became visible.
    fn deterministic(&self) -> bool {
        let c = self.counts();
        self.counts.iter().all(|x| {
            (x.operations - wait_trips(x), x.writes, x.steps_planned, x.steps_done)
                == (c.operations - wait_trips(c), c.writes, c.steps_planned, c.steps_done)
        })
    }

    /// "12", or "11–12" when iterations differ.
    fn range(&self, f: impl Fn(&Counts) -> u64) -> String {
        let (lo, hi) = self.counts.iter().map(f).fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}–{hi}")
        }
    }

    fn wall_ms(&self) -> (f64, f64, f64) {
        let mut ms: Vec<f64> = self.walls.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let median = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
        (median, ms[0], ms[n - 1])
    }
}

struct Bench {
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    latency_ms: u64,
    script: Script,
    /// Tenants started so far (each gets its own journal file).
    tenants: usize,
    failures: Vec<String>,
}

/// A fresh tenant: reset state file, a simulator serving it, an empty journal.
struct Tenant {
    server: DemoServer,
    journal: Arc<dyn Journal>,
}

impl Bench {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            let what = what.into();
            eprintln!("SANITY CHECK FAILED: {what}");
            self.failures.push(what);
        }
    }

    /// `shared_delay_ms`: how long a conversion to shared takes to become visible.
    fn fresh_tenant(&mut self, shared_delay_ms: u64) -> Tenant {
        self.tenants += 1;
        let state = self.dir.path().join("tenant.json");
        demo::reset(&state).expect("resetting the demo state file");
        let knobs = Knobs { latency_ms: self.latency_ms, shared_delay_ms, ..Knobs::default() };
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let server = self.rt.block_on(DemoServer::start(DemoConfig { state_path: state, knobs }, addr)).expect("starting the demo tenant");
        let journal_path = self.dir.path().join(format!("journal-{}.db", self.tenants));
        let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open(&journal_path).expect("opening the journal"));
        Tenant { server, journal }
    }

    /// The clients for one run, as `Connection::providers` builds them: Graph and Exchange Online,
    /// both tokens fetched together.
    fn client(&self, server: &DemoServer, way: Way, read_only: bool) -> Providers {
        let mut cfg = GraphConfig::new(server.base_url(), server.token_url(), DEMO_CLIENT_ID, Secret::new(DEMO_CLIENT_SECRET));
        cfg.read_only = read_only;
        cfg.batching = way.batching;
        let dir: Arc<dyn CloudDirectory> = GraphDirectory::new(GraphClient::new(cfg).expect("building the Graph client"));
        let mut exo = GraphConfig::new(server.exchange_base_url(), server.token_url(), DEMO_CLIENT_ID, Secret::new(DEMO_CLIENT_SECRET));
        exo.scope = EXO_SCOPE.into();
        exo.read_only = read_only;
        exo.batching = way.batching;
        let exchange: Arc<dyn ExchangeOnline> = InvokeCommandExchange::new(exo, DEMO_TENANT_ID).expect("building the Exchange client");
        // Both tokens at once, as `Connection::providers` fetches them.
        let (graph, exo) = self.rt.block_on(async { tokio::join!(dir.authenticate(), exchange.authenticate()) });
        graph.expect("authenticating against the demo tenant");
        exo.expect("the Exchange token of the demo tenant");
        let mut providers = Providers::default();
        offboard_host::entra::provide_cloud(&mut providers, dir);
        offboard_host::exchange::provide_exchange(&mut providers, exchange);
        providers
    }

    fn run(&self, t: &Tenant, providers: Providers, way: Way, user: &str, mode: Mode) -> Report {
        self.run_observed(t, providers, way, user, mode, None)
    }

    fn run_observed(
        &self,
        t: &Tenant,
        providers: Providers,
        way: Way,
        user: &str,
        mode: Mode,
        observer: Option<Arc<dyn StartObserver>>,
    ) -> Report {
        let req = RunRequest {
            tenant: TENANT.into(),
            directory: "cloud".into(),
            user: user.into(),
            script: self.script.clone(),
            mode,
            org: Default::default(),
            sets: vec![],
            denied: vec![],
            exec: ExecOptions { concurrency: way.concurrency, ..ExecOptions::default() },
            engine: EngineOptions::default(),
            observer,
            protection: Default::default(),
            work_item: None,
        };
        // run_script blocks on the runtime itself: call it from this plain thread, never a task.
        run_script(self.rt.handle(), t.journal.clone(), providers, req).expect("run_script")
    }

    /// One run with a fresh client; returns its wall time and counts.
    fn timed_run(&mut self, t: &Tenant, way: Way, user: &str, mode: Mode, label: &str) -> (Duration, Counts) {
        let sim_before = t.server.stats();
        let started = Instant::now();
        let providers = self.client(&t.server, way, mode == Mode::Plan);
        let trips = Arc::new(PhaseTrips { stats: Box::new(t.server.stats_source()), seen: Default::default() });
        let report = self.run_observed(t, providers, way, user, mode, Some(Arc::new(StartPhaseTrips(trips.clone()))));
        let wall = started.elapsed();
        let sim = t.server.stats();
        let mut counts = counts(&report, &sim_before, &sim);
        let seen = trips.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        counts.phases = phase_deltas(sim_before.round_trips, &seen, sim.round_trips);
        counts.wait_late_ms = wait_late_ms(t, &report, &sim);
        self.check_report(&report, way, label);
        self.check_counts(&counts, wall, &format!("{} / {label}", way.name));
        (wall, counts)
    }

    /// What must hold for every run: the simulator saw what the client sent, and no chain of
    /// `round_trips` exchanges, each delayed `latency_ms`, fits in less than their sum.
    fn check_counts(&mut self, c: &Counts, wall: Duration, ctx: &str) {
        self.check(
            c.requests == c.sim_requests,
            format!("{ctx}: client sent {} requests, simulator received {}", c.requests, c.sim_requests),
        );
        for (who, rt) in [("client", c.round_trips), ("simulator", c.sim_round_trips)] {
            let floor = Duration::from_millis(rt * self.latency_ms);
            self.check(wall >= floor, format!("{ctx}: {wall:?} is less than {rt} round trips ({who}) x {} ms", self.latency_ms));
        }
    }

    fn check_report(&mut self, report: &Report, way: Way, label: &str) {
        let ctx = format!("{} / {label} ({})", way.name, report.user);
        self.check(outcome_error(report).is_none(), format!("{ctx}: the run did not succeed: {:?}", report.error));
        self.check(report.stats.retries == 0, format!("{ctx}: {} retries with no fault injected", report.stats.retries));
        if way.batching {
            self.check(report.stats.batches > 0, format!("{ctx}: batching is on but no $batch was sent"));
        } else {
            self.check(report.stats.batches == 0, format!("{ctx}: batching is off but {} $batch sent", report.stats.batches));
            // Not `==`: resolving a user reads it, its groups, its manager and the SKUs at once
            // (`GraphDirectory::resolve_user`), whatever the executor's concurrency.
            self.check(
                report.stats.round_trips <= report.stats.requests,
                format!("{ctx}: {} round trips for {} requests", report.stats.round_trips, report.stats.requests),
            );
        }
    }

    /// Plan, apply and apply again for the leaver, `iterations` times from a fresh tenant.
    fn single(&mut self, way: Way, iterations: usize, warmup: bool) -> Vec<Row> {
        let mut rows = vec![Row::new(way, "plan"), Row::new(way, "apply"), Row::new(way, "apply again")];
        for i in 0..iterations + usize::from(warmup) {
            let t = self.fresh_tenant(demo::DEFAULT_SHARED_DELAY_MS); // the CLI's default: the wait really waits
            let runs = [(Mode::Plan, "plan"), (Mode::Apply, "apply"), (Mode::Apply, "apply again")];
            let mut got = Vec::new();
            for (mode, label) in runs {
                got.push(self.timed_run(&t, way, USER, mode, label));
            }
            self.rt.block_on(t.server.shutdown());
            if warmup && i == 0 {
                continue; // first connections, page cache, allocator: not what we measure
            }
            for (row, (wall, counts)) in rows.iter_mut().zip(got) {
                row.walls.push(wall);
                row.counts.push(counts);
            }
        }
        rows
    }

    /// `users` offboarded one after another (apply only) with one client, from a fresh tenant.
    fn bulk(&mut self, way: Way, users: &[String], iterations: usize) -> Row {
        let mut row = Row::new(way, "bulk apply");
        for _ in 0..iterations {
            let t = self.fresh_tenant(0); // as before: the bulk section is measured apart
            let started = Instant::now();
            let providers = self.client(&t.server, way, false);
            let mut reports = Vec::new();
            for user in users {
                let report = self.run(&t, providers.clone(), way, user, Mode::Apply);
                self.check(outcome_error(&report).is_none(), format!("{} / bulk ({user}): {:?}", way.name, report.error));
                reports.push(report);
            }
            let wall = started.elapsed();
            let sim = t.server.stats();
            // The client's counters are cumulative: the last report holds the whole bulk's figures.
            let mut c = counts(reports.last().expect("at least one user"), &SimStats::default(), &sim);
            c.steps_done = reports.iter().map(|r| r.count(StepStatus::Done)).sum();
            c.steps_planned = 0;
            self.check_counts(&c, wall, &format!("{} / bulk apply", way.name));
            self.rt.block_on(t.server.shutdown());
            row.walls.push(wall);
            row.counts.push(c);
        }
        row
    }
}

fn counts(report: &Report, sim_before: &SimStats, sim_after: &SimStats) -> Counts {
    let s = &report.stats;
    Counts {
        requests: s.requests,
        writes: s.writes,
        operations: s.operations,
        batches: s.batches,
        round_trips: s.round_trips,
        retries: s.retries,
        sim_requests: sim_after.http_requests - sim_before.http_requests,
        sim_round_trips: sim_after.round_trips - sim_before.round_trips,
        steps_planned: report.count(StepStatus::Planned),
        steps_done: report.count(StepStatus::Done),
        phases: vec![],
        wait_late_ms: None,
    }
}

/// How late the wait saw the conversion: from when the simulator made it visible to the wait
/// step's outcome (when its poll found it shared). `None` when this run converted nothing.
fn wait_late_ms(t: &Tenant, report: &Report, sim: &SimStats) -> Option<i64> {
    let visible = sim.type_change_visible_ms?;
    let run = t.journal.get_run(&report.run_id).ok()??;
    let converted = run.steps.iter().any(|s| s.step.action == "convert_to_shared_mailbox" && s.step.status == StepStatus::Done);
    let wait = run.steps.iter().find(|s| s.step.action == "wait_for_shared_mailbox")?;
    converted.then(|| wait.outcome_at.map(|at| at.timestamp_millis() - visible))?
}

/// Records the simulator's round trips as each phase ends (through the run's observer).
struct PhaseTrips {
    stats: Box<dyn Fn() -> SimStats + Send + Sync>,
    seen: std::sync::Mutex<Vec<(String, u64)>>,
}

impl RunObserver for PhaseTrips {
    fn phase_done(&self, phase: &str, _steps: &[StepReport]) {
        let rt = (self.stats)().round_trips;
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push((phase.to_string(), rt));
    }
    fn finish(&self, _status: RunStatus, _steps: &[StepReport], _error: Option<&ReportError>) -> ObserverReport {
        ObserverReport::default()
    }
}

struct StartPhaseTrips(Arc<PhaseTrips>);

impl StartObserver for StartPhaseTrips {
    fn start(&self, _run: &RunInfo) -> Option<Arc<dyn RunObserver>> {
        Some(self.0.clone())
    }
}

/// Per-phase deltas from the cumulative figures seen at each phase's end.
fn phase_deltas(before: u64, seen: &[(String, u64)], after: u64) -> Vec<(String, u64)> {
    let mut last = before;
    let mut out = Vec::new();
    for (phase, rt) in seen {
        out.push((phase.clone(), rt - last));
        last = *rt;
    }
    out.push(("end".to_string(), after - last));
    out
}

/// The round trips of a run without the wait's polls beyond its first: the figure the targets are
/// set in (the polls depend on how long the conversion takes, not on the client).
fn rt_without_extra_polls(c: &Counts) -> u64 {
    c.sim_round_trips - wait_trips(c).saturating_sub(1)
}

/// The round trips of the wait for the shared mailbox: one poll each.
fn wait_trips(c: &Counts) -> u64 {
    c.phases.iter().find(|(p, _)| p == "wait_for_shared").map_or(0, |(_, n)| *n)
}

/// The most sequential round trips (as the simulator counts them) one batched offboarding of the
/// leaver may take: plan, apply, a re-run with nothing to do (issue #15's targets; the CLI's
/// figures are checked by `tests/integration/round_trips.rs`). Counted without the wait's polls
/// beyond its first (how many it takes is the conversion's delay divided by the poll interval).
const MAX_ROUND_TRIPS: [(&str, u64); 3] = [("plan", 6), ("apply", 12), ("apply again", 4)];

/// Checks on rows that are not about a single report.
fn check_rows(b: &mut Bench, rows: &[&Row]) {
    for r in rows {
        let ctx = format!("{} / {}", r.way.name, r.run);
        let c = r.counts();
        if r.way.batching {
            for (run, max) in MAX_ROUND_TRIPS.iter().filter(|(run, _)| *run == r.run) {
                let worst = r.counts.iter().map(rt_without_extra_polls).max().unwrap_or(0);
                b.check(worst <= *max, format!("{ctx}: {worst} sequential round trips (simulator), more than {max} for {run}"));
            }
        }
        b.check(r.deterministic(), format!("{ctx}: operations, writes or steps differ between iterations: {:?}", r.counts));
        match r.run {
            "plan" => {
                b.check(c.writes == 0, format!("{ctx}: plan sent {} writes", c.writes));
                b.check(c.steps_planned > 0, format!("{ctx}: plan found nothing to do on a fresh tenant"));
            }
            "apply" => b.check(c.writes > 0 && c.steps_done > 0, format!("{ctx}: apply sent no write")),
            "apply again" => b.check(c.writes == 0 && c.steps_done == 0, format!("{ctx}: second apply sent {} writes", c.writes)),
            _ => {}
        }
    }
}

/// Batched against one at a time, run by run.
fn check_pair(b: &mut Bench, batched: &Row, serial: &Row) {
    let (x, y) = (batched.counts(), serial.counts());
    let ctx = batched.run;
    // With writes, the executor's concurrency puts a phase's actions in the same round trip. A
    // plan only reads, and its reads (one `resolve_user` per phase) overlap in both ways: there
    // batching saves requests, not round trips.
    if x.writes > 0 {
        b.check(
            x.round_trips < y.round_trips,
            format!("{ctx}: batched {} round trips, not below one at a time {}", x.round_trips, y.round_trips),
        );
    } else {
        b.check(
            x.round_trips <= y.round_trips,
            format!("{ctx}: batched {} round trips, above one at a time {}", x.round_trips, y.round_trips),
        );
    }
    b.check(x.requests < y.requests, format!("{ctx}: batched {} requests, not below one at a time {}", x.requests, y.requests));
    b.check(x.writes == y.writes, format!("{ctx}: {} writes batched, {} one at a time: not the same calls", x.writes, y.writes));
    // The wait's polls (one operation and one round trip each) depend on when the conversion
    // became visible, not on the way: compared without them.
    let (xo, yo) = (x.operations - wait_trips(x), y.operations - wait_trips(y));
    b.check(xo == yo, format!("{ctx}: {xo} operations batched, {yo} one at a time (without the wait's polls)"));
    b.check(x.steps_done == y.steps_done && x.steps_planned == y.steps_planned, format!("{ctx}: different steps in the two ways"));
}

fn table(rows: &[&Row], latency_ms: u64) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "run",
        "way",
        "wall ms median",
        "min–max",
        "requests",
        "writes",
        "ops",
        "$batch",
        "round trips",
        "sim round trips",
        format!("floor ms (sim rt×{latency_ms})").as_str(),
        "sim requests",
    ]);
    for r in rows {
        let c = r.counts();
        let (median, min, max) = r.wall_ms();
        let cells = vec![
            Cell::new(r.run),
            Cell::new(r.way.name),
            Cell::new(format!("{median:.0}")),
            Cell::new(format!("{min:.0}–{max:.0}")),
            Cell::new(r.range(|c| c.requests)),
            Cell::new(c.writes),
            Cell::new(c.operations),
            Cell::new(r.range(|c| c.batches)),
            Cell::new(r.range(|c| c.round_trips)),
            Cell::new(r.range(|c| c.sim_round_trips)),
            Cell::new(r.range(|c| c.sim_round_trips * latency_ms)),
            Cell::new(r.range(|c| c.sim_requests)),
        ];
        t.add_row(cells);
    }
    for i in 2..t.column_count() {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// Sequential round trips (simulator) per phase, for each run and way (first measured iteration).
fn phase_table(rows: &[&Row]) -> Table {
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for (p, _) in &r.counts().phases {
            if !names.contains(p) {
                names.push(p.clone());
            }
        }
    }
    // "end" last: what came after the last phase.
    names.retain(|n| n != "end");
    names.push("end".into());
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["phase".to_string()];
    header.extend(rows.iter().map(|r| format!("{} / {}", r.run, r.way.name)));
    t.set_header(header);
    for n in &names {
        let mut cells = vec![Cell::new(n)];
        for r in rows {
            let v = r.counts().phases.iter().find(|(p, _)| p == n).map(|(_, v)| v.to_string()).unwrap_or_else(|| "–".into());
            cells.push(Cell::new(v).set_alignment(CellAlignment::Right));
        }
        t.add_row(cells);
    }
    let mut total = vec![Cell::new("total")];
    total.extend(rows.iter().map(|r| Cell::new(r.range(|c| c.sim_round_trips)).set_alignment(CellAlignment::Right)));
    t.add_row(total);
    t
}

fn row_json(r: &Row) -> Value {
    let c = r.counts();
    let (median, min, max) = r.wall_ms();
    json!({
        "run": r.run,
        "way": r.way.name,
        "concurrency": r.way.concurrency,
        "batching": r.way.batching,
        "iterations": r.walls.len(),
        "wall_ms": { "median": median, "min": min, "max": max },
        "requests": c.requests,
        "writes": c.writes,
        "operations": c.operations,
        "batches": c.batches,
        "round_trips": c.round_trips,
        "retries": c.retries,
        "sim_http_requests": c.sim_requests,
        "sim_round_trips": c.sim_round_trips,
        "steps_planned": c.steps_planned,
        "steps_done": c.steps_done,
        "per_iteration": r.walls.iter().zip(&r.counts).map(|(w, c)| {
            let mut v = json!(c);
            v["wall_ms"] = json!(w.as_secs_f64() * 1000.0);
            v
        }).collect::<Vec<_>>(),
    })
}

fn json_path() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench-offboarding.json")
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let latency_ms = env_num("BENCH_LATENCY_MS", if quick { 10 } else { 50 });
    let iterations = env_num("BENCH_ITERATIONS", if quick { 1 } else { 5 }).max(1) as usize;
    let bulk_users = env_num("BENCH_BULK", if quick { 5 } else { 20 }) as usize;
    let bulk_iterations = if quick { 1 } else { 3 };
    let warmup = !quick;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let mut b = Bench {
        rt,
        dir: tempfile::tempdir().expect("temp dir"),
        latency_ms,
        script: Script::inline("default.rhai", DEFAULT_SCRIPT),
        tenants: 0,
        failures: vec![],
    };
    let begun = Instant::now();
    println!(
        "offboarding benchmark: {USER}, default.rhai, {latency_ms} ms latency per HTTP request, {iterations} iteration(s){}",
        if warmup { " after 1 warm-up" } else { "" }
    );
    println!(
        "batched = executor concurrency {} + $batch coalescing; one at a time = concurrency 1, batching off\n",
        batched_way().concurrency
    );

    let batched = b.single(batched_way(), iterations, warmup);
    let serial = b.single(ONE_AT_A_TIME, iterations, warmup);
    let mut rows: Vec<&Row> = Vec::new();
    for (x, y) in batched.iter().zip(&serial) {
        rows.push(x);
        rows.push(y);
    }
    check_rows(&mut b, &rows);
    for (x, y) in batched.iter().zip(&serial) {
        check_pair(&mut b, x, y);
    }
    println!("one offboarding ({USER}), conversion to shared visible after {} ms (the CLI's default)", demo::DEFAULT_SHARED_DELAY_MS);
    println!("{}", table(&rows, latency_ms));
    println!("sequential round trips per phase (simulator; a phase counts those since the previous phase with steps ended, the first includes the token and resolving the user)");
    println!("{}", phase_table(&rows));
    for r in rows.iter().filter(|r| r.run == "apply") {
        let late: Vec<String> = r.counts.iter().map(|c| c.wait_late_ms.map_or("–".into(), |ms| format!("{ms} ms"))).collect();
        let polls = wait_trips(r.counts());
        println!(
            "{}: the wait saw the conversion {} after it became visible ({polls} round trip(s) in the wait; {} without the polls beyond the first)",
            r.way.name,
            late.join(", "),
            rt_without_extra_polls(r.counts()),
        );
        b.check(
            r.counts.iter().all(|c| c.wait_late_ms.is_some_and(|ms| (0..1000).contains(&ms))),
            format!("{}: the wait saw the conversion late or never: {late:?}", r.way.name),
        );
    }
    println!();
    let (bm, _, _) = batched[1].wall_ms();
    let (sm, _, _) = serial[1].wall_ms();
    println!(
        "apply: {:.1}x faster batched ({} vs {} sequential round trips, {} vs {} HTTP requests)\n",
        sm / bm,
        batched[1].counts().round_trips,
        serial[1].counts().round_trips,
        batched[1].counts().requests,
        serial[1].counts().requests
    );

    let mut bulk_json = Value::Null;
    if bulk_users > 0 {
        let users = demo::ordinary_users(bulk_users);
        let x = b.bulk(batched_way(), &users, bulk_iterations);
        let y = b.bulk(ONE_AT_A_TIME, &users, bulk_iterations);
        let bulk_rows = [&x, &y];
        for r in bulk_rows {
            let ctx = format!("{} / bulk", r.way.name);
            b.check(r.deterministic(), format!("{ctx}: operations, writes or steps differ between iterations"));
            b.check(r.counts().writes > 0, format!("{ctx}: no write sent"));
        }
        check_pair(&mut b, &x, &y);
        println!("bulk: {} ordinary users offboarded one after another, one client, {bulk_iterations} iteration(s)", users.len());
        println!("{}", table(&bulk_rows, latency_ms));
        let (bm, _, _) = x.wall_ms();
        let (sm, _, _) = y.wall_ms();
        println!("bulk: {:.1}x faster batched; {:.0} ms vs {:.0} ms per user\n", sm / bm, bm / users.len() as f64, sm / users.len() as f64);
        bulk_json = json!({ "users": users, "rows": bulk_rows.iter().map(|r| row_json(r)).collect::<Vec<_>>() });
    }

    b.failures.extend(paced_bulk::run(quick, latency_ms));
    let elapsed = begun.elapsed();
    let out = json!({
        "user": USER,
        "script": "default.rhai",
        "latency_ms": latency_ms,
        "iterations": iterations,
        "quick": quick,
        "single": rows.iter().map(|r| row_json(r)).collect::<Vec<_>>(),
        "bulk": bulk_json,
        "sanity_failures": b.failures,
        "bench_seconds": elapsed.as_secs_f64(),
    });
    let path = json_path();
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| std::fs::write(&path, serde_json::to_vec_pretty(&out).unwrap_or_default()));
    match written {
        Ok(()) => println!("results: {}", path.display()),
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            b.failures.push(format!("writing {}", path.display()));
        }
    }
    println!("bench took {:.1} s", elapsed.as_secs_f64());
    if b.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("{} sanity check(s) failed", b.failures.len());
        ExitCode::FAILURE
    }
}
