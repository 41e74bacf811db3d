//! The documented functions written in Rhai: the stdlib modules' public functions and the default
//! script's hooks and named steps, read from their `///` comments. The reference pages, the
//! `.d.rhai` definitions and the REPL's `help` all read them from here, so they say the same.

use crate::engine::scan::scan;
use crate::engine::STDLIB;
use crate::run::DEFAULT_SCRIPT;

/// Where a documented Rhai function lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `import "name"`.
    Stdlib(&'static str),
    /// A hook or named step of `scripts/default.rhai`.
    Hook,
}

/// One documented function.
#[derive(Debug, Clone)]
pub struct ScriptFn {
    pub origin: Origin,
    pub name: String,
    /// Parameter names as written.
    pub params: Vec<String>,
    /// The doc comment, `///` removed.
    pub doc: Vec<String>,
}

impl ScriptFn {
    /// The stdlib module, None for a hook.
    pub fn module(&self) -> Option<&'static str> {
        match self.origin {
            Origin::Stdlib(m) => Some(m),
            Origin::Hook => None,
        }
    }

    /// `offboard::settings(org, extra)` or `mailbox_policy(user, s)`.
    pub fn signature(&self) -> String {
        let prefix = match self.origin {
            Origin::Stdlib(m) => format!("{m}::"),
            Origin::Hook => String::new(),
        };
        format!("{prefix}{}({})", self.name, self.params.join(", "))
    }

    /// The first paragraph, whole (never cut inside a sentence), on one line.
    pub fn summary(&self) -> String {
        summary(&self.doc)
    }

    /// The code of the first ```rhai block, if any.
    pub fn example(&self) -> Option<String> {
        let mut lines = self.doc.iter().skip_while(|l| l.trim() != "```rhai");
        lines.next()?;
        let code: Vec<&str> = lines.take_while(|l| l.trim() != "```").map(String::as_str).collect();
        Some(code.join("\n"))
    }
}

/// The first paragraph of doc lines, joined into one line.
pub fn summary(doc: &[impl AsRef<str>]) -> String {
    let para: Vec<&str> =
        doc.iter().map(|l| l.as_ref().trim()).skip_while(|l| l.is_empty()).take_while(|l| !l.is_empty() && !l.starts_with("```")).collect();
    let text = para.join(" ");
    text.strip_suffix(" Example:").unwrap_or(&text).to_string()
}

/// The public, documented functions of one Rhai source, in source order.
fn documented(origin: Origin, text: &str) -> Vec<ScriptFn> {
    let lines: Vec<&str> = text.lines().collect();
    scan(text)
        .fns
        .into_iter()
        .filter(|f| !f.private && !f.doc.is_empty())
        .map(|f| {
            let params = lines
                .get(f.line - 1)
                .and_then(|l| l.split_once('(').map(|(_, r)| r.split(')').next().unwrap_or("").to_string()))
                .unwrap_or_default();
            ScriptFn {
                origin,
                name: f.name,
                params: params.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
                doc: f
                    .doc
                    .iter()
                    .map(|l| {
                        let l = l.trim_start().trim_start_matches("///");
                        l.strip_prefix(' ').unwrap_or(l).to_string()
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Every public function of every stdlib module, module by module.
pub fn stdlib_functions() -> Vec<ScriptFn> {
    STDLIB.iter().flat_map(|(name, text)| documented(Origin::Stdlib(name), text)).collect()
}

/// The hooks and named steps of the default script: what an overrides script may replace.
pub fn hooks() -> Vec<ScriptFn> {
    documented(Origin::Hook, DEFAULT_SCRIPT)
}

/// The alias the shipped scripts import a stdlib module under.
pub fn alias(module: &str) -> &str {
    match module {
        "offboard" => "ob",
        "directory" => "dir",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_public_stdlib_function_and_hook_is_documented_with_an_example() {
        let fns = stdlib_functions();
        assert!(fns.len() >= 23, "{}", fns.len());
        for (module, text) in STDLIB {
            for f in scan(text).fns.iter().filter(|f| !f.private) {
                assert!(
                    fns.iter().any(|d| d.origin == Origin::Stdlib(module) && d.name == f.name),
                    "{module}::{} has no doc comment",
                    f.name
                );
            }
        }
        let hooks = hooks();
        for h in [
            "adjust_settings",
            "before_offboarding",
            "before_disable",
            "mailbox_policy",
            "on_step_failed",
            "directory_mode",
            "step_licenses",
        ] {
            assert!(hooks.iter().any(|f| f.name == h), "{h}");
        }
        for f in fns.iter().chain(&hooks) {
            assert!(f.example().is_some_and(|e| !e.trim().is_empty()), "{} has no example", f.signature());
            let s = f.summary();
            assert!(s.ends_with('.') || s.ends_with(')') || s.ends_with(':'), "{}: summary cut: {s}", f.signature());
        }
    }

    #[test]
    fn the_summary_is_the_whole_first_paragraph() {
        let doc = ["Resolve the user. It may", "span lines.", "", "More."];
        assert_eq!(summary(&doc), "Resolve the user. It may span lines.");
        assert_eq!(summary(&["Does it. Example:", "```rhai", "x()", "```"]), "Does it.");
    }
}
