//! Script authoring through the binary: `check`, `docs`, and the REPL driven through a pipe and
//! through a real pseudo-terminal (util-linux `script`), against the built-in demo tenant.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_offboard-host");

/// The binary with a fresh home, run from `dir` (no offboard-host.toml there: the demo tenant).
fn cmd(home: &Path, dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir).env("OFFBOARD_HOME", home).env_remove("OFFBOARD_CONFIG").env_remove("OFFBOARD_TENANT").env("NO_COLOR", "1");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn sim_writes(home: &Path) -> u64 {
    offboard_host::demo::read_stats(&home.join("demo").join("tenant.json")).unwrap().writes
}

#[test]
fn check_reports_problems_with_locations_and_exit_code_3() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let dir = tmp.path();
    std::fs::write(dir.join("typo.rhai"), "let user = graph::get_user(USER);\ngraph::disabel_account(user);\n").unwrap();
    std::fs::write(dir.join("syntax.rhai"), "let a = 1;\nlet b = (;\n").unwrap();
    std::fs::write(dir.join("escape.rhai"), "import \"../../etc/x\" as x;\n").unwrap();
    // What Rhai's AST shows and a text scanner did not: a string where a User is needed, a
    // method that does not exist, a function pointer to nothing.
    std::fs::write(dir.join("types.rhai"), "graph::disable_account(\"upn\");\nlet a = [1];\na.pussh(2);\nlet f = Fn(\"nothing\");\n")
        .unwrap();

    let (code, out, _) = run(cmd(&home, dir).args(["check", "default.rhai"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: default.rhai"));

    let (code, out, err) = run(cmd(&home, dir).args(["check", "typo.rhai", "syntax.rhai", "escape.rhai", "default.rhai"]));
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("typo.rhai:2:8: error: unknown function graph::disabel_account (did you mean graph::disable_account?)"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("syntax.rhai:2:") && l.contains(": error: ")), "{out}");
    assert!(out.contains("escape.rhai:1:1: error: cannot import '../../etc/x'"), "{out}");
    assert!(out.contains("ok: default.rhai"), "{out}");
    assert!(err.contains("3 problem(s) found"), "{err}");

    let (code, out, err) = run(cmd(&home, dir).args(["check", "types.rhai"]));
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("types.rhai:1:24: error: graph::disable_account: argument 1 (user) must be a User, not a string literal"),
        "{out}"
    );
    assert!(out.contains("types.rhai:3:3: error: unknown method '.pussh()' (did you mean .push?)"), "{out}");
    assert!(out.contains("types.rhai:4:9: error: Fn(\"nothing\"): no function 'nothing'"), "{out}");
    assert!(err.contains("3 problem(s) found"), "{err}");

    let (code, _, err) = run(cmd(&home, dir).args(["check", "no-such-script"]));
    assert_eq!(code, 2, "{err}");

    // A tenant's denials come from the configuration.
    let cfg = dir.join("offboard-host.toml");
    std::fs::write(&cfg, "[tenants.acme]\ndirectory = \"cloud\"\ndemo = true\ndeny = [\"graph.licenses\"]\n").unwrap();
    let (code, out, _) = run(cmd(&home, dir).args(["check", "default.rhai", "--tenant", "acme"]));
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("dir::licenses calls graph::remove_license, which needs the capability 'graph.licenses', which tenant 'acme' denies"),
        "{out}"
    );
    // No tenant was contacted: the demo tenant was never even started.
    assert!(!home.join("demo").exists());
}

#[test]
fn docs_writes_the_reference_and_the_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("ref");
    let (code, out, err) = run(cmd(tmp.path(), tmp.path()).args(["docs", "--out"]).arg(&out_dir));
    assert_eq!(code, 0, "{out}{err}");
    for (rel, text) in offboard_host::authoring::docs::generate() {
        assert_eq!(std::fs::read_to_string(out_dir.join(&rel)).unwrap(), text, "{rel}");
    }
    let graph = std::fs::read_to_string(out_dir.join("definitions/graph.d.rhai")).unwrap();
    assert!(graph.starts_with("module graph;\n"));
    for spec in offboard_host::ops::table().into_iter().filter(|s| s.module == "graph") {
        assert!(graph.contains(&format!("fn {}(", spec.name)), "{}", spec.name);
    }
}

const LEAVER: &str = "leaver.cloud@contoso.test";

#[test]
fn repl_reads_piped_input_and_refuses_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let input = format!(
        "let u = graph::get_user(\"{LEAVER}\");\nu.groups.len()\nhelp graph::get_user\nphase(\"lock\", || {{\n    graph::disable_account(u);\n}})\nu.account_enabled\n[1, 2,\n 3].len() * \\\n 14\n:quit\nprint(\"never\")\n"
    );
    let mut child = cmd(&home, tmp.path()).arg("repl").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "7", "{stdout}");
    assert!(stdout.contains("Resolve a user by UPN or object id"), "{stdout}");
    assert!(stdout.contains("graph::disable_account is a write; start the REPL with --allow-writes to use it"), "{stdout}");
    assert!(lines.contains(&"true") && lines.contains(&"42"), "{stdout}");
    assert!(!stdout.contains("never"), "input after :quit must not run");
    assert_eq!(sim_writes(&home), 0);
}

/// Output of a child, collected by a thread.
struct Collector(Arc<Mutex<Vec<u8>>>);

impl Collector {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.text().contains(needle) {
            assert!(Instant::now() < deadline, "timed out waiting for {needle:?}; output so far:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let rustyline put the terminal back in raw mode (it discards type-ahead when it does).
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn repl_line_editing_through_a_pseudo_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let mut child = Command::new("script")
        .args(["-qec", &format!("{BIN} repl"), "/dev/null"])
        .current_dir(tmp.path())
        .env("OFFBOARD_HOME", &home)
        .env_remove("OFFBOARD_CONFIG")
        .env_remove("OFFBOARD_TENANT")
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let buf = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = buf.clone();
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    let out = Collector(buf);
    let mut stdin = child.stdin.take().unwrap();
    let mut send = |s: &str| {
        stdin.write_all(s.as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    out.wait_for("`:quit` leaves");
    // Tab completes `graph::get_us` to `graph::get_user(`.
    send(&format!("graph::get_us\t\"{LEAVER}\").display_name\r"));
    out.wait_for("Lee Cloud");
    // Multi-line: the bracket is open, so the REPL asks for more.
    send("[10, 20,\r");
    out.wait_for("... ");
    send("30].len() * 14\r");
    out.wait_for("42");
    send(&format!("graph::disable_account(graph::get_user(\"{LEAVER}\"))\r"));
    out.wait_for("--allow-writes to use it");
    send("help graph::get_user\r");
    out.wait_for("Resolve a user by UPN");
    send(":quit\r");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the REPL did not quit:\n{}", out.text());
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    assert!(status.success(), "{}", out.text());
    let history = std::fs::read_to_string(home.join("repl_history")).unwrap();
    assert!(history.contains("help graph::get_user"), "{history}");
    assert_eq!(sim_writes(&home), 0);
}
