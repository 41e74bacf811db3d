//! Apply needs a person's confirmation: --yes, or "yes" typed on a terminal.

use crate::helpers::*;

#[test]
fn no_terminal_refuses_with_exit_6_and_writes_nothing() {
    let home = Home::new();
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD]).run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert!(o.stderr.contains("not confirmed"), "{}", o.stderr);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(home.stats().writes, 0);
    assert_eq!(home.user(ids::LEAVER_CLOUD_ID)["accountEnabled"], true);
    // Piped "yes" is not a terminal either.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD]).stdin(b"yes\n").run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert_eq!(home.stats().writes, 0);
}

#[test]
fn no_environment_variable_confirms() {
    let home = Home::new();
    let mut cmd = home.cmd(["run", "default.rhai", "--user", CLOUD]);
    for k in ["OFFBOARD_YES", "OFFBOARD_CONFIRM", "OFFBOARD_ASSUME_YES", "OFFBOARD_AUTO_APPROVE", "YES", "CI"] {
        cmd = cmd.env(k, "1");
    }
    let cmd = cmd.env("OFFBOARD_YES", "true");
    let o = cmd.run();
    assert_eq!(o.code, 6, "{}", o.stderr);
    assert_eq!(home.stats().writes, 0);
    // And the source has none: --yes is not bound to an env var.
    let args = include_str!("../../src/cli/args.rs");
    let yes_field = args.split("pub yes: bool").next().unwrap();
    let attr = yes_field.rsplit("#[arg(").next().unwrap();
    assert!(!attr.contains("env"), "--yes must not read the environment: #[arg({attr}");
}

fn have_script() -> bool {
    std::process::Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `cmdline` run by a shell in a pseudo-terminal (`script`), `answer` typed once the plan has had
/// time to print (the tty buffers it anyway): the exit code and what the terminal showed.
fn on_a_terminal(home: &Home, cmdline: &str, answer: &str) -> (i32, String) {
    let mut child = std::process::Command::new("script")
        .args(["-qec", cmdline, "/dev/null"])
        .current_dir(home.path())
        .env("OFFBOARD_HOME", home.path())
        .env_remove("COLUMNS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut s = child.stdin.take().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400));
        // A command that asks nothing may be gone already: a closed pipe is no failure then.
        let _ = s.write_all(format!("{answer}\n").as_bytes());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).replace('\r', ""))
}

fn interactive(home: &Home, answer: &str) -> i32 {
    let (code, text) = on_a_terminal(home, &format!("{BIN} run default.rhai --user {CLOUD} --color never"), answer);
    assert!(text.contains("Type 'yes' to continue"), "no prompt in: {text}");
    code
}
#[test]
fn interactive_prompt_no_then_yes() {
    if !have_script() {
        eprintln!("skipping: util-linux `script` not available");
        return;
    }
    let home = Home::new();
    assert_eq!(interactive(&home, "no"), 6);
    assert_eq!(home.stats().writes, 0);
    assert_eq!(home.user(ids::LEAVER_CLOUD_ID)["accountEnabled"], true);
    assert_eq!(interactive(&home, "yes"), 0);
    assert_eq!(home.stats().writes, CLEAN_WRITES);
    assert_cloud_offboarded(&home.state(), &seed_state());
}

/// The default offboarding at an 80-column terminal: every line fits, and the to-dos (the demo
/// leaver has three) are on screen above the prompt, not scrolled away by the step list.
#[test]
fn an_80_column_terminal_shows_the_plan_within_its_width_and_the_todos_above_the_prompt() {
    if !have_script() {
        eprintln!("skipping: util-linux `script` not available");
        return;
    }
    let home = Home::new();
    let cmdline = format!("stty cols 80 rows 30; {BIN} run default.rhai --user {CLOUD} --color never");
    let (code, text) = on_a_terminal(&home, &cmdline, "no");
    assert_eq!(code, 6, "declined: {text}");
    let prompt = text.find("Type 'yes' to continue").unwrap_or_else(|| panic!("no prompt in: {text}"));
    let todos = text.find("to do by hand (3):").unwrap_or_else(|| panic!("no to-dos in: {text}"));
    assert!(todos < prompt, "the to-dos come before the prompt: {text}");
    // The last to-do ends just above the prompt: nothing but the question between them.
    let between = &text[todos..prompt];
    assert!(between.contains("VISIOCLIENT") && !between.contains("planned"), "{between}");
    let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > 80).collect();
    assert!(wide.is_empty(), "lines wider than 80 columns: {wide:#?}");
    assert!(text.lines().count() < 100, "one line a step, not a wrapped table: {} lines", text.lines().count());
    assert_eq!(home.stats().writes, 0);
}

/// `runs show` on a terminal shorter than the run goes through `$PAGER`; piped, it does not.
#[test]
fn a_long_run_detail_goes_through_the_pager_on_a_terminal_only() {
    if !have_script() {
        eprintln!("skipping: util-linux `script` not available");
        return;
    }
    let home = Home::new();
    assert_eq!(home.plan(CLOUD).0, 0);
    let paged = home.path().join("paged.txt");
    // The pager here is a shell command that keeps what it was given.
    let cmdline = format!("stty cols 80 rows 20; PAGER='cat > paged.txt' {BIN} runs show last --color never");
    let (code, _) = on_a_terminal(&home, &cmdline, "");
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&paged).expect("the pager was given the run");
    assert!(text.contains("· plan · tenant demo · user leaver.cloud@contoso.test"), "{text}");
    assert!(text.lines().count() > 20, "taller than the terminal: {}", text.lines().count());

    std::fs::remove_file(&paged).unwrap();
    let o = home.cmd(["runs", "show", "last"]).env("PAGER", "cat > paged.txt").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("· plan · tenant demo"), "piped, the run is printed: {}", o.stdout);
    assert!(!paged.exists(), "piped output is not paged");
}

/// `cmdline` in a pseudo-terminal, typing each of `inputs` after a pause (the first one after the
/// start-up): what the terminal showed.
fn typing(home: &Home, cmdline: &str, inputs: &[&str]) -> (i32, String) {
    use std::io::Write;
    let mut child = std::process::Command::new("script")
        .args(["-qec", cmdline, "/dev/null"])
        .current_dir(home.path())
        .env("OFFBOARD_HOME", home.path())
        .env_remove("COLUMNS")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut s = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    for input in inputs {
        let _ = s.write_all(input.as_bytes());
        let _ = s.flush();
        std::thread::sleep(std::time::Duration::from_millis(800));
    }
    drop(s);
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).replace('\r', ""))
}

/// The REPL at a terminal: Tab twice lists the candidates; with --allow-writes a write is shown
/// as a plan and asks, `n` sends nothing, `y` sends it once and journals it for the user.
#[test]
fn the_repl_lists_completions_and_confirms_each_write() {
    if !have_script() {
        eprintln!("skipping: util-linux `script` not available");
        return;
    }
    let home = Home::new();
    let cmdline = format!("stty cols 80 rows 30; {BIN} repl --allow-writes");
    let inputs = [
        "let u = graph::get_user(\"leaver.cloud@contoso.test\");\n",
        "graph::re\t\t",
        // Ctrl-U: drop the half-typed line.
        "\x15",
        "graph::disable_account(u)\n",
        "n\n",
        "graph::disable_account(u)\n",
        "y\n",
        ":quit\n",
    ];
    let (code, text) = typing(&home, &cmdline, &inputs);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("graph::revoke_sessions(") && text.contains("graph::remove_manager("), "Tab lists the candidates: {text}");
    assert!(text.contains("Apply 1 write(s) to leaver.cloud@contoso.test in tenant 'demo'? [y/N]"), "{text}");
    assert!(text.contains("not confirmed: nothing sent"), "{text}");
    assert!(text.contains("for leaver.cloud@contoso.test"), "{text}");
    assert_eq!(home.stats().writes, 1, "declined once, confirmed once: {text}");
    assert_eq!(home.user(ids::LEAVER_CLOUD_ID)["accountEnabled"], false);
    let o = home.cmd(["runs", "list", "--json", "--user", CLOUD]).run();
    let runs = o.json();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["mode"], "apply");
}

/// Piped into the REPL there is nobody to ask: the plan is shown, the write refused, and the
/// next input line is not taken for an answer.
#[test]
fn a_piped_repl_with_writes_allowed_shows_the_plan_and_sends_nothing() {
    let home = Home::new();
    let input = b"let u = graph::get_user(\"leaver.cloud@contoso.test\");\ngraph::disable_account(u)\ny\n";
    let o = home.cmd(["repl", "--allow-writes"]).stdin(input).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("plan:\n") && o.stdout.contains("disable_account"), "{}", o.stdout);
    assert!(o.stdout.contains("no terminal to confirm on\nnot confirmed: nothing sent"), "{}", o.stdout);
    assert!(o.stdout.contains("error: repl:1:1:"), "`y` was evaluated as an input, not an answer: {}", o.stdout);
    assert_eq!(home.stats().writes, 0);
    let o = home.cmd(["runs", "list", "--json"]).run();
    assert_eq!(o.json(), serde_json::json!([]), "nothing applied, nothing journalled");
}
