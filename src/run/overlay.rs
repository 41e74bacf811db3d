//! What an overrides layer may define: only functions the script below it already has, with the
//! same number of parameters. Rhai itself would accept `fn mailbox_polcy(user, s)` (a new function
//! nobody calls) or `fn mailbox_policy(s)` (another overload), and the default would silently run;
//! so a layer's definitions are matched against the hooks below it before anything runs.
//!
//! A helper the overrides use themselves is declared `private fn`: it overrides nothing, and says
//! so.

use rhai::AST;

use crate::engine::scan::scan;
use crate::error::{Error, Result};
use crate::settings::schema::nearest;

/// Refuse a definition in `layer_source` (called `layer` in messages) that `below` (the script
/// and the layers already on it, called `below_name`) has no function of that name and arity for.
pub(super) fn check_overrides(below: &AST, below_name: &str, layer: &str, layer_source: &str) -> Result<()> {
    let hooks: Vec<(String, Vec<String>)> =
        // Closures compile to `anon$...` functions: not hooks anyone can override.
        below.iter_functions().filter(|f| !f.name.starts_with("anon$")).map(|f| (f.name.to_string(), f.params.iter().map(|p| p.to_string()).collect())).collect();
    let sig = |(name, params): &(String, Vec<String>)| format!("{name}({})", params.join(", "));
    for def in scan(layer_source).fns.iter().filter(|d| !d.private) {
        if hooks.iter().any(|(n, p)| *n == def.name && p.len() == def.params) {
            continue;
        }
        let same_name: Vec<String> = hooks.iter().filter(|(n, _)| *n == def.name).map(sig).collect();
        let message = if !same_name.is_empty() {
            format!(
                "`fn {}` takes {} parameter(s), but {below_name} defines {}: the override would never be called",
                def.name,
                def.params,
                same_name.join(" and ")
            )
        } else {
            let hint = nearest(&def.name, hooks.iter().map(|(n, _)| n.as_str()))
                .and_then(|n| hooks.iter().find(|(h, _)| h == n))
                .map(|h| format!("did you mean {}? ", sig(h)))
                .unwrap_or_default();
            let mut all: Vec<String> = hooks.iter().map(sig).collect();
            all.sort();
            format!(
                "`fn {}` overrides nothing in {below_name}: {hint}(its hooks and steps: {}; a helper of the \
                 overrides is declared `private fn`)",
                def.name,
                all.join(", ")
            )
        };
        return Err(Error::Script { location: format!("{layer}:{}:{}", def.line, def.col), message });
    }
    Ok(())
}
