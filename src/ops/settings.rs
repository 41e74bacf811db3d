//! Global functions the stdlib uses to keep settings honest: the schema and the check of what a
//! hook returned. They touch no provider and need no host, so the engine registers them the same
//! way with a host (from this table) and without one (to compile and evaluate the stdlib alone).

use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, Map, Module};

use super::register::Register;
use super::{registration, script_error, Access, OpSpec};
use crate::exec::host::Host;
use crate::settings::{check_hook_settings, schema};

pub static OPS: [OpSpec; 2] = [
    OpSpec {
        module: "",
        name: "settings_schema",
        params: &[],
        returns: "Map",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Every setting with its default, from the settings schema (what `offboard::defaults()`",
            "/// returns; `offboard-host docs` lists each with its type and description).",
            "///",
            "/// ```rhai",
            "/// let s = settings_schema();",
            "/// print(s.remove_licenses);",
            "/// ```",
        ],
        register: Register::Custom(register_schema),
    },
    OpSpec {
        module: "",
        name: "check_hook_settings",
        params: &["hook: String", "before: Map", "after: ?"],
        returns: "()",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Refuse what a hook returned as the settings unless it is the map it was given, with the",
            "/// same keys, each of the same type; the error (code `invalid_setting`) names the hook.",
            "///",
            "/// ```rhai",
            "/// fn mailbox_policy(user, s) { s.forward_to = \"legal@contoso.test\"; s }",
            "/// let s = settings_schema();",
            "/// let after = mailbox_policy(user, s);",
            "/// check_hook_settings(\"mailbox_policy\", s, after);",
            "/// ```",
        ],
        register: Register::Custom(register_check),
    },
];

fn register_schema(m: &mut Module, _host: &Arc<Host>, spec: &'static OpSpec) {
    registration(spec).set_into_module(m, schema::defaults_map);
}

fn register_check(m: &mut Module, _host: &Arc<Host>, spec: &'static OpSpec) {
    registration(spec).set_into_module(m, check);
}

/// `check_hook_settings`, for the engine with or without a host.
pub(crate) fn check(hook: &str, before: Map, after: Dynamic) -> Result<(), Box<EvalAltResult>> {
    check_hook_settings(hook, &before, &after).map_err(|message| script_error("invalid_setting", message, rhai::Position::NONE))
}
