//! The hardening promises of `build_engine`, each with a script that tries to break it.

use std::path::Path;
use std::time::Duration;

use rhai::{Engine, EvalAltResult};

use super::{build_engine, describe, EngineOptions};

fn engine_in(dir: Option<&Path>) -> Engine {
    let opts = EngineOptions { script_dir: dir.map(Path::to_path_buf), ..EngineOptions::default() };
    build_engine(None, &opts)
}

fn run(engine: &Engine, script: &str) -> Result<rhai::Dynamic, Box<EvalAltResult>> {
    engine.eval::<rhai::Dynamic>(script)
}

#[test]
fn endless_loop_hits_the_operation_budget() {
    let opts = EngineOptions { max_operations: 50_000, ..EngineOptions::default() };
    let e = build_engine(None, &opts);
    let err = run(&e, "let x = 0; loop { x += 1; }").unwrap_err();
    assert!(matches!(*err, EvalAltResult::ErrorTooManyOperations(..)), "{err}");
    assert!(describe(&err, "s.rhai").message.contains("endless loop"));
}

#[test]
fn wall_clock_deadline_stops_a_script() {
    let opts = EngineOptions { deadline: Duration::from_millis(50), max_operations: 0, ..EngineOptions::default() };
    let e = build_engine(None, &opts);
    let started = std::time::Instant::now();
    let err = run(&e, "let x = 0; loop { x += 1; }").unwrap_err();
    assert!(matches!(*err, EvalAltResult::ErrorTerminated(..)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(describe(&err, "s.rhai").message.contains("time limit"));
}

#[test]
fn data_size_limits_hold() {
    let e = engine_in(None);
    let err = run(&e, r#"let s = "x"; loop { s += s; }"#).unwrap_err();
    assert!(matches!(*err, EvalAltResult::ErrorDataTooLarge(..)), "{err}");
    let err = run(&e, "let a = []; loop { a.push(1); }").unwrap_err();
    assert!(matches!(*err, EvalAltResult::ErrorDataTooLarge(..) | EvalAltResult::ErrorTooManyOperations(..)), "{err}");
    let err = run(&e, "fn f(n) { f(n + 1) } f(0)").unwrap_err();
    assert!(matches!(*err, EvalAltResult::ErrorStackOverflow(..)), "{err}");
}

#[test]
fn eval_is_disabled_and_variables_are_strict() {
    let e = engine_in(None);
    let err = e.compile(r#"eval("1 + 1")"#).unwrap_err();
    assert!(err.to_string().contains("eval"), "{err}");
    let err = e.compile("let a = 1; a + undefined_thing").unwrap_err();
    assert!(err.to_string().to_lowercase().contains("undefined"), "{err}");
}

#[test]
fn imports_stay_inside_stdlib_and_the_script_folder() {
    let root = tempfile::tempdir().unwrap();
    let scripts = root.path().join("scripts");
    std::fs::create_dir_all(scripts.join("lib")).unwrap();
    std::fs::write(scripts.join("lib/util.rhai"), "fn two() { 2 }").unwrap();
    std::fs::write(root.path().join("outside.rhai"), "fn secret() { 42 }").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.path().join("outside.rhai"), scripts.join("link.rhai")).unwrap();
    let e = engine_in(Some(&scripts));

    assert_eq!(run(&e, r#"import "lib/util" as u; u::two()"#).unwrap().as_int().unwrap(), 2);
    assert!(run(&e, r#"import "offboard" as ob; ob::defaults().reset_password"#).unwrap().as_bool().unwrap());
    for bad in [
        r#"import "../outside" as o;"#,
        r#"import "/etc/passwd" as o;"#,
        r#"import "lib/../../outside" as o;"#,
        r#"import "link" as o;"#,
        r#"import "nope" as o;"#,
    ] {
        let err = run(&e, bad).unwrap_err();
        let msg = describe(&err, "s.rhai").message;
        assert!(msg.contains("cannot import"), "{bad}: {msg}");
    }
    let msg = describe(&run(&e, r#"import "../outside" as o;"#).unwrap_err(), "s.rhai").message;
    assert!(msg.contains("no '..'"), "message was: {msg}");
    // Without a script folder (the embedded default script) only the stdlib is importable.
    let e = engine_in(None);
    assert!(run(&e, r#"import "lib/util" as u;"#).is_err());
}

#[test]
fn errors_carry_file_line_and_column() {
    let e = engine_in(None);
    let err = run(&e, "let a = 1;\nlet b = a / 0;").unwrap_err();
    let f = describe(&err, "client.rhai");
    assert_eq!(f.location, "client.rhai:2:11");
    assert_eq!(f.code, "script");
    let err = run(&e, r#"throw #{ code: "user_not_found", message: "no such user" };"#).unwrap_err();
    let f = describe(&err, "client.rhai");
    assert_eq!((f.code.as_str(), f.message.as_str()), ("user_not_found", "no such user"));
}
