//! A script as loaded: its source, the folder it may import from, the overrides layered on it,
//! its hash (what a plan or approval is bound to), and the syntax check made before anything is
//! sent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rhai::{Scope, AST};
use sha2::{Digest, Sha256};

use super::overlay::check_overrides;
use crate::engine::{build_engine, describe, EngineOptions, STDLIB};
use crate::error::{Error, Result};

/// The default script, embedded so `run default.rhai` works from any directory.
pub const DEFAULT_SCRIPT: &str = include_str!("../../scripts/default.rhai");

#[derive(Debug, Clone)]
pub struct Script {
    /// As shown in messages and the journal: the name or path given.
    pub name: String,
    pub source: String,
    /// The folder imports may come from (None for the embedded default).
    pub dir: Option<PathBuf>,
    /// Function-only scripts layered on this one, in order (MSP-wide, then the client's): a
    /// function they define replaces the one of the same name and arity below it.
    pub overlays: Vec<Script>,
}

impl Script {
    /// A script from memory, with no folder to import from.
    pub fn inline(name: impl Into<String>, source: impl Into<String>) -> Script {
        Script { name: name.into(), source: source.into(), dir: None, overlays: vec![] }
    }

    /// `spec` is a path to a file, or a name in `scripts_dir` (with or without `.rhai`);
    /// `default.rhai` is always available, embedded in the binary.
    pub fn load(spec: &str, scripts_dir: &Path) -> Result<Script> {
        let direct = PathBuf::from(spec);
        let mut candidates = vec![direct.clone()];
        if direct.is_relative() && !spec.contains("..") {
            candidates.push(scripts_dir.join(spec));
            if !spec.ends_with(".rhai") {
                candidates.push(scripts_dir.join(format!("{spec}.rhai")));
            }
        }
        for path in &candidates {
            if path.is_file() {
                let source = std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
                let dir = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }).map(Path::to_path_buf);
                return Ok(Script { name: spec.to_string(), source, dir, overlays: vec![] });
            }
        }
        if spec == "default.rhai" || spec == "default" {
            return Ok(Script::inline("default.rhai", DEFAULT_SCRIPT));
        }
        Err(Error::ScriptNotFound {
            name: spec.to_string(),
            looked: candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        })
    }

    /// SHA-256 of the script and the stdlib it can import: what a plan or approval is bound to.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.source.as_bytes());
        for o in &self.overlays {
            h.update(o.name.as_bytes());
            h.update(o.source.as_bytes());
        }
        for (name, text) in STDLIB {
            h.update(name.as_bytes());
            h.update(text.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// Compile with a bare hardened engine: syntax errors, undefined variables and forbidden
    /// symbols are found here, before any provider is contacted. Overlays are compiled the same
    /// way, must define functions only, each replacing one of the same name and arity below it
    /// (see [`check_overrides`]), and are merged on top in order.
    pub fn check_syntax(&self, opts: &EngineOptions) -> Result<AST> {
        let engine = build_engine(None, opts);
        let mut ast = compile_one(&engine, self)?;
        let mut below = self.name.clone();
        for layer in &self.overlays {
            if let Some((line, col)) = first_statement(&layer.source) {
                return Err(Error::Script {
                    location: format!("{}:{line}:{col}", layer.name),
                    message: "an overrides script may only import modules and define functions \
                              (hooks and steps); run a script with its own flow as the tenant's \
                              `script` instead"
                        .into(),
                });
            }
            let overlay = compile_one(&engine, layer)?;
            check_overrides(&ast, &below, &layer.name, &layer.source)?;
            below = format!("{below} and {}", layer.name);
            // The overlay's imports run first (its functions need their aliases), then the flow
            // below; its functions replace those of the same name and arity.
            ast = overlay.clone_statements_only().merge(&ast).merge(&overlay.clone_functions_only());
        }
        // The flow is the base script's; functions are placed in their layer by `origins`.
        ast.set_source(self.name.as_str());
        Ok(ast)
    }

    /// Which layer defines each function (closures included), the top one winning as it does
    /// when the layers are merged: for error positions (see `engine::describe_layered`).
    pub fn origins(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for layer in std::iter::once(self).chain(&self.overlays) {
            for name in function_names(&layer.source) {
                out.insert(name, layer.name.clone());
            }
        }
        out
    }

    /// "default.rhai, then msp.rhai (before_disable), then clients/x.rhai (licenses_phase)":
    /// which layer each override comes from, for the plan.
    pub fn layers(&self) -> Option<String> {
        if self.overlays.is_empty() {
            return None;
        }
        let mut out = self.name.clone();
        for o in &self.overlays {
            // Sorted: the AST's function order follows a hash and is not stable.
            let mut names: Vec<String> = function_names(&o.source).into_iter().filter(|n| !n.starts_with("anon$")).collect();
            names.sort();
            names.dedup();
            let fns = names.join(", ");
            out.push_str(&format!(", then {} (overrides: {fns})", o.name));
        }
        Some(out)
    }
}

/// The functions `source` defines (closures as `anon$...`), by a bare compile: empty when it does
/// not compile (the syntax check reports that).
fn function_names(source: &str) -> Vec<String> {
    rhai::Engine::new_raw().compile(source).map(|ast| ast.iter_functions().map(|f| f.name.to_string()).collect()).unwrap_or_default()
}

fn compile_one(engine: &rhai::Engine, script: &Script) -> Result<AST> {
    // The names only, as plain variables: constants would be folded into the AST by the
    // optimizer, and the real values are only known at run time.
    let mut scope = Scope::new();
    for name in SCRIPT_CONSTANTS {
        scope.push(name, ());
    }
    let mut ast = engine.compile_with_scope(&scope, &script.source).map_err(|e| {
        let err: Box<rhai::EvalAltResult> = e.into();
        let f = describe(&err, &script.name);
        Error::Script { location: f.location, message: f.message }
    })?;
    ast.set_source(script.name.as_str());
    Ok(ast)
}

/// Where an overrides script has a top-level statement other than `import "x" as y;`, if it does.
/// (Rhai's public AST API cannot list statements, so this reads the tokens.)
fn first_statement(source: &str) -> Option<(usize, usize)> {
    use crate::engine::scan::{lex, Tok};
    let toks = lex(source).tokens;
    let is = |i: usize, p: &str| matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Punct(x)) if x == p);
    let ident = |i: usize| match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(x)) => Some(x.as_str()),
        _ => None,
    };
    let mut i = 0;
    while i < toks.len() {
        match ident(i) {
            Some("private") if ident(i + 1) == Some("fn") => i += 1,
            Some("fn") => {
                // Skip to the body's closing brace.
                while i < toks.len() && !is(i, "{") {
                    i += 1;
                }
                let mut depth = 0usize;
                while i < toks.len() {
                    if is(i, "{") || is(i, "${") {
                        depth += 1;
                    } else if is(i, "}") {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    i += 1;
                }
                i += 1;
            }
            Some("import") if matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::Str(_))) => {
                i += 2;
                if ident(i) == Some("as") {
                    i += 2;
                }
                if is(i, ";") {
                    i += 1;
                }
            }
            _ => return toks.get(i).map(|t| (t.line, t.col)),
        }
    }
    None
}

pub(super) const SCRIPT_CONSTANTS: [&str; 5] = ["USER", "TENANT", "DIRECTORY", "MODE", "ORG"];
