//! The REPL's `help` for what is written in Rhai: the stdlib modules and their functions, and the
//! default script's hooks, from the same extracted docs as the reference ([`super::script_docs`]).
//! Summaries are whole first paragraphs, never cut inside a sentence.

use std::fmt::Write;

use super::script_docs::{alias, hooks, stdlib_functions, summary, ScriptFn};
use crate::engine::STDLIB;
use crate::ops::OpSpec;

/// An op's summary: the first paragraph of its doc comment, whole.
pub fn op_summary(spec: &OpSpec) -> String {
    let lines: Vec<&str> = spec.doc.iter().map(|l| l.trim_start_matches("///")).collect();
    summary(&lines)
}

/// The overview's lines for the stdlib modules and the hooks.
pub fn overview() -> String {
    let fns = stdlib_functions();
    let mut s = String::new();
    for (name, _) in STDLIB {
        let n = fns.iter().filter(|f| f.module() == Some(name)).count();
        let _ = writeln!(s, "  {:<12} {n} function(s), stdlib (help {name})", format!("{}::", alias(name)));
    }
    let _ = writeln!(
        s,
        "  hooks        {} hook(s) and steps of the default script an overrides script may replace (help hooks)",
        hooks().len()
    );
    s
}

/// Help for a stdlib module (`offboard`, `ob`), one of its functions (`ob::settings`,
/// `offboard::settings`), `hooks`, or one hook (`mailbox_policy`); None for anything else.
pub fn topic(topic: &str) -> Option<String> {
    let topic = topic.trim().trim_end_matches("::");
    let module_of = |m: &str| STDLIB.iter().map(|(n, _)| *n).find(|n| *n == m || alias(n) == m);
    if topic == "hooks" {
        let mut s = String::from("Hooks and steps of the default script (an overrides script may replace them):\n");
        for h in hooks() {
            let _ = writeln!(s, "  {}\n      {}", h.signature(), h.summary());
        }
        return Some(s);
    }
    if let Some(module) = module_of(topic) {
        let mut s = format!("import \"{module}\" as {}; its functions (help {}::<name> for one):\n", alias(module), alias(module));
        for f in stdlib_functions().iter().filter(|f| f.module() == Some(module)) {
            let _ = writeln!(s, "  {}\n      {}", shown(f), f.summary());
        }
        return Some(s);
    }
    let found: Vec<ScriptFn> = match topic.rsplit_once("::") {
        Some((ns, name)) => {
            let module = module_of(ns)?;
            stdlib_functions().into_iter().filter(|f| f.module() == Some(module) && f.name == name).collect()
        }
        None => hooks().into_iter().filter(|f| f.name == topic).collect(),
    };
    if found.is_empty() {
        return None;
    }
    let mut s = String::new();
    for f in &found {
        let _ = writeln!(s, "{}\n", shown(f));
        for l in &f.doc {
            let _ = writeln!(s, "  {l}");
        }
        s.push('\n');
    }
    Some(s)
}

/// The signature as a script writes the call: `ob::settings(org)`, or the hook's.
fn shown(f: &ScriptFn) -> String {
    match f.module() {
        Some(m) => format!("{}::{}({})", alias(m), f.name, f.params.join(", ")),
        None => format!("fn {}", f.signature()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_functions_and_hooks_have_help() {
        let ob = topic("ob::settings").unwrap();
        assert!(ob.contains("ob::settings(org)") && ob.contains("ob::settings(org, extra)"), "{ob}");
        assert!(ob.contains("Example:") && ob.contains("let s = ob::settings(ORG);"), "{ob}");
        assert_eq!(topic("offboard::settings"), Some(ob));
        let module = topic("dir").unwrap();
        assert!(module.starts_with("import \"directory\" as dir;"), "{module}");
        // Whole summaries: the two-line first sentence of resolve is there to its end.
        assert!(
            module.contains("`mode`, `cloud` (User or ()), `ad` (AdUser or ()), `in_cloud`, `in_ad`, `synced`, `email_only`."),
            "{module}"
        );
        let hook = topic("mailbox_policy").unwrap();
        assert!(hook.contains("fn mailbox_policy(user, s)") && hook.contains("s.forward_to = \"legal@contoso.test\";"), "{hook}");
        assert!(topic("hooks").unwrap().contains("before_disable(user)"));
        assert_eq!(topic("graph::get_user"), None);
        assert_eq!(topic("ob::nope"), None);
        // The overview names each module by the alias the scripts use, not one alias for all.
        let o = overview();
        assert!(o.contains("ob::") && o.contains("dir::") && o.contains("steps::") && !o.contains("import \"directory\" as ob"), "{o}");
    }

    #[test]
    fn op_summaries_are_whole_paragraphs() {
        let spec = crate::ops::table().into_iter().find(|o| o.qualified() == "graph::get_user").unwrap();
        assert_eq!(
            op_summary(spec),
            "Resolve a user by UPN or object id: identity, sync state, manager, groups (with their kind and whether Graph can change them) and licences (direct or via a group). Fails with code `user_not_found` when the user does not exist, `invalid_user` for a malformed name."
        );
    }
}
