//! Custom steps without recompiling: `action(name, #{observe, apply})` and the generic calls, end
//! to end through the binary against the demo tenant. Every test checks the simulator's own
//! write counter or state.

#[path = "../integration/helpers.rs"]
mod helpers;
/// Plan never sends a write, wherever a script puts one.
mod plan_fuzz;
/// The stdlib steps written on the generic API.
mod steps;

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

/// The worked example in `scripts/examples/`: a client step in an overrides layer of at most 15
/// lines, planned, applied and re-run.
#[test]
fn the_worked_example_removes_the_leaver_from_co_owned_groups() {
    let home = Home::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/examples/client-step-group-owners.rhai");
    let text = std::fs::read_to_string(example).unwrap();
    assert!(text.lines().count() <= 15, "the example is {} lines", text.lines().count());
    home.write("ov.rhai", &text);
    let cfg = home.write(
        "offboard-host.toml",
        &format!("scripts_dir = \"{}\"\n[tenants.t]\ndirectory = \"cloud\"\ndemo = true\noverrides = \"ov.rhai\"\n", home.path().display()),
    );
    let cfg = cfg.to_str().unwrap();
    let owners = |st: &Value, gid: &str| -> Vec<String> {
        let g = st["groups"].as_array().unwrap().iter().find(|g| g["id"] == gid).expect("group");
        g["owners"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_string()).collect()
    };
    let co_owned = seed_state()["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            let o = g["owners"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>()).unwrap_or_default();
            o.contains(&ids::LEAVER_CLOUD_ID) && o.len() > 1
        })
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(!co_owned.is_empty(), "the seed has a group the leaver co-owns");

    let o = home.cmd(["plan", "default.rhai", "--user", CLOUD, "--config", cfg, "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let plan = o.json();
    let planned: Vec<&Value> = steps(&plan).iter().filter(|s| s["action"] == "remove_group_owner").collect();
    assert!(planned.iter().any(|s| s["status"] == "planned"), "{planned:#?}");
    assert!(planned.iter().any(|s| s["status"] == "skipped"), "a group the leaver alone owns is left: {planned:#?}");
    assert_eq!(home.stats().writes, 0);

    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--config", cfg, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let st = home.state();
    for gid in &co_owned {
        assert!(!owners(&st, gid).contains(&ids::LEAVER_CLOUD_ID.to_string()), "{gid}: {:?}", owners(&st, gid));
    }
    let o = home.cmd(["run", "default.rhai", "--user", CLOUD, "--config", cfg, "--yes", "--json"]).run();
    let r = o.json();
    assert!(steps(&r).iter().filter(|s| s["action"] == "remove_group_owner").all(|s| s["status"] != "done"), "{r:#}");
    assert_eq!(r["stats"]["writes"], 0, "{r:#}");
}

/// Killed after its write landed but before the outcome was journalled: the next run observes
/// the change and sends nothing again.
#[test]
fn a_killed_run_with_a_script_action_is_finished_with_the_write_sent_once() {
    let home = Home::new();
    let path = home.write("custom.rhai", RENAME);
    let mut child = home
        .cmd(["run", path.to_str().unwrap(), "--user", CLOUD, "--yes", "--json"])
        .env("OFFBOARD_DEMO_HANG_EVERY", "1")
        .env("OFFBOARD_DEMO_HANG_MS", "20000")
        .env("OFFBOARD_DEMO_FAULT_MATCH", "zz-Left")
        .spawn();
    let start = std::time::Instant::now();
    let landed = || {
        let st: Option<Value> = std::fs::read(home.state_path()).ok().and_then(|b| serde_json::from_slice(&b).ok());
        st.is_some_and(|st| user_in(&st, ids::LEAVER_CLOUD_ID)["displayName"] == "zz-Left Lee Cloud")
    };
    while !landed() {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before the write landed");
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "the write never landed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let applied = home.stats().writes_applied;
    let (code, r, err) = run(&home, "run", RENAME, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(status_of(&r, "prefix_display_name", CLOUD), "already_done", "{r:#}");
    assert_eq!(home.stats().writes_applied, applied, "the write was sent again");
    assert_eq!(display_name(&home), "zz-Left Lee Cloud");
}

/// An action with a restore function: the undo it worked out from the prior state is kept in
/// the journal, and `restore RUN_ID` replays it.
#[test]
fn restore_replays_what_a_script_actions_restore_function_recorded() {
    let home = Home::new();
    let script = RENAME.replace(
        "        apply: |prior| {",
        "        restore: |prior| #{ graph: \"PATCH\", path: `/users/${graph::segment(u.id)}`, body: #{ displayName: prior.displayName } },\n        apply: |prior| {",
    );
    let (code, r, err) = run(&home, "run", &script, &[]);
    assert_eq!(code, 0, "{err}\n{r:#}");
    assert_eq!(display_name(&home), "zz-Left Lee Cloud");
    let id = r["run_id"].as_str().unwrap().to_string();
    let d = home.run_detail(&id);
    let j = d["steps"].as_array().unwrap().iter().find(|s| s["action"] == "prefix_display_name").unwrap();
    assert_eq!(j["prior"]["prior"]["displayName"], "Lee Cloud", "{j:#}");
    assert_eq!(j["prior"]["script_restore"][0]["method"], "PATCH", "{j:#}");
    let o = home.cmd(["restore", &id, "--yes", "--json"]).run();
    assert_eq!(o.code, 0, "{}\n{}", o.stderr, o.stdout);
    assert_eq!(display_name(&home), "Lee Cloud", "{}", o.stdout);
    // A restore function that returns something else is an error at observe, before any write.
    let bad = RENAME.replace("        apply: |prior| {", "        restore: |prior| 42,\n        apply: |prior| {");
    let home = Home::new();
    let (_, r, _) = run(&home, "run", &bad, &[]);
    let s = step(&r, "prefix_display_name", CLOUD);
    assert_eq!(s["status"], "failed", "{s:#}");
    assert!(s["detail"].as_str().unwrap().contains("restore function"), "{s:#}");
    assert_eq!(home.stats().writes, 0);
}
