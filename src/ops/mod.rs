//! The op table: every function a script can call, declared once.
//!
//! Each [`OpSpec`] says what the function is (module, name, parameters, documentation with an
//! example), what it may touch (read or write, the capability it needs), whether repeating it is
//! harmless, and what it does in plan mode. [`register_all`] walks this table and nothing else, so
//! a function that is not in the table does not exist for scripts, and every function that exists
//! is documented and capability-checked the same way (the Deno op pattern: check first, then act).
//!
//! | module | file | functions |
//! |---|---|---|
//! | (global) | `core.rs` | `phase`, `log`, `warn` |
//! | `graph::` | `graph.rs` | `get_user` and the Entra ID writes |
//! | `exo::` | `exo.rs` | `get_mailbox` and the Exchange Online mailbox writes |
//! | `graph::`, `exo::` | `lookup.rs` | `list_users`, `group_members`, `managed_devices`, `mobile_devices`: the console's look-ups |
//! | `graph::` | `notify.rs` | `notify_supervisor` (the manager's e-mail) |
//! | `psa::` | `psa.rs` | `disable_contact` |
//! | (type) | `user.rs` | `User`, the resolved user handle, and its properties |
//! | `ad::` | `ad.rs` | on-premises AD: `get_user` (the `AdUser` handle) and the AD writes |
//! | (global), `graph::`, `exo::`, `ad::` | `custom/` | `action` (a step of the script's own) and the generic calls it makes |
//!
//! `register.rs` turns an entry into a registered function by its kind ([`Register`]), and
//! `args.rs` reads the option and item maps scripts pass.

pub mod ad;
pub mod ad_user;
mod args;
mod core;
pub mod custom;
mod exo;
mod graph;
mod lookup;
mod notify;
mod psa;
mod register;
mod settings;
pub mod user;

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Map, Module, NativeCallContext, Position};

use crate::exec::host::Host;
use crate::exec::report::StepReport;
pub use register::Register;
pub(crate) use settings::check as check_hook_settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Reads live state; runs in plan mode too.
    Read,
    /// Declares an action; in plan mode it is observed and recorded as planned, never sent.
    Write,
    /// Controls the run itself (phases, messages); touches no provider.
    Control,
}

pub struct OpSpec {
    /// `graph`, `exo`, `ad`, `psa`, ... or "" for a global function.
    pub module: &'static str,
    pub name: &'static str,
    /// Parameter list as shown in docs, e.g. `["user: User", "options: Map"]`.
    pub params: &'static [&'static str],
    pub returns: &'static str,
    pub access: Access,
    /// The capability a client must not deny for the function to run.
    pub capability: &'static str,
    /// Repeating the call has no further effect.
    pub idempotent: bool,
    /// What the function does under `plan`.
    pub plan: &'static str,
    /// Doc comment lines (`///`), ending with an example.
    pub doc: &'static [&'static str],
    /// What kind of function this is, and how it builds its action (see [`Register`]).
    pub register: Register,
}

impl OpSpec {
    pub fn qualified(&self) -> String {
        if self.module.is_empty() {
            self.name.to_string()
        } else {
            format!("{}::{}", self.module, self.name)
        }
    }
}

/// Every script function, in documentation order.
pub fn table() -> Vec<&'static OpSpec> {
    core::OPS
        .iter()
        .chain(settings::OPS.iter())
        .chain(graph::OPS.iter())
        .chain(lookup::OPS.iter())
        .chain(notify::OPS.iter())
        .chain(exo::OPS.iter())
        .chain(psa::OPS.iter())
        .chain(ad::OPS.iter())
        .chain(custom::ops())
        .collect()
}

/// Register the whole table (and the `User` type) into `engine`, bound to `host`.
pub fn register_all(engine: &mut Engine, host: &Arc<Host>) {
    user::register_type(engine);
    ad_user::register_type(engine);
    let mut global = Module::new();
    let mut namespaces: Vec<(&'static str, Module)> = Vec::new();
    for spec in table() {
        if spec.module.is_empty() {
            register::register(&mut global, host, spec);
        } else {
            let idx = match namespaces.iter().position(|(m, _)| *m == spec.module) {
                Some(i) => i,
                None => {
                    namespaces.push((spec.module, Module::new()));
                    namespaces.len() - 1
                }
            };
            register::register(&mut namespaces[idx].1, host, spec);
        }
    }
    engine.register_global_module(global.into());
    for (name, module) in namespaces {
        engine.register_static_module(name, module.into());
    }
}

/// Empty modules for every namespace in the table (for compiling without a host).
pub fn register_namespaces(engine: &mut Engine) {
    user::register_type(engine);
    ad_user::register_type(engine);
    let mut seen: Vec<&str> = Vec::new();
    for spec in table() {
        if !spec.module.is_empty() && !seen.contains(&spec.module) {
            seen.push(spec.module);
            engine.register_static_module(spec.module, Module::new().into());
        }
    }
}

/// `FuncRegistration` for a spec: name, parameter info and doc comments from the table. Host
/// functions are volatile: the optimizer must never call them at compile time.
pub(crate) fn registration(spec: &'static OpSpec) -> rhai::FuncRegistration {
    let mut params: Vec<String> = spec.params.iter().map(|p| p.to_string()).collect();
    params.push(spec.returns.to_string());
    rhai::FuncRegistration::new(spec.name).with_volatility(true).with_params_info(params).with_comments(spec.doc.iter().copied())
}

/// The capability check every op makes first.
pub(crate) fn check(host: &Host, spec: &OpSpec, pos: Position) -> Result<(), Box<EvalAltResult>> {
    if spec.access == Access::Write {
        if let Some(hint) = host.writes_refused() {
            return Err(script_error("read_only", format!("{} is a write; {hint}", spec.qualified()), pos));
        }
    }
    if host.is_denied(spec.capability) {
        return Err(script_error(
            "not_capable",
            format!(
                "{} needs the capability '{}', which tenant '{}' denies (see `deny` in offboard-host.toml)",
                spec.qualified(),
                spec.capability,
                host.tenant
            ),
            pos,
        ));
    }
    Ok(())
}

/// A structured error a script can catch: `catch (e) { if e.code == "user_not_found" { ... } }`.
pub(crate) fn script_error(code: &str, message: String, pos: Position) -> Box<EvalAltResult> {
    let mut m = Map::new();
    m.insert("code".into(), code.into());
    m.insert("message".into(), message.into());
    EvalAltResult::ErrorRuntime(Dynamic::from_map(m), pos).into()
}

pub(crate) fn step_map(r: &StepReport) -> Map {
    let mut m = Map::new();
    m.insert("id".into(), r.id.clone().into());
    m.insert("phase".into(), r.phase.clone().into());
    m.insert("action".into(), r.action.clone().into());
    m.insert("directory".into(), r.directory.clone().into());
    m.insert("target".into(), r.target.clone().into());
    m.insert("status".into(), r.status.as_str().into());
    m.insert("detail".into(), r.detail.clone().into());
    m
}

pub(crate) fn ctx_pos(ctx: &NativeCallContext) -> Position {
    ctx.call_position()
}

#[cfg(test)]
mod tests;
