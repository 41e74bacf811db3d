//! The op table is the single declaration of the script surface: what is registered is exactly
//! what the table lists, and every entry is documented with an example.

use std::collections::BTreeSet;

use super::{table, Access};
use crate::engine::{build_engine, EngineOptions};

#[test]
fn registered_functions_are_exactly_the_table() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let host = crate::run::tests::test_host(&rt);
    let engine = build_engine(Some(&host), &EngineOptions::default());
    let meta: serde_json::Value = serde_json::from_str(&engine.gen_fn_metadata_to_json(false).unwrap()).unwrap();

    let mut registered = BTreeSet::new();
    for f in meta["functions"].as_array().into_iter().flatten() {
        registered.insert(("".to_string(), f["name"].as_str().unwrap().to_string(), f["numParams"].as_u64().unwrap()));
    }
    for (module, m) in meta["modules"].as_object().into_iter().flatten() {
        for f in m["functions"].as_array().into_iter().flatten() {
            registered.insert((module.clone(), f["name"].as_str().unwrap().to_string(), f["numParams"].as_u64().unwrap()));
        }
    }
    // Property getters and methods of the User type are part of the type, not the op table.
    registered.retain(|(m, n, _)| !(m.is_empty() && (n.starts_with("get$") || ["to_map", "to_string", "to_debug"].contains(&n.as_str()))));

    let declared: BTreeSet<_> = table().iter().map(|s| (s.module.to_string(), s.name.to_string(), s.params.len() as u64)).collect();
    assert_eq!(registered, declared);
}

#[test]
fn every_op_is_documented_with_an_example_and_a_capability() {
    let mut seen = BTreeSet::new();
    for spec in table() {
        let doc = spec.doc.join("\n");
        assert!(spec.doc.iter().all(|l| l.starts_with("///")), "{}: doc lines must be /// comments", spec.qualified());
        assert!(doc.contains("```rhai"), "{} has no example", spec.qualified());
        assert!(!spec.capability.is_empty() && !spec.plan.is_empty(), "{}", spec.qualified());
        if spec.access == Access::Write {
            assert!(spec.capability.contains('.'), "{}: writes need a specific capability", spec.qualified());
        }
        assert!(seen.insert((spec.qualified(), spec.params.len())), "{} declared twice", spec.qualified());
    }
}

#[test]
fn every_user_property_is_documented() {
    let mut engine = rhai::Engine::new();
    super::user::register_type(&mut engine);
    let meta: serde_json::Value = serde_json::from_str(&engine.gen_fn_metadata_to_json(false).unwrap()).unwrap();
    let registered: BTreeSet<String> = meta["functions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str()?.strip_prefix("get$").map(str::to_string))
        .collect();
    let documented: BTreeSet<String> = super::user::PROPERTIES.iter().map(|p| p.name.to_string()).collect();
    assert_eq!(registered, documented, "User properties and user::PROPERTIES differ");
    assert!(super::user::PROPERTIES.iter().all(|p| !p.doc.is_empty() && !p.ty.is_empty()));
}
