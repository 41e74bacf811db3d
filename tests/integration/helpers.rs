//! Running the binary and reading what it left behind.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub use offboard_host::demo::ids;

pub const BIN: &str = env!("CARGO_BIN_EXE_offboard-host");
pub const CLOUD: &str = ids::LEAVER_CLOUD_UPN;
pub const SYNCED: &str = ids::LEAVER_SYNCED_UPN;
/// Writes a clean offboarding of leaver.cloud applies with the default script: 13 through Graph
/// (11 in Entra ID, 2 Intune devices retired) and 11 in Exchange Online (2 devices blocked and
/// removed, 1 inbox rule, forwarding, manager access, conversion, address lists, 2 distribution
/// lists).
pub const CLEAN_WRITES: u64 = 24;
/// Steps `done` in that run (the wait for the shared mailbox is `already_done`: see `Cmd::new`).
pub const CLEAN_DONE: usize = 22;
/// Steps in the plan of leaver.cloud (identity, mailbox, Intune devices, PSA contact), and how
/// many are `planned` (the others are skipped).
pub const PLAN_STEPS: usize = 29; // with disable_psa_contact (skipped: no PSA)
pub const PLAN_PLANNED: usize = 23;

/// The state of one Intune managed device in the demo tenant.
pub fn device_in(state: &Value, id: &str) -> Value {
    state["managedDevices"].as_array().unwrap().iter().find(|d| d["id"] == id).cloned().unwrap_or_else(|| panic!("device {id}"))
}

/// One test's world: a fresh `OFFBOARD_HOME`.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home { dir: tempfile::tempdir().expect("temp dir") }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Cmd::new(self.path(), args)
    }
    pub fn state_path(&self) -> PathBuf {
        self.path().join("demo").join("tenant.json")
    }
    pub fn journal_path(&self) -> PathBuf {
        self.path().join("journal.db")
    }
    /// The demo tenant's state file as JSON.
    pub fn state(&self) -> Value {
        let bytes = std::fs::read(self.state_path()).expect("demo state file");
        serde_json::from_slice(&bytes).expect("state json")
    }
    pub fn stats(&self) -> offboard_host::demo::SimStats {
        offboard_host::demo::read_stats(&self.state_path()).expect("sim stats")
    }
    pub fn user(&self, id: &str) -> Value {
        user_in(&self.state(), id)
    }
    pub fn group_members(&self, gid: &str) -> Vec<String> {
        group_members_in(&self.state(), gid)
    }
    /// `run default.rhai --user <upn> --yes --json` → (exit, report).
    pub fn apply(&self, upn: &str) -> (i32, Value) {
        let o = self.cmd(["run", "default.rhai", "--user", upn, "--yes", "--json"]).run();
        (o.code, o.json())
    }
    pub fn plan(&self, upn: &str) -> (i32, Value) {
        let o = self.cmd(["plan", "default.rhai", "--user", upn, "--json"]).run();
        (o.code, o.json())
    }
    pub fn runs(&self) -> Vec<Value> {
        let o = self.cmd(["runs", "list", "--json"]).run();
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.json().as_array().cloned().expect("runs array")
    }
    pub fn run_detail(&self, id: &str) -> Value {
        let o = self.cmd(["runs", "show", id, "--json"]).run();
        assert_eq!(o.code, 0, "{}", o.stderr);
        o.json()
    }
    /// Write a file into the home (scripts, configs) and return its path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

pub fn user_in(state: &Value, id: &str) -> Value {
    state["users"].as_array().unwrap().iter().find(|u| u["id"] == id).cloned().unwrap_or_else(|| panic!("user {id}"))
}

pub fn group_members_in(state: &Value, gid: &str) -> Vec<String> {
    let g = state["groups"].as_array().unwrap().iter().find(|g| g["id"] == gid).unwrap_or_else(|| panic!("group {gid}"));
    g["members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

pub fn skus_of(user: &Value) -> Vec<(String, Option<String>)> {
    user["licenseAssignmentStates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["skuId"].as_str().unwrap().to_string(), l["assignedByGroup"].as_str().map(String::from)))
        .collect()
}

/// The builder: args, env, stdin; always a fresh (or given) `OFFBOARD_HOME`, no config from the
/// environment or the working directory.
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }
}

impl Cmd {
    pub fn new<I, S>(home: &Path, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut cmd = Command::new(BIN);
        cmd.args(args.into_iter().map(|a| a.as_ref().to_string()));
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("OFFBOARD_") {
                cmd.env_remove(&k);
            }
        }
        // No ./offboard-host.toml may be picked up: run from inside the home.
        cmd.current_dir(home).env("OFFBOARD_HOME", home).env("NO_COLOR", "1").env_remove("RUST_LOG");
        // The conversion to a shared mailbox is instant, so the wait for it is `already_done` in
        // every run whatever the timing (tests/exchange.rs makes it slow on purpose).
        cmd.env("OFFBOARD_DEMO_SHARED_DELAY_MS", "0");
        Cmd { cmd, stdin: None }
    }
    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Cmd {
        self.cmd.env(k, v);
        self
    }
    pub fn stdin(mut self, bytes: &[u8]) -> Cmd {
        self.stdin = Some(bytes.to_vec());
        self
    }
    pub fn spawn(mut self) -> Child {
        self.cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.spawn().expect("spawn offboard-host")
    }
    pub fn run(mut self) -> Output {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = self.cmd.spawn().expect("spawn offboard-host");
        if let Some(bytes) = self.stdin.take() {
            let mut s = child.stdin.take().unwrap();
            let _ = s.write_all(&bytes);
        }
        let out = child.wait_with_output().expect("wait");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Steps of a report (or of `runs show`).
pub fn steps(report: &Value) -> &Vec<Value> {
    report["steps"].as_array().expect("steps")
}

/// (action, target) → status, for a report.
pub fn status_of<'a>(report: &'a Value, action: &str, target: &str) -> &'a str {
    let hits: Vec<&Value> = steps(report).iter().filter(|s| s["action"] == action && s["target"] == target).collect();
    assert!(!hits.is_empty(), "no step {action} {target} in {report:#}");
    hits[0]["status"].as_str().unwrap()
}

pub fn step<'a>(report: &'a Value, action: &str, target: &str) -> &'a Value {
    steps(report).iter().find(|s| s["action"] == action && s["target"] == target).unwrap_or_else(|| panic!("no step {action} {target}"))
}

/// Assert the seeded leaver.cloud is fully offboarded in `state` (compared with `seed`).
pub fn assert_cloud_offboarded(state: &Value, seed: &Value) {
    let u = user_in(state, ids::LEAVER_CLOUD_ID);
    let s = user_in(seed, ids::LEAVER_CLOUD_ID);
    assert_eq!(u["accountEnabled"], false, "account still enabled");
    assert_ne!(u["lastPasswordChangeDateTime"], s["lastPasswordChangeDateTime"], "password not reset");
    assert!(u["passwordSha256"].is_string(), "no password set");
    assert_ne!(u["signInSessionsValidFromDateTime"], s["signInSessionsValidFromDateTime"], "sessions not revoked");
    assert!(u["managerId"].is_null(), "manager still set: {}", u["managerId"]);
    assert!(u["employeeId"].is_null(), "employee id still set: {}", u["employeeId"]);
    for g in [ids::GROUP_SALES_TEAM, ids::GROUP_PROJECT_FALCON, ids::GROUP_VISIO_LICENCE] {
        assert!(!group_members_in(state, g).contains(&ids::LEAVER_CLOUD_ID.to_string()), "still in {g}");
    }
    // Distribution lists and mail-enabled security groups go through Exchange Online.
    for g in [ids::GROUP_FINANCE_APPROVERS, ids::GROUP_SALES_DL] {
        assert!(!group_members_in(state, g).contains(&ids::LEAVER_CLOUD_ID.to_string()), "still in {g}");
    }
    // The synced group stays (changed in AD).
    assert!(group_members_in(state, ids::GROUP_HQ_FILESHARE).contains(&ids::LEAVER_CLOUD_ID.to_string()), "removed from the synced group");
    let skus: Vec<String> = skus_of(&u).into_iter().map(|(s, _)| s).collect();
    assert!(!skus.contains(&ids::SKU_SPE_E3.to_string()), "SPE_E3 still assigned");
    assert!(!skus.contains(&ids::SKU_POWER_BI_PRO.to_string()), "POWER_BI_PRO still assigned");
    assert!(!skus.contains(&ids::SKU_VISIOCLIENT.to_string()), "VISIO still assigned (licence group removed)");
}

/// The seeded tenant, for comparisons.
pub fn seed_state() -> Value {
    serde_json::to_value(offboard_host::demo::seed::seed()).unwrap()
}

/// Passwords the simulator recorded.
pub fn recorded_passwords(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter(|l| !l.is_empty()).map(String::from).collect()
}

/// A second apply changes nothing: exit 0, simulator writes unchanged, steps already_done/skipped.
pub fn assert_rerun_sends_nothing(home: &Home, upn: &str) {
    let before = home.stats().writes;
    let (code, r) = home.apply(upn);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["stats"]["writes"], 0, "{r:#}");
    assert_eq!(home.stats().writes, before, "the re-run sent writes");
    for s in steps(&r) {
        assert!(s["status"] == "already_done" || s["status"] == "skipped" || s["status"] == "needs_action", "{s}");
    }
}
