//! `ad::search` and `ad::modify`: a script's own LDAP calls on the client's AD, through the same
//! connection as the built-ins, with the escaping helpers for filters (RFC 4515) and DNs (RFC 4514).

use std::sync::Arc;

use rhai::{Array, EvalAltResult, Map, Module, NativeCallContext, Position};

use super::scope::{provider_failed, write_allowed};
use crate::ad::{AdAccess, RawMod, RawOp};
use crate::exec::host::Host;
use crate::ops::register::Register;
use crate::ops::{check, ctx_pos, registration, script_error, Access, OpSpec};

pub static OPS: [OpSpec; 4] = [
    OpSpec {
        module: "ad",
        name: "search",
        params: &["base: String", "filter: String", "attributes: Array"],
        returns: "Array",
        access: Access::Read,
        capability: "ad.search",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// Subtree search under `base` (\"\": the client's base DN; it must be inside it) with an LDAP",
            "/// filter (build values with `ad::escape_filter`). Returns `#{dn, attrs}` maps, each attribute",
            "/// a list of strings (binary values as `base64:...`).",
            "///",
            "/// ```rhai",
            "/// let found = ad::search(\"\", `(sAMAccountName=${ad::escape_filter(\"jdoe\")})`, [\"memberOf\"]);",
            "/// ```",
        ],
        register: Register::Custom(register_search),
    },
    OpSpec {
        module: "ad",
        name: "modify",
        params: &["dn: String", "changes: Map"],
        returns: "()",
        access: Access::Write,
        capability: "ad.modify",
        idempotent: false,
        plan: "never runs: allowed only inside an action's apply function, which a plan does not call",
        doc: &[
            "/// One LDAP modify of `dn`: `changes` is `#{ add: #{attr: [values]}, replace: #{...}, delete:",
            "/// #{attr: [] } }` (a single value may be a string). Only inside an action's `apply`. Refused",
            "/// outside the base DN, on objects AD guards (adminCount=1, critical system objects) and for",
            "/// passwords and security descriptors.",
            "///",
            "/// ```rhai",
            "/// ad::modify(ad_user.dn, #{ replace: #{ description: \"Left 2026-12\" } });",
            "/// ```",
        ],
        register: Register::Custom(register_modify),
    },
    OpSpec {
        module: "ad",
        name: "escape_filter",
        params: &["value: String"],
        returns: "String",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Escape a value for an LDAP filter (RFC 4515: `*`, `(`, `)`, `\\`, NUL).",
            "///",
            "/// ```rhai",
            "/// let f = `(cn=${ad::escape_filter(\"a*b\")})`;",
            "/// ```",
        ],
        register: Register::Custom(register_escape),
    },
    OpSpec {
        module: "ad",
        name: "escape_dn",
        params: &["value: String"],
        returns: "String",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Escape a value for one RDN of a DN (RFC 4514: `,`, `+`, `\"`, `\\`, `<`, `>`, `;`, leading `#`",
            "/// or space, trailing space).",
            "///",
            "/// ```rhai",
            "/// let dn = `CN=${ad::escape_dn(\"Doe, Jo\")},OU=Staff,DC=corp,DC=test`;",
            "/// ```",
        ],
        register: Register::Custom(register_escape),
    },
];

fn register_search(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(
        m,
        move |ctx: NativeCallContext, base: &str, filter: &str, attrs: Array| -> Result<Array, Box<EvalAltResult>> {
            let pos = ctx_pos(&ctx);
            check(&host, spec, pos)?;
            let attrs: Vec<String> = attrs
                .into_iter()
                .map(|a| a.into_string())
                .collect::<Result<_, _>>()
                .map_err(|t| script_error("invalid_argument", format!("ad::search: attribute names are strings, not {t}"), pos))?;
            let ad = host.providers.ad().cloned().map_err(|e| script_error("provider", e.to_string(), pos))?;
            let found = host.rt.block_on(ad.raw_search(base, filter, &attrs)).map_err(|e| provider_failed(e, "ad::search".into(), pos))?;
            found.into_iter().map(rhai::serde::to_dynamic).collect()
        },
    );
}

fn register_modify(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, dn: &str, changes: Map| -> Result<(), Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        write_allowed("ad::modify", pos)?;
        let mods = mods(&changes, pos)?;
        let ad = host.providers.ad().cloned().map_err(|e| script_error("provider", e.to_string(), pos))?;
        host.rt.block_on(ad.raw_modify(dn, &mods)).map_err(|e| provider_failed(e, format!("ad::modify {dn}"), pos))
    });
}

/// `#{ add: #{attr: values}, replace: ..., delete: ... }` as LDAP changes.
pub(super) fn mods(changes: &Map, pos: Position) -> Result<Vec<RawMod>, Box<EvalAltResult>> {
    let bad = |msg: String| script_error("invalid_argument", format!("ad::modify: {msg}"), pos);
    let mut out = Vec::new();
    for (op, attrs) in changes {
        let op = match op.as_str() {
            "add" => RawOp::Add,
            "replace" => RawOp::Replace,
            "delete" => RawOp::Delete,
            other => return Err(bad(format!("'{other}' is not a change (add, replace, delete)"))),
        };
        let attrs = attrs.read_lock::<Map>().map(|m| m.clone()).ok_or_else(|| bad("each change is a map of attribute → values".into()))?;
        for (attr, values) in attrs {
            let values: Vec<String> = match values {
                v if v.is_string() => vec![v.into_string().unwrap_or_default()],
                v if v.is_unit() => vec![],
                v => match v.try_cast::<Array>() {
                    Some(a) => a
                        .into_iter()
                        .map(|x| x.into_string())
                        .collect::<Result<_, _>>()
                        .map_err(|t| bad(format!("values of {attr} are strings, not {t}")))?,
                    None => return Err(bad(format!("values of {attr} are a string or a list of strings"))),
                },
            };
            out.push(RawMod { op, attr: attr.to_string(), values });
        }
    }
    if out.is_empty() {
        return Err(bad("no changes".into()));
    }
    Ok(out)
}

fn register_escape(m: &mut Module, _host: &Arc<Host>, spec: &'static OpSpec) {
    if spec.name == "escape_filter" {
        registration(spec).set_into_module(m, |value: &str| ldap3::ldap_escape(value).into_owned());
    } else {
        registration(spec).set_into_module(m, |value: &str| ldap3::dn_escape(value).into_owned());
    }
}
