//! Strict customisation: an overrides layer must override something, a hook must return the
//! settings it was given (no new key, no changed type), and errors say which layer they are in.

use crate::helpers::*;

/// A config whose tenant `t` layers `source` (as `ov.rhai`) on the default script.
fn with_overrides(home: &Home, source: &str) -> String {
    home.write("ov.rhai", source);
    let dir = home.path().display();
    let cfg = home.write(
        "offboard-host.toml",
        &format!("scripts_dir = \"{dir}\"\n[tenants.t]\ndirectory = \"cloud\"\ndemo = true\noverrides = \"ov.rhai\"\n"),
    );
    cfg.to_str().unwrap().to_string()
}

fn plan(home: &Home, cfg: &str) -> Output {
    home.cmd(["plan", "default.rhai", "--user", CLOUD, "--config", cfg]).run()
}

fn check(home: &Home, cfg: &str) -> Output {
    home.cmd(["check", "default.rhai", "--tenant", "t", "--config", cfg]).run()
}

#[test]
fn a_misspelt_hook_is_refused_by_check_and_plan() {
    let home = Home::new();
    let cfg = with_overrides(&home, "/// Forward to legal.\nfn mailbox_polcy(user, s) {\n    s\n}\n");
    for o in [plan(&home, &cfg), check(&home, &cfg)] {
        assert_eq!(o.code, 3, "{}\n{}", o.stdout, o.stderr);
        let out = format!("{}{}", o.stdout, o.stderr);
        assert!(out.contains("ov.rhai:2:1"), "{out}");
        assert!(out.contains("`fn mailbox_polcy` overrides nothing in default.rhai: did you mean mailbox_policy(user, s)?"), "{out}");
        assert!(!out.contains("anon$"), "{out}");
    }
    assert!(!home.state_path().exists(), "the tenant was contacted");
}

#[test]
fn a_hook_with_another_arity_is_refused() {
    let home = Home::new();
    let cfg = with_overrides(&home, "fn mailbox_policy(s) {\n    s\n}\n");
    let o = plan(&home, &cfg);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(
        o.stderr.contains("ov.rhai:1:1: `fn mailbox_policy` takes 1 parameter(s), but default.rhai defines mailbox_policy(user, s)"),
        "{}",
        o.stderr
    );
    // A helper of the overrides is fine when declared private.
    let cfg = with_overrides(
        &home,
        "private fn legal() { \"legal.hold@contoso.test\" }\nfn mailbox_policy(user, s) {\n    s.forward_to = legal();\n    s\n}\n",
    );
    let o = plan(&home, &cfg);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn a_hook_that_adds_a_misspelt_setting_stops_the_run_exit_2() {
    let home = Home::new();
    let cfg = with_overrides(&home, "fn mailbox_policy(user, s) {\n    s.forward_to_manger = true;\n    s\n}\n");
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--yes", "--config", &cfg]).run();
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("the hook 'mailbox_policy' set an unknown setting 'forward_to_manger'; did you mean forward_to_manager?"),
        "{}",
        o.stderr
    );
    // The plan stopped it: nothing was written.
    assert_eq!(home.stats().writes, 0);
}

#[test]
fn a_hook_that_forgets_to_return_the_settings_is_named() {
    let home = Home::new();
    let cfg = with_overrides(&home, "fn adjust_settings(s) {\n    s.keep_groups = \"x\";\n}\n");
    let o = plan(&home, &cfg);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("the hook 'adjust_settings' must return the settings map (end it with `s`), not ()"), "{}", o.stderr);
    assert!(!o.stderr.contains("Unknown property"), "{}", o.stderr);
}

#[test]
fn a_runtime_error_is_placed_in_its_layer_and_printed_once() {
    let home = Home::new();
    let cfg = with_overrides(&home, "/// Block sign-in through a group too.\nfn before_disable(user) {\n    let x = user.nope;\n}\n");
    let o = plan(&home, &cfg);
    assert_eq!(o.code, 3, "{}", o.stderr);
    let out = format!("{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("error: ov.rhai:3:18: "), "{}", o.stderr);
    // The call sites are in the default script, not in the 4-line overrides file.
    assert!(o.stderr.contains("in call to 'before_disable' at default.rhai:"), "{}", o.stderr);
    assert!(!o.stderr.contains("ov.rhai:1") && !out.contains("anon$"), "{}", o.stderr);
    assert_eq!(out.matches("Unknown property 'nope'").count(), 1, "{out}");
}
