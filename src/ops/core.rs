//! Global functions that control the run: phases and messages.

use std::sync::Arc;

use rhai::{Array, Dynamic, EvalAltResult, FnPtr, Map, Module, NativeCallContext};

use super::args::opt_bool;
use super::register::{has_options, Register};
use super::{check, ctx_pos, registration, script_error, step_map, Access, OpSpec};
use crate::exec::host::Host;

pub static OPS: [OpSpec; 5] = [
    OpSpec {
        module: "",
        name: "phase",
        params: &["name: String", "body: Fn"],
        returns: "Array",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "runs the body; the phase's actions are observed and recorded as planned",
        doc: &[
            "/// Run `body`, then execute every action it declared, together (concurrently, batched",
            "/// where the API allows). Phases run in the order the script calls them.",
            "/// Returns one map per step: `#{id, phase, action, directory, target, status, detail}`.",
            "///",
            "/// ```rhai",
            "/// let results = phase(\"lock\", || {",
            "///     graph::disable_account(user);",
            "///     graph::reset_password(user);",
            "/// });",
            "/// ```",
        ],
        register: Register::Custom(register_phase),
    },
    OpSpec {
        module: "",
        name: "phase",
        params: &["name: String", "options: Map", "body: Fn"],
        returns: "Array",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "as `phase(name, body)`",
        doc: &[
            "/// `phase` with options. `#{required: true}`: if any action of this phase fails, the run",
            "/// stops after the phase (later phases do not run) and the script gets an error",
            "/// with code `required_step_failed`.",
            "///",
            "/// ```rhai",
            "/// phase(\"lock\", #{ required: true }, || graph::disable_account(user));",
            "/// ```",
        ],
        register: Register::Custom(register_phase),
    },
    OpSpec {
        module: "",
        name: "log",
        params: &["message: String"],
        returns: "()",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Add a line to the run's messages (shown after the steps and kept in the journal).",
            "///",
            "/// ```rhai",
            "/// log(`offboarding ${user.display_name}`);",
            "/// ```",
        ],
        register: Register::Custom(register_log),
    },
    OpSpec {
        module: "",
        name: "warn",
        params: &["message: String"],
        returns: "()",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Add a warning to the run's messages (prefixed `warning:`).",
            "///",
            "/// ```rhai",
            "/// if user.synced { warn(\"synced user: AD changes are needed too\"); }",
            "/// ```",
        ],
        register: Register::Custom(register_warn),
    },
    OpSpec {
        module: "",
        name: "utc_date",
        params: &["offset_days: i64"],
        returns: "String",
        access: Access::Control,
        capability: "run",
        idempotent: true,
        plan: "same as apply",
        doc: &[
            "/// Today's date in UTC as `YYYY-MM-DD`, moved by `offset_days` (negative: earlier): for",
            "/// names (\"zz-Left 2026-12\") and for comparing with the dates Graph returns.",
            "///",
            "/// ```rhai",
            "/// let prefix = `zz-Left ${utc_date(0).sub_string(0, 7)} `;",
            "/// ```",
        ],
        register: Register::Custom(register_utc_date),
    },
];

fn run_phase(host: &Host, ctx: &NativeCallContext, name: &str, required: bool, body: &FnPtr) -> Result<Array, Box<EvalAltResult>> {
    let pos = ctx_pos(ctx);
    if name.trim().is_empty() {
        return Err(script_error("invalid_argument", "a phase needs a name".into(), pos));
    }
    host.begin_phase(name, required).map_err(|m| script_error("phase", m, pos))?;
    if let Err(e) = body.call_within_context::<Dynamic>(ctx, ()) {
        // The phase's actions never ran; say so rather than leave them half-declared.
        host.abandon_phase();
        return Err(e);
    }
    let (reports, required_failed) = host.end_phase().map_err(|m| script_error("journal", m, pos))?;
    if let Some(f) = required_failed {
        return Err(script_error(
            "required_step_failed",
            format!("required phase '{}' failed ({}); later phases were not run", f.phase, f.steps.join(", ")),
            pos,
        ));
    }
    Ok(reports.iter().map(|r| Dynamic::from_map(step_map(r))).collect())
}

/// `phase(name, body)` and `phase(name, options, body)`: the options sit between name and body,
/// so this is not one of the [`Register`] kinds.
fn register_phase(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    let phase = move |ctx: &NativeCallContext, name: &str, options: &Map, body: &FnPtr| {
        check(&host, spec, ctx_pos(ctx))?;
        let required = opt_bool(options, "required", false, &["required"], ctx_pos(ctx))?;
        run_phase(&host, ctx, name, required, body)
    };
    if has_options(spec) {
        registration(spec).set_into_module(m, move |ctx: NativeCallContext, name: &str, o: Map, body: FnPtr| phase(&ctx, name, &o, &body));
    } else {
        registration(spec).set_into_module(m, move |ctx: NativeCallContext, name: &str, body: FnPtr| phase(&ctx, name, &Map::new(), &body));
    }
}

fn register_log(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |message: &str| host.message(message.to_string()));
}

fn register_warn(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |message: &str| host.message(format!("warning: {message}")));
}

fn register_utc_date(m: &mut Module, _host: &Arc<Host>, spec: &'static OpSpec) {
    registration(spec).set_into_module(m, |offset_days: i64| {
        let day = chrono::Utc::now().date_naive() + chrono::Duration::days(offset_days.clamp(-36_500, 36_500));
        day.format("%Y-%m-%d").to_string()
    });
}
