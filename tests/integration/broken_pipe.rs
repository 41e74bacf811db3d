//! Output into a pipe whose reader has gone (`runs list | head -1`) ends quietly with success.

use std::io::Read;

use crate::helpers::*;

/// Run `args` with stdout a pipe that is closed before the binary writes to it, as `head -1`
/// does once it has its line: (exit code, stderr).
fn into_closed_pipe(home: &Home, args: &[&str]) -> (i32, String) {
    let mut child = home.cmd(args).spawn();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn output_into_a_closed_pipe_ends_quietly_with_success() {
    let home = Home::new();
    for _ in 0..3 {
        home.plan(CLOUD);
    }
    for args in [
        &["runs", "list"][..],
        &["runs", "list", "--json"],
        &["runs", "show", "last"],
        &["script", "show", "default.rhai"],
        &["plan", "default.rhai", "--user", CLOUD],
    ] {
        let (code, stderr) = into_closed_pipe(&home, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
    // The plan that printed into the closed pipe still closed its journal entry.
    assert_eq!(home.runs().len(), 4);
}

#[test]
fn a_bulk_run_into_a_closed_pipe_finishes_its_users() {
    let home = Home::new();
    let file = home.path().join("users.csv");
    std::fs::write(&file, format!("upn\n{CLOUD}\n")).unwrap();
    for extra in [&[][..], &["--json"][..]] {
        let mut args = vec!["run", "default.rhai", "--users-file", file.to_str().unwrap(), "--yes"];
        args.extend_from_slice(extra);
        let (code, stderr) = into_closed_pipe(&home, &args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
    // Both bulk runs (the second had nothing left to do) closed their journal entries.
    let runs = home.runs();
    assert!(runs.len() >= 2 && runs.iter().all(|r| r["status"] != "running"), "{runs:?}");
}
