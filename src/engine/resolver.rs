//! Where `import` may look: the embedded stdlib, and the importing script's own folder.
//!
//! Rhai's `FileModuleResolver` follows `../` and absolute paths, so it cannot confine imports
//! (rhai src/module/resolvers/file.rs). This resolver accepts only plain relative names
//! (`"offboard"`, `"lib/util"`), serves stdlib names from the binary, and for files canonicalises
//! the path and checks it is still inside the script's folder, so a symlink cannot lead out either.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};

type SharedModule = Shared<Module>;

/// Modules shipped with the binary, importable from any script by name.
pub const STDLIB: &[(&str, &str)] = &[
    ("offboard", include_str!("../../stdlib/offboard.rhai")),
    ("directory", include_str!("../../stdlib/directory.rhai")),
    ("steps", include_str!("../../stdlib/steps.rhai")),
];

pub struct SandboxResolver {
    root: Option<PathBuf>,
    cache: Mutex<HashMap<String, SharedModule>>,
}

impl SandboxResolver {
    pub fn new(root: Option<PathBuf>) -> Self {
        SandboxResolver { root: root.and_then(|r| r.canonicalize().ok()), cache: Mutex::new(HashMap::new()) }
    }

    /// A structured error rather than `ErrorModuleNotFound`: Rhai replaces the latter with its own
    /// message and the reason would be lost.
    fn refuse(path: &str, why: &str, pos: Position) -> Box<EvalAltResult> {
        crate::ops::script_error("script", format!("cannot import '{path}': {why}"), pos)
    }

    /// The file a name refers to, if it is allowed and exists.
    fn locate(&self, path: &str, pos: Position) -> Result<PathBuf, Box<EvalAltResult>> {
        let plain = !path.is_empty()
            && path.split('/').all(|seg| {
                !seg.is_empty() && seg != "." && seg != ".." && seg.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            });
        if !plain {
            return Err(Self::refuse(
                path,
                "only stdlib modules and files inside the script's own folder can be imported: no '..', no absolute paths",
                pos,
            ));
        }
        let Some(root) = &self.root else {
            return Err(Self::refuse(path, "not a stdlib module, and this script has no folder to import from", pos));
        };
        let file = root.join(format!("{}.rhai", path.trim_end_matches(".rhai")));
        let real = file.canonicalize().map_err(|_| Self::refuse(path, &format!("no file {}", file.display()), pos))?;
        if !real.starts_with(root) {
            return Err(Self::refuse(path, "it resolves outside the script's folder", pos));
        }
        Ok(real)
    }

    fn compile(engine: &Engine, name: &str, text: &str, pos: Position) -> Result<SharedModule, Box<EvalAltResult>> {
        let mut ast = engine.compile(text).map_err(|e| EvalAltResult::ErrorInModule(name.to_string(), e.into(), pos))?;
        ast.set_source(name);
        let module =
            Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(|e| EvalAltResult::ErrorInModule(name.to_string(), e, pos))?;
        Ok(module.into())
    }
}

impl ModuleResolver for SandboxResolver {
    fn resolve(&self, engine: &Engine, _source: Option<&str>, path: &str, pos: Position) -> Result<SharedModule, Box<EvalAltResult>> {
        if let Some(m) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(path) {
            return Ok(m.clone());
        }
        let module = match STDLIB.iter().find(|(name, _)| *name == path) {
            Some((name, text)) => Self::compile(engine, &format!("stdlib/{name}.rhai"), text, pos)?,
            None => {
                let file = self.locate(path, pos)?;
                let text = std::fs::read_to_string(&file).map_err(|e| Self::refuse(path, &e.to_string(), pos))?;
                Self::compile(engine, &display_name(&file, self.root.as_deref()), &text, pos)?
            }
        };
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(path.to_string(), module.clone());
        Ok(module)
    }
}

fn display_name(file: &Path, root: Option<&Path>) -> String {
    root.and_then(|r| file.strip_prefix(r).ok()).unwrap_or(file).display().to_string()
}
