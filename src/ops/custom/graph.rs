//! `graph::get`, `graph::get_all` and `graph::send`: a script's own Graph calls, through the same
//! client as the built-ins (token, throttling, retries, `$batch` coalescing, nextLink checks), and
//! the escaping helpers for the paths it builds.

use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, Module, NativeCallContext, Position};

use super::scope::{provider_failed, write_allowed};
use super::value::json;
use crate::entra::{CloudAccess, CloudDirectory};
use crate::exec::host::Host;
use crate::graph::{odata_string, path_segment, query_value};
use crate::ops::register::Register;
use crate::ops::{check, ctx_pos, registration, script_error, Access, OpSpec};

pub static OPS: [OpSpec; 5] = [
    OpSpec {
        module: "graph",
        name: "get",
        params: &["path: String"],
        returns: "Dynamic",
        access: Access::Read,
        capability: "graph.get",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// GET a Graph path relative to the tenant's Graph base (`/users/{id}/...`), as JSON. Build",
            "/// path segments with `graph::segment` and `$filter` values with `graph::literal`.",
            "///",
            "/// ```rhai",
            "/// let me = graph::get(`/users/${graph::segment(user.id)}?$select=id,displayName`);",
            "/// ```",
        ],
        register: Register::Custom(register_get),
    },
    OpSpec {
        module: "graph",
        name: "get_all",
        params: &["path: String"],
        returns: "Array",
        access: Access::Read,
        capability: "graph.get",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// GET a Graph collection and every further page (`@odata.nextLink`, which must stay on the",
            "/// tenant's Graph base): the items of `value`, in order.",
            "///",
            "/// ```rhai",
            "/// let methods = graph::get_all(`/users/${graph::segment(user.id)}/authentication/methods`);",
            "/// ```",
        ],
        register: Register::Custom(register_get),
    },
    OpSpec {
        module: "graph",
        name: "send",
        params: &["method: String", "path: String", "body: Dynamic"],
        returns: "Dynamic",
        access: Access::Write,
        capability: "graph.send",
        idempotent: false,
        plan: "never runs: allowed only inside an action's apply function, which a plan does not call",
        doc: &[
            "/// Send a Graph write (`POST`, `PATCH`, `PUT` with a body; `DELETE` with `()`) to a relative",
            "/// path, through the same client as the built-ins (throttling, retries, `$batch`). Only inside",
            "/// an action's `apply`; re-sent after an unclear failure only if the action is `idempotent`.",
            "/// Returns the answer's body (`()` for 204).",
            "///",
            "/// ```rhai",
            "/// graph::send(\"PATCH\", `/users/${graph::segment(user.id)}`, #{ displayName: \"zz-Left\" });",
            "/// ```",
        ],
        register: Register::Custom(register_send),
    },
    OpSpec {
        module: "graph",
        name: "segment",
        params: &["text: String"],
        returns: "String",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Percent-encode one path segment (`jo#EXT#@x` → `jo%23EXT%23%40x`, `a/b` → `a%2Fb`).",
            "///",
            "/// ```rhai",
            "/// let path = `/users/${graph::segment(user.upn)}/memberOf`;",
            "/// ```",
        ],
        register: Register::Custom(register_segment),
    },
    OpSpec {
        module: "graph",
        name: "literal",
        params: &["text: String"],
        returns: "String",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// An OData string literal for a `$filter`, quoted (`O'Brien` → `'O''Brien'`) and",
            "/// percent-encoded, so a value cannot end the literal early.",
            "///",
            "/// ```rhai",
            "/// let found = graph::get_all(`/groups?$filter=displayName eq ${graph::literal(\"Sales\")}`);",
            "/// ```",
        ],
        register: Register::Custom(register_literal),
    },
];

/// A path a script may send: relative to the Graph base, with nothing that leaves it. Spaces in
/// the query (`$filter=id eq '...'`) are sent as `%20`; anywhere else they are refused.
pub fn checked_path(path: &str, pos: Position) -> Result<String, Box<EvalAltResult>> {
    let bad = |why: &str| script_error("invalid_argument", format!("Graph path {:?} {why}", path), pos);
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(bad("must start with a single '/' (relative to the tenant's Graph base)"));
    }
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    if path.contains("://")
        || route.split('/').any(|s| s == "..")
        || route.contains(' ')
        || path.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' '))
    {
        return Err(bad("must not hold a URL, '..', spaces in the path or control characters (escape values with graph::segment)"));
    }
    if route.to_ascii_lowercase().starts_with("/$batch") {
        return Err(bad("is $batch: send the requests one by one, the client batches them"));
    }
    Ok(if query.is_empty() { route.to_string() } else { format!("{route}?{}", query.replace(' ', "%20")) })
}

fn cloud(host: &Host, pos: Position) -> Result<Arc<dyn CloudDirectory>, Box<EvalAltResult>> {
    host.providers.cloud().cloned().map_err(|e| script_error("provider", e.to_string(), pos))
}

/// A Graph failure, with its HTTP status as `e.status` (`catch (e) { if e.status == 404 {...} }`).
fn graph_failed(e: crate::graph::GraphError, what: String, pos: Position) -> Box<EvalAltResult> {
    let status = e.status();
    let mut err = provider_failed(e, what, pos);
    if let (EvalAltResult::ErrorRuntime(v, _), Some(status)) = (err.as_mut(), status) {
        if let Some(mut m) = v.write_lock::<rhai::Map>() {
            m.insert("status".into(), (status as i64).into());
        }
    }
    err
}

fn register_get(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    let all = spec.name == "get_all";
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, path: &str| -> Result<Dynamic, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let path = checked_path(path, pos)?;
        let cloud = cloud(&host, pos)?;
        let v = host.rt.block_on(cloud.raw_get(&path, all)).map_err(|e| graph_failed(e, format!("GET {path}"), pos))?;
        rhai::serde::to_dynamic(v)
    });
}

fn register_send(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(
        m,
        move |ctx: NativeCallContext, method: &str, path: &str, body: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
            let pos = ctx_pos(&ctx);
            check(&host, spec, pos)?;
            let idempotent = write_allowed("graph::send", pos)?;
            let path = checked_path(path, pos)?;
            let method = method.to_ascii_uppercase();
            if !["POST", "PATCH", "PUT", "DELETE"].contains(&method.as_str()) {
                return Err(script_error(
                    "invalid_argument",
                    format!("graph::send: '{method}' is not a write (POST, PATCH, PUT, DELETE)"),
                    pos,
                ));
            }
            let body = if body.is_unit() {
                None
            } else {
                Some(json(&body).map_err(|e| script_error("invalid_argument", format!("the body is {e}"), pos))?)
            };
            let cloud = cloud(&host, pos)?;
            let v = host
                .rt
                .block_on(cloud.raw_send(&method, &path, body, idempotent))
                .map_err(|e| graph_failed(e, format!("{method} {path}"), pos))?;
            if v.is_null() {
                return Ok(Dynamic::UNIT);
            }
            rhai::serde::to_dynamic(v)
        },
    );
}

fn register_segment(m: &mut Module, _host: &Arc<Host>, spec: &'static OpSpec) {
    registration(spec).set_into_module(m, |text: &str| path_segment(text));
}

fn register_literal(m: &mut Module, _host: &Arc<Host>, spec: &'static OpSpec) {
    registration(spec).set_into_module(m, |text: &str| query_value(&odata_string(text)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_graph_paths_are_sent() {
        for ok in ["/users/a%40b", "/users?$filter=x%20eq%20'y'", "/me/drive/root"] {
            assert_eq!(checked_path(ok, Position::NONE).ok().as_deref(), Some(ok));
        }
        assert_eq!(checked_path("/groups?$filter=id eq 'x'", Position::NONE).ok().as_deref(), Some("/groups?$filter=id%20eq%20'x'"));
        for bad in ["users", "//evil.example/x", "https://evil.example/", "/users/../groups", "/users/a b", "/$batch", "/x\n", "/x?a=\tb"] {
            assert!(checked_path(bad, Position::NONE).is_err(), "{bad}");
        }
    }
}
