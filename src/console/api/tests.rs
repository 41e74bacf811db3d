//! The OpenAPI document against the routes: every route is documented, and nothing is
//! documented that is not served.

use std::collections::BTreeSet;

use super::DOCUMENT;

/// (method, path) of every operation in the document.
fn documented() -> BTreeSet<(String, String)> {
    let paths = DOCUMENT["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(p, item)| item.as_object().into_iter().flat_map(move |ops| ops.keys().map(move |m| (m.clone(), p.clone()))))
        .collect()
}

#[test]
fn the_document_lists_the_api_and_every_operation_needs_the_token() {
    let want: BTreeSet<(String, String)> =
        [("get", "/api/v1/runs"), ("get", "/api/v1/runs/{id}"), ("post", "/api/v1/offboardings"), ("get", "/api/v1/openapi.json")]
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
    assert_eq!(documented(), want);
    assert!(DOCUMENT["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", DOCUMENT["openapi"]);
    assert_eq!(DOCUMENT["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for (m, p) in documented() {
        let op = &DOCUMENT["paths"][&p][&m];
        assert!(op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some())), "{m} {p} needs the token");
        assert!(op["responses"].get("401").is_some(), "{m} {p} documents its 401");
    }
}

/// The sources that register the API's routes. A route can only be served undocumented if it is
/// added with axum's own `route`; the only one allowed is the catch-all that answers 404.
#[test]
fn every_route_is_documented_and_served() {
    let api = include_str!("mod.rs");
    let console = include_str!("../mod.rs");
    let registered = api.matches(".routes(routes!(").count();
    let operations = documented().len();
    assert_eq!(registered, operations, "each routes!(handler) is one documented operation");
    let plain: Vec<&str> = api.lines().filter(|l| l.contains(".route(") && !l.trim_start().starts_with("//")).collect();
    assert_eq!(plain, ["    router.route(\"/api/{*rest}\", axum::routing::any(not_found))"], "API routes go through routes!()");
    assert!(
        !console.lines().any(|l| l.contains(".route(\"/api")),
        "the console's router adds no /api route of its own: they are api::router()'s, documented"
    );
}
