//! Argument types: which literal fits which parameter type of the op table.
//!
//! Literals are judged (`"upn"`, `42`, `#{...}`, a closure), and variables only where every
//! binding of that name in the file is the result of one op returning a handle (`let u =
//! graph::get_user(USER)` then `ad::disable_account(u)`); any other binding of the name makes it
//! unknown, so nothing is reported that may not be there.

use std::collections::BTreeMap;

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
        (Arg::Handle(h), t) => h == t || !matches!(t, "String" | "i64" | "Map" | "Array" | "Fn" | "User" | "AdUser"),
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

/// What each argument of `call` is: its literal kind, or for a variable only ever bound to the
/// result of one op (`let u = graph::get_user(...)`), that op's handle type.
pub fn resolve(call: &Call, bindings: &BTreeMap<String, Vec<Option<String>>>) -> Vec<Arg> {
    let ops = table();
    let handle_of = |name: &str| -> Option<&'static str> {
        let from = bindings.get(name)?;
        let mut types = from.iter().map(|b| {
            let q = b.as_deref()?;
            let spec = ops.iter().find(|o| o.qualified() == q)?;
            Some(spec.returns).filter(|r| matches!(*r, "User" | "AdUser"))
        });
        let first = types.next()??;
        types.all(|t| t == Some(first)).then_some(first)
    };
    call.args.iter().zip(&call.arg_vars).map(|(a, v)| v.as_deref().and_then(handle_of).map_or(*a, Arg::Handle)).collect()
}

/// The first argument of `call` (kinds in `args`, from [`resolve`]) that fits no form of the op
/// among `specs` with as many parameters: (its index, the message). None when some form accepts
/// every argument.
pub fn mismatch(call: &Call, args: &[Arg], specs: &[&OpSpec]) -> Option<(usize, String)> {
    let forms: Vec<&&OpSpec> = specs.iter().filter(|o| o.params.len() == args.len()).collect();
    if forms.iter().any(|o| o.params.iter().zip(args).all(|(p, a)| fits(*a, param_type(p)))) {
        return None;
    }
    let spec = forms.first()?;
    let (i, (param, arg)) = spec.params.iter().zip(args).enumerate().find(|(_, (p, a))| !fits(**a, param_type(p)))?;
    let ty = param_type(param);
    let article = if matches!(ty, "AdUser" | "Array" | "i64") { "an" } else { "a" };
    let given = match (arg, call.arg_vars.get(i).cloned().flatten()) {
        (Arg::Handle(h), Some(var)) => format!("`{var}` holds {}", with_article(h)),
        _ => format!("not {} literal", with_article(arg.type_name())),
    };
    let mut message = format!("{}: argument {} ({}) must be {article} {ty}, {given}", call.qualified(), i + 1, param_name(param));
    let makers: Vec<String> = table().iter().filter(|o| o.returns.split(' ').next() == Some(ty)).map(|o| o.qualified()).collect();
    if !makers.is_empty() {
        message.push_str(&format!(" ({} comes from {})", with_article(ty), makers.join(" or ")));
    }
    Some((i, message))
}

fn with_article(ty: &str) -> String {
    match ty {
        "i64" | "array" | "AdUser" => format!("an {ty}"),
        "()" => "a ()".into(),
        _ => format!("a {ty}"),
    }
}
