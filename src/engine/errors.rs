//! Turning a Rhai error into a message a technician can act on: file, line, column, what failed.
//!
//! Host functions throw structured errors (`#{code, message}`); those keep their code so the
//! command's exit code can say "user not found" rather than "script error". Errors raised inside
//! stdlib or imported functions are reported at the innermost position, with the call chain.

use rhai::{EvalAltResult, Position};

/// A script that stopped, described.
#[derive(Debug, Clone)]
pub struct ScriptFailure {
    /// `user_not_found`, `invalid_user`, `provider`, `required_step_failed`, `not_capable`, ...
    /// or `script` for everything that is the script's own fault.
    pub code: String,
    /// `file:line:column`
    pub location: String,
    pub message: String,
}

/// Describe `err`, raised while running the script called `source`.
pub fn describe(err: &EvalAltResult, source: &str) -> ScriptFailure {
    describe_layered(err, source, &|_| None)
}

/// As [`describe`], for a script with overrides layered on it: one merged AST has one source, so
/// Rhai names the same file for every function in it. `origin` gives the file that defines a
/// function (by name, closures' `anon$...` names included), so each position is reported in the
/// layer it is in.
pub fn describe_layered(err: &EvalAltResult, source: &str, origin: &dyn Fn(&str) -> Option<String>) -> ScriptFailure {
    let mut chain = Vec::new();
    let mut src = source.to_string();
    let mut cur = err;
    let mut outer_pos = err.position();
    loop {
        match cur {
            EvalAltResult::ErrorInFunctionCall(name, fn_src, inner, pos) => {
                // A closure's name is a hash: say where it is instead.
                let shown = if name.starts_with("anon$") { "a closure".to_string() } else { format!("'{name}'") };
                chain.push(format!("in call to {shown} at {}", loc(&src, *pos)));
                if let Some(layer) = origin(name) {
                    src = layer;
                } else if !fn_src.is_empty() {
                    src = fn_src.clone();
                }
                outer_pos = *pos;
                cur = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                chain.push(format!("in module '{}' imported at {}", name, loc(&src, *pos)));
                src = name.clone();
                outer_pos = *pos;
                cur = inner;
            }
            _ => break,
        }
    }
    let pos = if cur.position().is_none() { outer_pos } else { cur.position() };
    let (code, mut message) = match cur {
        EvalAltResult::ErrorRuntime(value, _) => match value.read_lock::<rhai::Map>() {
            Some(m) => (
                m.get("code").map(|c| c.to_string()).unwrap_or_else(|| "script".into()),
                m.get("message").map(|c| c.to_string()).unwrap_or_else(|| value.to_string()),
            ),
            None => ("script".into(), format!("script threw: {value}")),
        },
        EvalAltResult::ErrorTooManyOperations(_) => {
            ("script".into(), "the script used up its operation budget: is there an endless loop?".into())
        }
        EvalAltResult::ErrorTerminated(reason, _) => ("script".into(), format!("stopped: {reason}")),
        EvalAltResult::ErrorModuleNotFound(path, _) => ("script".into(), format!("cannot import '{path}'")),
        other => ("script".into(), without_position(&other.to_string())),
    };
    if !chain.is_empty() {
        chain.reverse();
        message = format!("{message} ({})", chain.join(", "));
    }
    ScriptFailure { code, location: loc(&src, pos), message }
}

fn loc(src: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{src}:{l}:{c}"),
        (Some(l), None) => format!("{src}:{l}"),
        _ => src.to_string(),
    }
}

/// Rhai appends " (line L, position C)" to messages; we report the location separately.
fn without_position(msg: &str) -> String {
    match msg.rfind(" (line ") {
        Some(i) if msg.ends_with(')') => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}
