//! Argument types: which literal fits which parameter type of the op table.
//!
//! Only literals are judged (`"upn"`, `42`, `#{...}`, a closure): a variable's type is known at
//! run time only, and guessing it would report mistakes that are not there.

use crate::engine::walk::{Arg, Call};
use crate::ops::{table, OpSpec};

/// The type part of a parameter as the op table writes it: `"user: User"` → `User`.
pub fn param_type(param: &str) -> &str {
    param.split_once(':').map_or("?", |(_, t)| t.trim())
}

fn param_name(param: &str) -> &str {
    param.split_once(':').map_or(param, |(n, _)| n.trim())
}

/// Whether a literal of kind `arg` can be passed where `ty` is declared; an unknown argument,
/// or a type this check does not know, always fits.
fn fits(arg: Arg, ty: &str) -> bool {
    match (arg, ty) {
        (Arg::Unknown, _) => true,
        (_, "String") => arg == Arg::Str,
        (_, "i64") => arg == Arg::Int,
        (_, "Map") => arg == Arg::Map,
        (_, "Array") => arg == Arg::Array,
        (_, "Fn") => arg == Arg::FnPtr,
        // Handles come from the provider: no literal is one.
        (_, "User" | "AdUser" | "Mailbox") => false,
        _ => true,
    }
}

/// The first argument of `call` that fits no form of the op among `specs` with as many
/// parameters: (its index, the message). None when some form accepts every argument.
pub fn mismatch(call: &Call, specs: &[&OpSpec]) -> Option<(usize, String)> {
    let forms: Vec<&&OpSpec> = specs.iter().filter(|o| o.params.len() == call.args.len()).collect();
    if forms.iter().any(|o| o.params.iter().zip(&call.args).all(|(p, a)| fits(*a, param_type(p)))) {
        return None;
    }
    let spec = forms.first()?;
    let (i, (param, arg)) = spec.params.iter().zip(&call.args).enumerate().find(|(_, (p, a))| !fits(**a, param_type(p)))?;
    let ty = param_type(param);
    let article = if matches!(ty, "AdUser" | "Array" | "i64") { "an" } else { "a" };
    let mut message = format!(
        "{}: argument {} ({}) must be {article} {ty}, not {} literal",
        call.qualified(),
        i + 1,
        param_name(param),
        with_article(arg.type_name())
    );
    let makers: Vec<String> = table().iter().filter(|o| o.returns.split(' ').next() == Some(ty)).map(|o| o.qualified()).collect();
    if !makers.is_empty() {
        message.push_str(&format!(" (a {ty} comes from {})", makers.join(" or ")));
    }
    Some((i, message))
}

fn with_article(ty: &str) -> String {
    match ty {
        "i64" | "array" => format!("an {ty}"),
        "()" => "a ()".into(),
        _ => format!("a {ty}"),
    }
}
