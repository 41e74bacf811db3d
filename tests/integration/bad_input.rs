//! Bad input: a clear error, the documented exit code, no write.

use std::time::{Duration, Instant};

use crate::helpers::*;

/// Run a plan/run command, check code + stderr, and that nothing was written.
fn refused(home: &Home, args: &[&str], code: i32, needle: &str) -> Output {
    let o = home.cmd(args).run();
    assert_eq!(o.code, code, "args {args:?}\nstdout {}\nstderr {}", o.stdout, o.stderr);
    assert!(o.stderr.contains(needle), "args {args:?}: stderr lacks {needle:?}:\n{}", o.stderr);
    if home.state_path().exists() {
        assert_eq!(home.stats().writes, 0, "args {args:?}");
    }
    o
}

#[test]
fn malformed_upns_exit_2_before_anything() {
    let home = Home::new();
    for bad in ["not an email", "x@contoso.test' or 1 eq 1", "*)(uid=*))(|(uid=*"] {
        for cmd in ["plan", "run"] {
            let mut args = vec![cmd, "default.rhai", "--user", bad];
            if cmd == "run" {
                args.push("--yes");
            }
            refused(&home, &args, 2, "invalid user");
        }
    }
    assert!(!home.state_path().exists(), "the demo tenant was started for a malformed user");
    assert!(!home.journal_path().exists(), "a journal was opened for a malformed user");
}

#[test]
fn unknown_user_exit_4_names_the_user() {
    let home = Home::new();
    refused(&home, &["run", "default.rhai", "--user", "nobody@contoso.test", "--yes"], 4, "nobody@contoso.test");
    refused(&home, &["plan", "default.rhai", "--user", "nobody@contoso.test"], 4, "was not found");
    assert_eq!(home.stats().writes, 0);
}

fn script_refused(text: &str, needle: &str) -> Output {
    let home = Home::new();
    let path = home.write("scripts/bad.rhai", text);
    let p = path.to_str().unwrap().to_string();
    let o = refused(&home, &["run", &p, "--user", CLOUD, "--yes"], 3, needle);
    assert!(!o.stderr.contains("error: : "), "{}", o.stderr);
    if home.state_path().exists() {
        assert_eq!(home.user(ids::LEAVER_CLOUD_ID)["accountEnabled"], true);
        assert_eq!(home.stats().writes, 0);
    }
    o
}

#[test]
fn endless_loops_stop_quickly_exit_3() {
    for text in ["loop {}", "let user = graph::get_user(USER);\nwhile true { let x = 1; }"] {
        let t = Instant::now();
        script_refused(text, "operation budget");
        assert!(t.elapsed() < Duration::from_secs(20), "took {:?}", t.elapsed());
    }
}

#[test]
fn imports_are_confined_exit_3() {
    for target in ["../x", "/etc/passwd"] {
        let o = script_refused(
            &format!("import \"{target}\" as x;\nlet u = graph::get_user(USER);\n"),
            "only stdlib modules and files inside the script's own folder",
        );
        assert!(o.stderr.contains(target), "{}", o.stderr);
    }
}

#[test]
fn syntax_error_exit_3_with_location() {
    let home = Home::new();
    let path = home.write("scripts/bad.rhai", "let user = graph::get_user(USER);\nlet x = ;\n");
    refused(&home, &["run", path.to_str().unwrap(), "--user", CLOUD, "--yes"], 3, "bad.rhai:2:9");
    // Found before the tenant is contacted.
    assert!(!home.state_path().exists());
}

#[test]
fn eval_is_refused_exit_3() {
    script_refused("let x = eval(\"1\");", "eval");
}

#[test]
fn unknown_script_tenant_and_bad_set_exit_2() {
    let home = Home::new();
    refused(&home, &["run", "nonexistent.rhai", "--user", CLOUD, "--yes"], 2, "script 'nonexistent.rhai' not found");
    refused(&home, &["run", "default.rhai", "--user", CLOUD, "--yes", "--tenant", "acme"], 2, "unknown tenant 'acme'");
    refused(&home, &["run", "default.rhai", "--user", CLOUD, "--yes", "--set", "reset_password"], 2, "expected key=value");
    refused(&home, &["run", "default.rhai", "--user", CLOUD, "--yes", "--set", "Bad-Key=1"], 2, "lower_snake_case");
    assert!(!home.state_path().exists());
    assert!(!home.journal_path().exists(), "a journal was opened for a refused command line");
}

#[test]
fn unknown_set_key_or_wrong_type_is_refused_exit_2() {
    let home = Home::new();
    // A typo names the nearest setting and lists the known ones; nothing runs.
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--set", "remove_licences=false"]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("unknown setting 'remove_licences'; did you mean remove_licenses?"), "{}", o.stderr);
    assert!(o.stderr.contains("known settings: block_mobile_devices, "), "{}", o.stderr);
    refused(&home, &["plan", "default.rhai", "--user", CLOUD, "--set", "reset_pasword=false"], 2, "did you mean reset_password?");
    // A known key with a value of the wrong type, at the argument.
    refused(
        &home,
        &["plan", "default.rhai", "--user", CLOUD, "--set", "reset_password=maybe"],
        2,
        "--set 'reset_password=maybe': reset_password is a bool",
    );
    assert!(!home.state_path().exists(), "the tenant was contacted");
}

#[test]
fn unknown_defaults_key_is_refused_at_its_line_exit_2() {
    let home = Home::new();
    let cfg = home
        .write("offboard-host.toml", "[tenants.t]\ndirectory = \"cloud\"\ndemo = true\n[tenants.t.defaults]\nremove_licences = false\n");
    let o = home.cmd(["plan", "default.rhai", "--user", CLOUD, "--config", cfg.to_str().unwrap()]).run();
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("offboard-host.toml:5: [tenants.t.defaults] unknown setting 'remove_licences'; did you mean remove_licenses?"),
        "{}",
        o.stderr
    );
    assert!(!home.state_path().exists());
}

#[test]
fn denied_capability_stops_the_script_with_not_capable() {
    let home = Home::new();
    let cfg = home.write("offboard-host.toml", "[tenants.t]\ndirectory = \"cloud\"\ndemo = true\ndeny = [\"graph.licenses\"]\n");
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--json", "--config", cfg.to_str().unwrap()]).run();
    // A denied capability is a script error (the op throws `not_capable`): exit 3.
    assert_eq!(o.code, 3, "{}\n{}", o.stdout, o.stderr);
    let r = o.json();
    assert_eq!(r["status"], "aborted");
    assert_eq!(r["error"]["code"], "not_capable", "{r:#}");
    assert!(r["error"]["message"].as_str().unwrap().contains("graph.licenses"));
    // The phases before the licences ran; the licence phase did not.
    assert_eq!(status_of(&r, "disable_account", CLOUD), "done");
    assert!(!steps(&r).iter().any(|s| s["action"] == "remove_license"), "{r:#}");
    let u = home.user(ids::LEAVER_CLOUD_ID);
    assert_eq!(u["accountEnabled"], false);
    assert!(skus_of(&u).iter().any(|(s, _)| s == ids::SKU_SPE_E3));
}
