//! The bench's paced-bulk section: a bulk that outlasts one window of Graph's write quota, run the
//! way the CLI runs it (the `offboard-host` binary, `run --users-file`), against the demo tenant
//! enforcing a quota scaled to a tenth (300 writes per 15 s), with the CLI's default conversion
//! delay. The client is given the same quota in its configuration (`graph_write_quota`), never by
//! the simulator.
//!
//! Printed: users/min, and the share of the quota used after the first window (Graph writes the
//! simulator received from one window after the first write to the last write, against the
//! quota's rate over that time; sampled, so with the resolution printed beside it, wide in quick
//! mode's short run; that the quota was never exceeded is the simulator's count of quota 429s), with the quota 429s (must be 0) and users lost (not `succeeded`, must be 0). The writes
//! over time are read from the simulator's stats in its state file, which it flushes five times a
//! second. `BENCH_QUICK=1`: 12 uniform users at 24 writes per 3 s (CI runs it under test);
//! `BENCH_PACED_USERS` overrides the number of users.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Run the section; what failed, if anything.
pub fn run(quick: bool, latency_ms: u64) -> Vec<String> {
    let (writes, secs) = if quick { (24u64, 3u64) } else { (300, 15) };
    let n = super::env_num("BENCH_PACED_USERS", if quick { 12 } else { 233 }) as usize;
    if n == 0 {
        return vec![];
    }
    match measure(n, writes, secs, latency_ms, quick) {
        Ok((summary, failures)) => {
            let path = super::json_path().with_file_name("bench-bulk-paced.json");
            if let Err(e) = std::fs::write(&path, serde_json::to_vec_pretty(&summary).unwrap_or_default()) {
                return vec![format!("paced bulk: writing {}: {e}", path.display())];
            }
            println!("paced bulk results: {}", path.display());
            failures
        }
        Err(e) => vec![format!("paced bulk: {e}")],
    }
}

/// Ordinary users: the first `n` that hold no directory role (the guard refuses those), or in
/// quick mode the uniform ones after the teams (no group, one licence).
fn users(n: usize, quick: bool) -> Vec<String> {
    use offboard_host::demo::seed::{seed, NAMED_USERS, TEAM_USERS};
    let s = seed();
    let admin = |id: &str| s.directory_roles.iter().any(|r| r.members.iter().any(|m| m == id));
    let from = if quick { NAMED_USERS + TEAM_USERS } else { NAMED_USERS };
    s.users[from..].iter().filter(|u| !admin(&u.id)).take(n).map(|u| u.user_principal_name.clone()).collect()
}

fn cli(home: &Path, args: &[&str], quota: &str, latency_ms: u64) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_offboard-host"));
    c.args(args).current_dir(home).env("OFFBOARD_HOME", home).env("NO_COLOR", "1");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OFFBOARD_") {
            c.env_remove(k);
        }
    }
    // The simulator's quota and latency; the conversion delay stays the CLI's default.
    c.env("OFFBOARD_HOME", home).env("OFFBOARD_DEMO_GRAPH_WRITE_QUOTA", quota).env("OFFBOARD_DEMO_LATENCY_MS", latency_ms.to_string());
    c
}

/// The simulator's stats as last flushed to its state file.
fn sample(state: &Path) -> Option<offboard_host::demo::SimStats> {
    offboard_host::demo::read_stats(state).ok()
}

/// Graph writes the simulator received (its `writes` count Exchange cmdlets too), as the quota
/// counts them.
fn graph_writes(s: &offboard_host::demo::SimStats) -> u64 {
    s.writes.saturating_sub(s.exo_writes)
}

fn measure(n: usize, writes: u64, secs: u64, latency_ms: u64, quick: bool) -> Result<(Value, Vec<String>), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let home = dir.path();
    let quota = format!("{writes}/{secs}");
    std::fs::write(
        home.join("offboard-host.toml"),
        format!("[tenants.demo]\ndirectory = \"cloud\"\ndemo = true\ngraph_write_quota = \"{quota}\"\n"),
    )
    .map_err(|e| e.to_string())?;
    let users = users(n, quick);
    std::fs::write(home.join("users.csv"), format!("upn\n{}\n", users.join("\n"))).map_err(|e| e.to_string())?;
    let reset = cli(home, &["demo", "reset"], &quota, latency_ms).output().map_err(|e| e.to_string())?;
    if !reset.status.success() {
        return Err(format!("demo reset: {}", String::from_utf8_lossy(&reset.stderr)));
    }
    let state = home.join("demo").join("tenant.json");
    println!(
        "paced bulk: {} users, `run --users-file --yes --json`, quota {writes} writes / {secs} s (client and simulator), {latency_ms} ms latency, default conversion delay",
        users.len()
    );
    let begun = Instant::now();
    let mut child = cli(home, &["run", "default.rhai", "--users-file", "users.csv", "--yes", "--json"], &quota, latency_ms)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    // The child's output is read after it exits; a bulk's JSON fits the pipe only if drained,
    // so drain it in a thread.
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).map(|_| v)
    });
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let status = loop {
        if let Some(s) = sample(&state) {
            samples.push((begun.elapsed().as_secs_f64(), graph_writes(&s)));
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let wall = begun.elapsed().as_secs_f64();
    let stdout = reader.join().map_err(|_| "reader panicked")?.map_err(|e| e.to_string())?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    let doc: Value = serde_json::from_slice(&stdout).map_err(|e| format!("bulk output ({status}): {e}; stderr: {stderr}"))?;
    let stats = sample(&state).ok_or("no simulator stats")?;
    let lost = doc["users"].as_array().map_or(n, |a| a.iter().filter(|r| r["status"] != "succeeded").count());

    // From one window after the first write to the last one.
    let total = graph_writes(&stats);
    let first = samples.iter().find(|(_, w)| *w > 0).map(|(t, _)| *t).unwrap_or(0.0);
    let last = samples.iter().find(|(_, w)| *w >= total).map(|(t, _)| *t).unwrap_or(wall);
    let from = first + secs as f64;
    let at = |t: f64| samples.iter().rev().find(|(s, _)| *s <= t).map_or(0, |(_, w)| *w);
    let rate = writes as f64 / secs as f64;
    let share = if last > from { (total - at(from)) as f64 / ((last - from) * rate) } else { f64::NAN };
    // The stats are flushed every 200 ms and read every 250 ms: either end of the span may be off
    // by that much, so the share is known to about this many points either way.
    let resolution = if last > from { 2.0 * 0.45 / (last - from) * 100.0 } else { f64::NAN };
    let per_min = users.len() as f64 / (wall / 60.0);
    println!(
        "paced bulk: {:.1} s, {per_min:.0} users/min, {total} Graph writes ({} applied), {:.0} % (± {resolution:.0}) of the quota used after the first window, {} quota 429s, {lost} lost{}",
        wall,
        stats.writes_applied,
        share * 100.0,
        stats.quota_throttled,
        if last > from { "" } else { " (the bulk did not outlast one window)" }
    );
    let mut failures = Vec::new();
    if stats.quota_throttled > 0 {
        failures.push(format!("paced bulk: {} quota 429s", stats.quota_throttled));
    }
    if lost > 0 {
        failures.push(format!("paced bulk: {lost} user(s) not succeeded: {stderr}"));
    }
    let summary = json!({
        "users": users.len(), "quota": quota, "latency_ms": latency_ms, "wall_s": wall, "users_per_min": per_min,
        "graph_writes": total, "writes_applied": stats.writes_applied, "quota_share_after_first_window": share, "share_resolution_points": resolution,
        "quota_429s": stats.quota_throttled, "lost": lost, "samples": samples,
    });
    Ok((summary, failures))
}
