//! The walker finds calls, pointers, closures, imports and functions where Rhai put them.

use super::*;

fn ast(src: &str) -> AST {
    rhai::Engine::new_raw().compile(src).unwrap()
}

fn calls(w: &Walk) -> Vec<(String, usize, (usize, usize))> {
    let mut v: Vec<_> = w.calls.iter().map(|c| (c.qualified(), c.args.len(), (c.line, c.col))).collect();
    v.sort_by_key(|c| c.2);
    v
}

#[test]
fn finds_plain_namespaced_and_method_calls_with_their_arguments() {
    let w = walk(&ast("let u = graph::get_user(\"x\");\nf(1, [2], #{a: h(4, 5)}, `t ${g()}`);\nu.len(); ob::x::y(());"));
    let names: Vec<_> = calls(&w).into_iter().map(|c| (c.0, c.1)).collect();
    let owned = |v: &[(&str, usize)]| v.iter().map(|(n, a)| (n.to_string(), *a)).collect::<Vec<_>>();
    assert_eq!(names, owned(&[("graph::get_user", 1), ("f", 4), ("h", 2), ("g", 0), (".len", 0), ("ob::x::y", 1)]));
    let get = &w.calls.iter().find(|c| c.name == "get_user").unwrap();
    assert_eq!(((get.line, get.col), get.args.clone(), get.arg_at.clone()), ((1, 16), vec![Arg::Str], vec![(1, 25)]));
    let f = w.calls.iter().find(|c| c.name == "f").unwrap();
    assert_eq!(f.args, [Arg::Int, Arg::Array, Arg::Map, Arg::Str]);
    assert!(w.calls.iter().find(|c| c.name == "len").unwrap().method);
    assert_eq!(w.calls.iter().find(|c| c.name == "y").unwrap().args, [Arg::Unit]);
    // Operators are not calls.
    assert!(walk(&ast("let a = 1 + 2 * 3; a == 7")).calls.is_empty());
}

#[test]
fn strings_comments_and_template_text_are_not_code() {
    let w = walk(&ast("// graph::nope(1)\n/* still(1) */\nlet s = \"call(me)\";\nlet t = `text(1) ${ real(2) } more(3)`;"));
    assert_eq!(calls(&w).into_iter().map(|c| c.0).collect::<Vec<_>>(), ["real"]);
}

#[test]
fn closures_and_pointers_are_functions_and_references() {
    let src = "fn helper(a) {\n  phase(\"x\", || graph::remove_manager(a));\n}\nlet f = |x| x + 1;\nlet p = Fn(\"helper\");\nphase(\"y\", #{}, f);";
    let w = walk(&ast(src));
    let helper = w.fns.iter().position(|f| f.name == "helper").unwrap();
    let closures: Vec<usize> = (0..w.fns.len()).filter(|i| w.fns[*i].is_closure()).collect();
    assert_eq!(closures.len(), 2);
    // The call inside the closure belongs to the closure; the closure is referred to from helper.
    let rm = w.calls.iter().find(|c| c.name == "remove_manager").unwrap();
    let inner = rm.in_fn.unwrap();
    assert!(w.fns[inner].is_closure());
    assert!(w.fn_refs.iter().any(|r| r.name == w.fns[inner].name && r.in_fn == Some(helper)));
    // The capturing closure is a function-pointer argument.
    assert_eq!(w.calls.iter().find(|c| c.name == "phase" && c.in_fn == Some(helper)).unwrap().args, [Arg::Str, Arg::FnPtr]);
    assert!(w.fn_refs.iter().any(|r| r.name == "helper" && r.in_fn.is_none() && (r.line, r.col) == (5, 9)));
    // The closure's captured `a` is helper's parameter, not a second binding.
    assert_eq!(w.bindings["a"], [None]);
    let b = walk(&ast("let u = graph::get_user(\"x\");\nphase(\"y\", || graph::disable_account(u));"));
    assert_eq!(b.bindings["u"], [Some("graph::get_user".to_string())]);
    let d = b.calls.iter().find(|c| c.name == "disable_account").unwrap();
    assert_eq!(d.arg_vars, [Some("u".to_string())]);
    // A closure in a constant map is referred to from where the map is made.
    let m = walk(&ast("fn f() { #{ act: || graph::remove_manager(1) } }"));
    let f = m.fns.iter().position(|d| d.name == "f").unwrap();
    assert!(m.fn_refs.iter().any(|r| r.name.starts_with("anon$") && r.in_fn == Some(f)), "{:?}", m.fn_refs);
    assert!(m.props.contains("act"));
    // Each call is in its own function only.
    let two = walk(&ast("fn a() { x(); }\nfn b() { y(); }"));
    for c in &two.calls {
        assert_eq!(two.fns[c.in_fn.unwrap()].name, if c.name == "x" { "a" } else { "b" });
    }
    assert_eq!(two.calls.len(), 2);
    for v in ["a", "f", "x", "p"] {
        assert!(w.vars.contains(v), "{v}");
    }
}

#[test]
fn finds_imports_and_documented_functions() {
    let w = walk(&ast(
        "import \"offboard\" as ob;\nimport \"x\";\n/// Does a thing.\n/// Really.\nfn helper(a, b) { a }\nprivate fn hidden() { 1 }",
    ));
    let imports: Vec<_> = w.imports.iter().map(|i| (i.path.as_deref(), i.alias.as_deref(), i.line)).collect();
    assert_eq!(imports, [(Some("offboard"), Some("ob"), 1), (Some("x"), None, 2)]);
    let helper = w.fns.iter().find(|f| f.name == "helper").unwrap();
    assert_eq!((helper.params, helper.private, helper.doc.clone()), (2, false, vec!["/// Does a thing.".into(), "/// Really.".into()]));
    assert!(w.fns.iter().find(|f| f.name == "hidden").unwrap().private);
}
