//! Custom steps without recompiling: `action(name, #{observe, apply})` and the generic calls, end
//! to end through the binary against the demo tenant. Every test checks the simulator's own
//! write counter or state.

#[path = "../integration/helpers.rs"]
mod helpers;
/// Plan never sends a write, wherever a script puts one.
mod plan_fuzz;

use helpers::*;
use serde_json::Value;

/// A client step: prefix the leaver's display name, written on the generic API.
const RENAME: &str = r#"
let u = graph::get_user(USER);
phase("rename", || {
    action("prefix_display_name", #{
        user: u, target: u.upn, idempotent: true, params: #{ prefix: "zz-Left " },
        observe: || {
            let now = graph::get(`/users/${graph::segment(u.id)}?$select=displayName`);
            if now.displayName.starts_with("zz-Left ") {
                return #{ status: "already_done", detail: `already ${now.displayName}` };
            }
            #{ status: "needed", detail: `rename to zz-Left ${now.displayName}`, prior: #{ displayName: now.displayName } }
        },
        apply: |prior| {
            graph::send("PATCH", `/users/${graph::segment(u.id)}`, #{ displayName: `zz-Left ${prior.displayName}` });
            "renamed"
        },
    });
});
"#;

fn run(home: &Home, verb: &str, script: &str, env: &[(&str, &str)]) -> (i32, Value, String) {
    let path = home.write("custom.rhai", script);
    let p = path.to_str().unwrap();
    let args: Vec<&str> =
        if verb == "plan" { vec!["plan", p, "--user", CLOUD, "--json"] } else { vec!["run", p, "--user", CLOUD, "--yes", "--json"] };
    let mut c = home.cmd(args);
    for (k, v) in env {
        c = c.env(k, v);
    }
    let o = c.run();
    let json = serde_json::from_str(&o.stdout).unwrap_or(Value::Null);
    (o.code, json, o.stderr)
}

fn display_name(home: &Home) -> String {
    home.user(ids::LEAVER_CLOUD_ID)["displayName"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_script_action_is_planned_applied_journalled_and_idempotent() {
    let home = Home::new();
    let (code, plan, err) = run(&home, "plan", RENAME, &[]);
    assert_eq!(code, 0, "{err}");
    let s = step(&plan, "prefix_display_name", CLOUD);
    assert_eq!(s["status"], "planned", "{s:#}");
    assert!(s["detail"].as_str().unwrap().contains("rename to zz-Left Lee Cloud"), "{s:#}");
    assert_eq!(home.stats().writes, 0, "the plan wrote");

    let (code, r, err) = run(&home, "run", RENAME, &[]);
    assert_eq!(code, 0, "{err}");
    let s = step(&r, "prefix_display_name", CLOUD);
    assert_eq!(s["status"], "done", "{s:#}");
    assert_eq!(display_name(&home), "zz-Left Lee Cloud");
    // The journal has the intent, the outcome, the prior state and the step's params.
    let d = home.run_detail(r["run_id"].as_str().unwrap());
    let j = d["steps"].as_array().unwrap().iter().find(|s| s["action"] == "prefix_display_name").unwrap();
    assert!(j["intent_at"].is_string() && j["outcome_at"].is_string(), "{j:#}");
    assert_eq!(j["prior"]["displayName"], "Lee Cloud");
    assert_eq!(j["params"]["prefix"], "zz-Left ");

    let writes = home.stats().writes;
    let (code, r2, err) = run(&home, "run", RENAME, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_of(&r2, "prefix_display_name", CLOUD), "already_done");
    assert_eq!(home.stats().writes, writes, "the second run wrote");
    assert_eq!(display_name(&home), "zz-Left Lee Cloud");
}

#[test]
fn an_answer_lost_after_the_write_landed_is_read_back_not_resent() {
    let home = Home::new();
    let env = [
        ("OFFBOARD_DEMO_HANG_EVERY", "1"),
        ("OFFBOARD_DEMO_HANG_MS", "1500"),
        ("OFFBOARD_DEMO_FAULT_MATCH", "zz-Left"),
        ("OFFBOARD_DEMO_CLIENT_TIMEOUT_MS", "400"),
        ("OFFBOARD_DEMO_RETRY_BASE_MS", "10"),
    ];
    // Not idempotent: the client must not resend; the executor reads back and finds it landed.
    let script = RENAME.replace("idempotent: true", "idempotent: false");
    let (code, r, err) = run(&home, "run", &script, &env);
    assert_eq!(code, 0, "{err}\n{r:#}");
    let s = step(&r, "prefix_display_name", CLOUD);
    assert_eq!(s["status"], "done", "{s:#}");
    assert!(s["detail"].as_str().unwrap().contains("confirmed by reading back after an unclear reply"), "{s:#}");
    assert_eq!(display_name(&home), "zz-Left Lee Cloud", "applied once, not twice");
    assert_eq!(home.stats().writes_applied, 1);
}

#[test]
fn a_denied_generic_call_is_refused_by_check_and_at_run_time() {
    let home = Home::new();
    home.write("offboard-host.toml", "[tenants.demo]\ndirectory = \"cloud\"\ndemo = true\ndeny = [\"graph.send\"]\n");
    let path = home.write("custom.rhai", RENAME);
    let o = home.cmd(["check", path.to_str().unwrap(), "--tenant", "demo"]).run();
    assert_ne!(o.code, 0, "check passed a denied call: {}", o.stdout);
    let said = format!("{}{}", o.stdout, o.stderr);
    assert!(said.contains("graph::send") && said.contains("'graph.send'"), "{said}");
    let (_, r, err) = run(&home, "run", RENAME, &[]);
    let s = step(&r, "prefix_display_name", CLOUD);
    assert_eq!(s["status"], "failed", "{s:#}\n{err}");
    assert!(s["detail"].as_str().unwrap().contains("denies"), "{s:#}");
    assert_eq!(home.stats().writes, 0);
    assert_eq!(display_name(&home), "Lee Cloud");
}

#[test]
fn a_bad_definition_is_a_clear_error_and_changes_nothing() {
    let home = Home::new();
    let cases = [
        (RENAME.replace("idempotent: true", "idempotnet: true"), "unknown key 'idempotnet'"),
        (RENAME.replace("\"prefix_display_name\"", "\"Prefix Name\""), "snake_case"),
        (RENAME.replace("\"prefix_display_name\"", "\"disable_account\""), "built-in"),
        (RENAME.replace("status: \"already_done\"", "status: \"done\"").replace("zz-Left \")", "\")"), "status 'done'"),
    ];
    for (script, expected) in cases {
        let (code, r, err) = run(&home, "run", &script, &[]);
        let text = format!("{err}{r}");
        assert!(code != 0 || text.contains("failed"), "{expected}: {text}");
        assert!(text.contains(expected), "{expected}: {text}");
        assert_eq!(home.stats().writes, 0, "{expected}");
    }
}
