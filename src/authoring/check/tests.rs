//! `check` finds each kind of mistake at its file:line:col, and passes the shipped scripts.

use std::path::Path;

use super::{check_script, CheckOptions, Diagnostic};
use crate::engine::STDLIB;
use crate::run::{Script, DEFAULT_SCRIPT};

fn check_src(src: &str, denied: &[&str]) -> Vec<Diagnostic> {
    let script = Script::inline("t.rhai", src);
    check_script(&script, &opts(denied))
}

fn opts(denied: &[&str]) -> CheckOptions {
    CheckOptions { tenant: Some("acme".into()), denied: denied.iter().map(|d| d.to_string()).collect() }
}

fn one(d: Vec<Diagnostic>) -> Diagnostic {
    assert_eq!(d.len(), 1, "{d:#?}");
    d.into_iter().next().unwrap()
}

#[test]
fn the_default_script_and_the_stdlib_are_clean() {
    let default = Script::inline("default.rhai", DEFAULT_SCRIPT);
    assert_eq!(check_script(&default, &CheckOptions::default()), vec![]);
    let on_disk = Script::load("default.rhai", Path::new("scripts")).unwrap();
    assert_eq!(check_script(&on_disk, &CheckOptions::default()), vec![]);
    for (name, text) in STDLIB {
        let s = Script::inline(format!("stdlib/{name}.rhai"), text.to_string());
        assert_eq!(check_script(&s, &CheckOptions::default()), vec![], "{name}");
    }
}

#[test]
fn a_typo_in_a_function_name_is_reported_with_a_suggestion() {
    let d = one(check_src("let user = graph::get_user(USER);\ngraph::disabel_account(user);\n", &[]));
    assert_eq!(d.location, "t.rhai:2:8");
    assert!(d.message.contains("unknown function graph::disabel_account"), "{d}");
    assert!(d.message.contains("did you mean graph::disable_account?"), "{d}");

    let d = one(check_src("let u = 1;\n  disable_acount(u);", &[]));
    assert_eq!(d.location, "t.rhai:2:3");
    assert!(d.message.contains("unknown function 'disable_acount'"), "{d}");

    let d = one(check_src("import \"offboard\" as ob;\nob::remove_group(1);", &[]));
    assert!(d.message.contains("has no public function 'remove_group'") && d.message.contains("ob::remove_groups"), "{d}");
}

#[test]
fn wrong_argument_counts_are_reported() {
    let d = one(check_src("let u = graph::get_user(USER);\ngraph::disable_account(u, #{});", &[]));
    assert_eq!(d.location, "t.rhai:2:8");
    assert!(d.message.contains("takes 1 argument(s), not 2"), "{d}");
    let d = one(check_src("phase(\"x\");", &[]));
    assert!(d.message.contains("phase takes 2 or 3 argument(s), not 1"), "{d}");
    let d = one(check_src("fn f(a) { a }\nf(1, 2)", &[]));
    assert_eq!(d.location, "t.rhai:2:1");
    assert!(d.message.contains("f takes 1 argument(s), not 2"), "{d}");
    let d = one(check_src("import \"offboard\" as ob;\nob::settings();", &[]));
    assert!(d.message.contains("ob::settings takes 1 or 2 argument(s), not 0"), "{d}");
    // Overloads and built-ins are fine.
    assert_eq!(check_src("let u = graph::get_user(USER);\ngraph::reset_password(u);\ngraph::reset_password(u, #{});\nlet n = parse_int(\"1\");\nprint(n); let f = |x| x; f(1);", &[]), vec![]);
}

#[test]
fn a_syntax_error_has_its_line_and_column() {
    let d = one(check_src("let a = 1;\nlet b = ;\n", &[]));
    assert!(d.location.starts_with("t.rhai:2:"), "{d}");
    let d = one(check_src("let a = undefined_variable;", &[]));
    assert!(d.location.starts_with("t.rhai:1:"), "{d}");
}

#[test]
fn calls_inside_strings_and_comments_are_not_checked() {
    let src = "// graph::nope(1)\nlog(\"graph::nope(1) and missing()\");\n/* missing(1, 2) */\nlog(`missing(1) ${TENANT}`);";
    assert_eq!(check_src(src, &[]), vec![]);
}

#[test]
fn imports_go_through_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(dir.path().join("outside.rhai"), "fn x() { 1 }").unwrap();
    std::fs::write(scripts.join("util.rhai"), "/// Helper.\nfn strip(user) { graph::remove_manager(user); }\nprivate fn hidden() { 1 }")
        .unwrap();
    std::fs::write(scripts.join("broken.rhai"), "fn oops( { }").unwrap();
    let path = scripts.join("client.rhai");
    std::fs::write(
        &path,
        "import \"../outside\" as o;\nimport \"nowhere\" as n;\nimport \"broken\" as b;\nimport \"util\" as u;\nlet user = graph::get_user(USER);\nu::strip(user);\nu::hidden();\n",
    )
    .unwrap();
    let script = Script::load(path.to_str().unwrap(), &scripts).unwrap();
    let d = check_script(&script, &opts(&["graph.manager"]));
    let name = &script.name;
    let find = |needle: &str| d.iter().find(|x| x.message.contains(needle)).unwrap_or_else(|| panic!("no '{needle}' in {d:#?}")).clone();
    let outside = find("cannot import '../outside'");
    assert_eq!(outside.location, format!("{name}:1:1"));
    assert!(outside.message.contains("no '..'"), "{outside}");
    assert_eq!(find("cannot import 'nowhere'").location, format!("{name}:2:1"));
    assert!(find("broken").location.starts_with("broken.rhai:1:"), "{d:#?}");
    let denied = find("u::strip calls graph::remove_manager");
    assert_eq!(denied.location, format!("{name}:6:4"));
    assert!(denied.message.contains("'graph.manager', which tenant 'acme' denies"), "{denied}");
    assert_eq!(find("no public function 'hidden'").location, format!("{name}:7:4"));
    assert_eq!(d.len(), 5, "{d:#?}");
}

#[test]
fn denied_capabilities_are_reported_where_they_are_used() {
    let d = one(check_src("let u = graph::get_user(USER);\nphase(\"x\", || graph::remove_license(u, #{}));", &["graph.licenses"]));
    assert_eq!(d.location, "t.rhai:2:22");
    assert!(d.message.contains("graph::remove_license needs the capability 'graph.licenses'"), "{d}");
    // A whole area denied: every graph op, the read included.
    let d = check_src("let u = graph::get_user(USER);", &["graph"]);
    assert_eq!(one(d).location, "t.rhai:1:16");
    // The default script reaches licence removal through the stdlib.
    let default = Script::inline("default.rhai", DEFAULT_SCRIPT);
    let d = one(check_script(&default, &opts(&["graph.licenses"])));
    assert!(d.message.contains("dir::licenses calls graph::remove_license"), "{d}");
}
