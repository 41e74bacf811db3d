//! `check` finds each kind of mistake at its file:line:col, and passes the shipped scripts.

use std::path::Path;

use super::{check_script, CheckOptions, Diagnostic};
use crate::authoring::docs::EXAMPLE_PRELUDE;
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

#[test]
fn a_literal_of_the_wrong_type_is_reported_at_the_argument() {
    let d = one(check_src("graph::disable_account(\"upn\");", &[]));
    assert_eq!(d.location, "t.rhai:1:24");
    assert!(d.message.contains("graph::disable_account: argument 1 (user) must be a User, not a string literal"), "{d}");
    assert!(d.message.contains("comes from graph::get_user"), "{d}");
    let d = one(check_src("let u = graph::get_user(USER);\ngraph::reset_password(u, 42);", &[]));
    assert_eq!(d.location, "t.rhai:2:26");
    assert!(d.message.contains("argument 2 (options) must be a Map, not an i64 literal"), "{d}");
    let d = one(check_src("let u = graph::get_user(42);", &[]));
    assert!(d.message.contains("must be a String"), "{d}");
    let d = one(check_src("phase(\"x\", \"not a closure\");", &[]));
    assert_eq!(d.location, "t.rhai:1:12");
    assert!(d.message.contains("argument 2 (body) must be a Fn"), "{d}");
    let d = one(check_src("let a = ad::get_user(USER);\nad::disable_account(#{});", &[]));
    assert!(d.message.contains("must be an AdUser, not a map literal") && d.message.contains("ad::get_user"), "{d}");
    // Variables, closures (capturing or not) and `Fn` pointers are fine where they fit.
    let ok = "fn body() { log(\"x\"); }\nlet u = graph::get_user(USER);\nlet name = \"x\";\n\
              phase(name, || graph::disable_account(u));\nphase(\"y\", #{ required: true }, Fn(\"body\"));\n\
              phase(`z ${name}`, |   | log(\"z\"));";
    assert_eq!(check_src(ok, &[]), vec![]);
}

#[test]
fn method_calls_are_checked() {
    let d = one(check_src("let a = [1, 2];\na.lenn();", &[]));
    assert_eq!(d.location, "t.rhai:2:3");
    assert!(d.message.contains("unknown method '.lenn()'") && d.message.contains("did you mean .len?"), "{d}");
    let d = one(check_src("let a = [1, 2];\na.push();", &[]));
    assert!(d.message.contains(".push() takes 1 argument(s), not 0"), "{d}");
    // The script's own functions can be called as methods; built-ins and the handles' methods too.
    let ok = "let obj = #{ act: |x| x };\nobj.act(1);\nlet o2 = #{};\no2.run = |a| a;\no2.run(2);\nfn twice() { this * 2 }\nlet n = 2;\nlet m = n.twice();\nlet s = \"a,b\".split(\",\");\nlet f = |x| x;\nf.call(1);";
    assert_eq!(check_src(ok, &[]), vec![]);
}

#[test]
fn function_pointers_and_closures_are_checked() {
    let d = one(check_src("fn helper(x) { x }\nlet f = Fn(\"helpr\");", &[]));
    assert_eq!(d.location, "t.rhai:2:9");
    assert!(d.message.contains("Fn(\"helpr\"): no function 'helpr'") && d.message.contains("did you mean helper?"), "{d}");
    // Inside a closure, inside a function: found, at its position.
    let d = one(check_src("fn f() {\n  phase(\"x\", || {\n    graph::nope();\n  });\n}", &[]));
    assert_eq!(d.location, "t.rhai:3:12");
    // A denied op reached through a function that only makes a closure is still found.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lib.rhai"), "fn later(u) { || graph::remove_manager(u) }").unwrap();
    let path = dir.path().join("main.rhai");
    std::fs::write(&path, "import \"lib\" as l;\nlet u = graph::get_user(USER);\nlet f = l::later(u);").unwrap();
    let script = Script::load(path.to_str().unwrap(), dir.path()).unwrap();
    let d = one(check_script(&script, &opts(&["graph.manager"])));
    assert!(d.message.contains("l::later calls graph::remove_manager"), "{d}");
}

#[test]
fn an_overrides_layer_is_checked_at_its_own_positions() {
    let dir = tempfile::tempdir().unwrap();
    let layer = dir.path().join("client.rhai");
    std::fs::write(&layer, "fn before_disable(user) {\n    graph::disable_account(\"x\");\n}\n").unwrap();
    let mut script = Script::inline("default.rhai", DEFAULT_SCRIPT);
    script.overlays.push(Script::load(layer.to_str().unwrap(), dir.path()).unwrap());
    let d = one(check_script(&script, &CheckOptions::default()));
    assert_eq!(d.location, format!("{}:2:28", script.overlays[0].name));
    assert!(d.message.contains("must be a User"), "{d}");
}

/// The ```rhai blocks of a Markdown text or a doc comment (`///` stripped).
fn rhai_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let l = line.trim_start().trim_start_matches("///").trim_start_matches("//!");
        let l = l.strip_prefix(' ').unwrap_or(l);
        match (&mut cur, l.trim()) {
            (None, "```rhai") => cur = Some(String::new()),
            (Some(_), "```") => out.push(cur.take().unwrap()),
            (Some(c), _) => {
                c.push_str(l);
                c.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_shipped_script_and_example_is_clean() {
    let mut checked = 0;
    for dir in ["scripts", "scripts/examples", "scripts/clients"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rhai") {
                let s = Script::load(path.to_str().unwrap(), Path::new(dir)).unwrap();
                assert_eq!(check_script(&s, &CheckOptions::default()), vec![], "{}", path.display());
                checked += 1;
            }
        }
    }
    // The examples in the op docs, the stdlib's doc comments and the Markdown docs.
    let mut texts: Vec<(String, String)> = crate::ops::table().iter().map(|o| (o.qualified(), o.doc.join("\n"))).collect();
    texts.extend(STDLIB.iter().map(|(n, t)| (format!("stdlib/{n}"), t.to_string())));
    texts.push(("scripts/default.rhai".into(), DEFAULT_SCRIPT.into()));
    texts.push(("README.md".into(), std::fs::read_to_string("README.md").unwrap()));
    for f in std::fs::read_dir("docs").unwrap().chain(std::fs::read_dir("docs/reference").unwrap()) {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "md") {
            texts.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
        }
    }
    let mut bad = Vec::new();
    for (name, text) in &texts {
        for (i, block) in rhai_blocks(text).iter().enumerate() {
            let s = Script::inline(format!("{name}#{i}"), format!("{EXAMPLE_PRELUDE}\n{block}"));
            let d = check_script(&s, &CheckOptions::default());
            if !d.is_empty() {
                bad.push(format!("{name} example {i}:\n{block}{d:#?}"));
            }
            checked += 1;
        }
    }
    assert!(bad.is_empty(), "{} example(s) fail check:\n{}", bad.len(), bad.join("\n"));
    assert!(checked > 60, "{checked}");
}

#[test]
fn a_handle_of_the_wrong_kind_in_a_variable_is_reported() {
    // A cloud User where an AdUser is needed, also through a closure that captures it.
    let d = one(check_src("let u = graph::get_user(USER);\nphase(\"lock\", || ad::disable_account(u));", &[]));
    assert_eq!(d.location, "t.rhai:2:38");
    assert!(d.message.contains("ad::disable_account: argument 1 (user) must be an AdUser, `u` holds a User"), "{d}");
    assert!(d.message.contains("(an AdUser comes from ad::get_user or ad::find_user)"), "{d}");
    let d = one(check_src("let a = ad::get_user(USER);\ngraph::disable_account(a);", &[]));
    assert!(d.message.contains("must be a User, `a` holds an AdUser"), "{d}");
    // Any other binding of the name makes it unknown: nothing is reported that may not be there.
    let unsure = [
        "let u = graph::get_user(USER);\nu = ad::get_user(USER);\nad::disable_account(u);",
        "let u = graph::get_user(USER);\nfn f(u) { ad::disable_account(u) }",
        "let u = graph::get_user(USER);\nfor u in [] { ad::disable_account(u); }",
        "let u = if true { graph::get_user(USER) } else { ad::get_user(USER) };\nad::disable_account(u);",
    ];
    for src in unsure {
        assert_eq!(check_src(src, &[]), vec![], "{src}");
    }
}
