//! `settings` and `script show`: the reference built into the binary, checked against the schema
//! and the repository's files rather than against counts that would go stale.

use crate::helpers::*;
use offboard_host::settings::schema::SETTINGS;

fn config(home: &Home) -> String {
    let cfg = home.write(
        "offboard-host.toml",
        "[tenants.contoso]\ndirectory = \"cloud\"\ndemo = true\n\n[tenants.contoso.defaults]\nshared_wait_secs = 42\nforward_to = \"desk@contoso.example\"\n",
    );
    cfg.to_str().unwrap().to_string()
}

#[test]
fn settings_lists_every_schema_key_in_text_and_json() {
    let home = Home::new();
    let o = home.cmd(["settings"]).env("COLUMNS", "100").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let names: Vec<&str> = o.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    let schema: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
    assert_eq!(names, schema, "{}", o.stdout);
    assert!(o.stdout.lines().all(|l| l.chars().count() <= 100), "{}", o.stdout);

    let j = home.cmd(["settings", "--json"]).run().json();
    let rows = j.as_array().expect("array");
    assert_eq!(rows.len(), SETTINGS.len());
    for (row, s) in rows.iter().zip(SETTINGS) {
        assert_eq!(row["name"], s.name);
        assert_eq!(row["type"], s.default.kind().name());
        assert_eq!(row["description"], s.description);
        assert!(row.get("value").is_none(), "{row}");
    }
}

#[test]
fn settings_with_a_tenant_shows_the_clients_values() {
    let home = Home::new();
    let cfg = config(&home);
    let j = home.cmd(["settings", "--tenant", "contoso", "--config", &cfg, "--json"]).run().json();
    let row = |n: &str| j.as_array().unwrap().iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(row("shared_wait_secs")["value"], 42);
    assert_eq!(row("shared_wait_secs")["default"], 300);
    assert_eq!(row("forward_to")["value"], "desk@contoso.example");
    assert!(row("reset_password")["value"].is_null());

    let o = home.cmd(["settings", "--tenant", "contoso", "--config", &cfg]).env("COLUMNS", "140").run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.lines().next().unwrap().contains("CLIENT"), "{}", o.stdout);
    let line = o.stdout.lines().find(|l| l.starts_with("shared_wait_secs ")).unwrap();
    assert!(line.contains("300") && line.contains("42"), "{line}");
}

#[test]
fn settings_for_an_unknown_tenant_is_a_usage_error() {
    let home = Home::new();
    let cfg = config(&home);
    let o = home.cmd(["settings", "--tenant", "nope", "--config", &cfg]).run();
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(o.stderr.contains("unknown tenant 'nope'") && o.stderr.contains("contoso"), "{}", o.stderr);
}

#[test]
fn script_show_prints_the_built_in_scripts_verbatim() {
    let home = Home::new();
    let o = home.cmd(["script", "show", "default.rhai"]).run();
    assert_eq!(o.code, 0, "{}", o.stderr);
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/default.rhai")).unwrap();
    assert_eq!(o.stdout, file);
    let o = home.cmd(["script", "show", "steps.rhai"]).run();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stdlib/steps.rhai")).unwrap();
    assert_eq!(o.stdout, file);

    let list = home.cmd(["script", "show"]).run();
    assert_eq!(list.code, 0);
    for (name, _) in offboard_host::engine::STDLIB {
        assert!(list.stdout.lines().any(|l| l == format!("{name}.rhai")), "{}", list.stdout);
    }
    assert!(list.stdout.lines().any(|l| l == "default.rhai"));
}

#[test]
fn script_show_of_an_unknown_name_lists_the_known_ones() {
    let home = Home::new();
    let o = home.cmd(["script", "show", "nope.rhai"]).run();
    assert_eq!(o.code, 2);
    assert!(o.stdout.is_empty());
    for name in ["default.rhai", "offboard.rhai", "steps.rhai"] {
        assert!(o.stderr.contains(name), "{}", o.stderr);
    }
}
