//! Custom steps without recompiling: a script declares its own action, and reaches Graph,
//! Exchange and AD through generic calls.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | `action(name, def)`: a step with observe and apply functions |
//! | `action.rs` | [`ScriptAction`](action::ScriptAction): the executor's view of such a step |
//! | `scope.rs` | calling the script's closures on a blocking thread; writes only inside apply |
//! | `graph.rs` | `graph::get`, `graph::get_all`, `graph::send`, `graph::segment`, `graph::literal` |
//! | `exo.rs` | `exo::invoke` |
//! | `ad.rs` | `ad::search`, `ad::modify`, `ad::escape_filter`, `ad::escape_dn` |
//!
//! Every generic call has its own capability (`graph.get`, `graph.send`, `exo.invoke`,
//! `ad.search`, `ad.modify`), which a client can deny like any other.

mod action;
mod ad;
mod exo;
mod graph;
mod restore;
pub mod scope;
mod value;

use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, FnPtr, Map, Module, NativeCallContext, Position};

use super::register::{declare, Register};
use super::user::User;
use super::{check, ctx_pos, registration, script_error, Access, OpSpec};
use crate::exec::host::Host;
pub use action::ScriptAction;
use scope::ScriptRuntime;

pub static OPS: [OpSpec; 1] = [OpSpec {
    module: "",
    name: "action",
    params: &["name: String", "definition: Map"],
    returns: "Map",
    access: Access::Write,
    capability: "script.action",
    idempotent: false,
    plan: "runs `observe` and records the step as planned, already done, skipped or needs_action; never runs `apply`",
    doc: &[
        "/// Declare a step of the script's own, with the guarantees of the built-in ones: `observe` runs",
        "/// (in plan mode too) and returns what is needed; in apply mode the intent is journalled, `apply`",
        "/// runs, and the outcome is journalled. An unclear failure of a write is re-observed, never",
        "/// blindly re-sent. Generic writes (`graph::send`, `exo::invoke` of a non-`Get-` cmdlet,",
        "/// `ad::modify`) are allowed only inside `apply`, so a plan never sends one.",
        "///",
        "/// `definition` keys: `target` (a string, or `#{kind, id, display}`), `observe` (a closure",
        "/// with no parameters returning `#{status: \"needed\", detail, prior}`, `#{status:",
        "/// \"already_done\", detail}`, `#{status: \"skip\", reason}` or `#{status: \"needs_action\",",
        "/// instruction}`), `apply` (a closure taking the prior state `observe` returned; returns a",
        "/// detail string or nothing), and optionally `user` (the `User` the step belongs to),",
        "/// `directory` (`cloud`, `exchange`, `ad` or `psa`; default `cloud`), `params` (a map kept in",
        "/// the journal and compared by approvals), `idempotent` (may the write be re-sent after an",
        "/// unclear failure; default false) and `read_back` (done only when `observe` then says",
        "/// already done; default false), `restore` (a closure taking the prior state and returning the",
        "/// calls that put it back: `#{graph: method, path, body}`, `#{exo: cmdlet, params}`, `#{ad: dn,",
        "/// changes}` or a list; kept in the journal, replayed by `restore RUN_ID`). `name` is",
        "/// snake_case and not the name of a built-in function.",
        "///",
        "/// ```rhai",
        "/// action(\"revoke_oauth_grants\", #{",
        "///     user: user, target: user.upn, idempotent: true,",
        "///     observe: || {",
        "///         let grants = graph::get_all(`/users/${graph::segment(user.id)}/oauth2PermissionGrants`);",
        "///         if grants.is_empty() { return #{ status: \"already_done\", detail: \"no grants\" }; }",
        "///         #{ status: \"needed\", detail: `revoke ${grants.len()} grant(s)`, prior: grants }",
        "///     },",
        "///     apply: |prior| {",
        "///         for g in prior { graph::send(\"DELETE\", `/oauth2PermissionGrants/${graph::segment(g.id)}`, ()); }",
        "///         `revoked ${prior.len()}`",
        "///     },",
        "/// });",
        "/// ```",
    ],
    register: Register::Custom(register_action),
}];

/// Every op of this module, for the table.
pub fn ops() -> impl Iterator<Item = &'static OpSpec> {
    OPS.iter().chain(graph::OPS.iter()).chain(exo::OPS.iter()).chain(ad::OPS.iter())
}

const KEYS: [&str; 9] = ["target", "user", "directory", "params", "idempotent", "read_back", "observe", "apply", "restore"];
const DIRECTORIES: [&str; 4] = ["cloud", "exchange", "ad", "psa"];

fn register_action(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, name: &str, def: Map| -> Result<Map, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        scope::outside_callbacks("action", pos)?;
        let action = build(&host, name, &def, scope::functions_here(&ctx), pos)?;
        declare(&host, pos, Box::new(action))
    });
}

fn build(host: &Host, name: &str, def: &Map, lib: rhai::AST, pos: Position) -> Result<ScriptAction, Box<EvalAltResult>> {
    let bad = |msg: String| script_error("invalid_argument", format!("action '{name}': {msg}"), pos);
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(bad("the name must be snake_case (a-z, 0-9, _), at most 64 characters".into()));
    }
    if super::table().iter().any(|s| s.name == name) {
        return Err(bad(
            "the name is a built-in function's: choose another, so the journal and restore cannot mistake one for the other".into()
        ));
    }
    if let Some(k) = def.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!("unknown key '{k}' (allowed: {})", KEYS.join(", "))));
    }
    let function = |key: &str| -> Result<FnPtr, Box<EvalAltResult>> {
        def.get(key)
            .and_then(|v| v.clone().try_cast::<FnPtr>())
            .ok_or_else(|| bad(format!("'{key}' must be a function (a closure: `{key}: || {{ ... }}`)")))
    };
    let flag = |key: &str| -> Result<bool, Box<EvalAltResult>> {
        match def.get(key) {
            None => Ok(false),
            Some(v) => v.as_bool().map_err(|t| bad(format!("'{key}' must be true or false, not {t}"))),
        }
    };
    let directory = match def.get("directory") {
        None => "cloud".to_string(),
        Some(v) => v
            .clone()
            .into_string()
            .ok()
            .filter(|d| DIRECTORIES.contains(&d.as_str()))
            .ok_or_else(|| bad(format!("'directory' must be one of {}", DIRECTORIES.join(", "))))?,
    };
    let target = target(def.get("target"), &bad)?;
    let subject = match def.get("user") {
        None => host.pinned_subject("cloud").unwrap_or_else(|| host.user.clone()),
        Some(v) => v
            .clone()
            .try_cast::<User>()
            .map(|u| u.0.id.clone())
            .ok_or_else(|| bad("'user' must be a User (from graph::get_user)".into()))?,
    };
    let params = match def.get("params") {
        None => serde_json::Value::Null,
        Some(v) if v.is_map() => value::json(v).map_err(|e| bad(format!("'params' {e}")))?,
        Some(v) => return Err(bad(format!("'params' must be a map, not {}", v.type_name()))),
    };
    let runtime = ScriptRuntime::of(host).ok_or_else(|| bad("actions run only in a run (plan or apply), not here".into()))?;
    let (observe, apply) = (function("observe")?, function("apply")?);
    let restore = if def.contains_key("restore") { Some(function("restore")?) } else { None };
    let flags = (flag("idempotent")?, flag("read_back")?);
    let mut action = ScriptAction::new(name, &directory, target, subject, params, flags, (observe, apply), (runtime, lib));
    action.restore = restore;
    Ok(action)
}

/// `target`: a string (its own id and display) or `#{kind, id, display}`.
fn target(v: Option<&Dynamic>, bad: &dyn Fn(String) -> Box<EvalAltResult>) -> Result<(String, String, String), Box<EvalAltResult>> {
    let need = || bad("'target' must be a non-empty string or #{kind, id, display}".into());
    let v = v.ok_or_else(need)?;
    if let Ok(s) = v.clone().into_string() {
        return if s.trim().is_empty() { Err(need()) } else { Ok(("object".into(), s.clone(), s)) };
    }
    let m = v.read_lock::<Map>().map(|m| m.clone()).ok_or_else(need)?;
    let field = |k: &str| m.get(k).and_then(|v| v.clone().into_string().ok()).filter(|s| !s.trim().is_empty());
    let id = field("id").ok_or_else(need)?;
    Ok((field("kind").unwrap_or_else(|| "object".into()), id.clone(), field("display").unwrap_or(id)))
}
