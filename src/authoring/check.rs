//! `offboard-host check`: find a script's mistakes before it runs, without a tenant.
//!
//! 1. compile with the hardened engine (syntax, undefined variables, `eval`): file:line:col;
//! 2. resolve every `import` through the sandbox resolver, so a forbidden path, a missing file or
//!    a module that does not compile is an error at the import;
//! 3. walk Rhai's own AST ([`crate::engine::walk`]) of the script and of each overrides layer, and
//!    check every call: `graph::x(...)` against the op table, `alias::f(...)` against the
//!    functions of the imported module, plain calls against the op table's globals, the engine's
//!    built-ins and the script's own functions, method calls `x.f(...)` against the built-ins and
//!    the script's functions, and `Fn("name")` pointers against the functions that exist; with
//!    the argument count, and the type of each literal argument wherever the op table declares it
//!    (a string where a `User` handle is needed);
//! 4. with a tenant's denials: every op the script calls (directly, in a closure, or through a
//!    function of an imported module) whose capability the tenant denies.
//!
//! Nothing here registers a host, so no provider can be called.

mod args;

use std::collections::{BTreeMap, BTreeSet};

use rhai::{Engine, Position};

use crate::engine::walk::{walk, Call, Walk};
use crate::engine::{build_engine, describe, EngineOptions, STDLIB};
use crate::error::Error;
use crate::ops::{table, OpSpec};
use crate::run::Script;

/// One finding, at `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// What the client allows, when a tenant is named.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub tenant: Option<String>,
    pub denied: Vec<String>,
}

impl CheckOptions {
    fn denies(&self, capability: &str) -> bool {
        // The same rule as `Host::is_denied`.
        self.denied.iter().any(|d| d == capability || capability.starts_with(&format!("{d}.")))
    }
}

/// Functions built into Rhai's language rather than registered (any argument count).
const KEYWORD_FUNCTIONS: &[&str] = &["print", "debug", "type_of", "Fn", "call", "curry", "is_shared", "is_def_fn", "is_def_var", "eval"];

/// An imported module: its public functions (name → argument counts) and, per function, the ops
/// it calls (for the capability check at the call site).
struct ModuleInfo {
    path: String,
    fns: BTreeMap<String, BTreeSet<usize>>,
    ops: BTreeMap<String, Vec<&'static OpSpec>>,
}

/// A layer of the script (the script itself, then each overrides script), walked.
struct Layer<'a> {
    name: &'a str,
    walk: Walk,
}

/// Check one script; an empty result means it is clean.
pub fn check_script(script: &Script, opts: &CheckOptions) -> Vec<Diagnostic> {
    let engine_opts = EngineOptions { script_dir: script.dir.clone(), ..EngineOptions::default() };
    if let Err(e) = script.check_syntax(&engine_opts) {
        let (location, message) = match e {
            Error::Script { location, message } => (location, message),
            other => (script.name.clone(), other.to_string()),
        };
        return vec![Diagnostic { location, message }];
    }
    // Each layer alone: positions in a merged AST would not say which file they are in.
    let mut layers = Vec::new();
    for layer in std::iter::once(script).chain(&script.overlays) {
        let alone = Script { overlays: vec![], ..layer.clone() };
        match alone.check_syntax(&engine_opts) {
            Ok(ast) => layers.push(Layer { name: &layer.name, walk: walk(&ast) }),
            Err(e) => return vec![Diagnostic { location: layer.name.clone(), message: e.to_string() }],
        }
    }
    let engine = build_engine(None, &engine_opts);
    let mut out = Vec::new();

    // Imports, through the sandbox resolver.
    let mut modules: BTreeMap<String, ModuleInfo> = BTreeMap::new();
    for layer in &layers {
        for imp in &layer.walk.imports {
            let Some(path) = &imp.path else { continue };
            let pos = Position::new(imp.line as u16, imp.col as u16);
            match engine.module_resolver().resolve(&engine, None, path, pos) {
                Err(e) => {
                    let f = describe(&e, layer.name);
                    out.push(Diagnostic { location: f.location, message: f.message });
                }
                Ok(module) => {
                    if let Some(alias) = &imp.alias {
                        let fns = module_functions(&module);
                        let ops = module_ops(&engine, script, path, 0);
                        modules.insert(alias.clone(), ModuleInfo { path: path.clone(), fns, ops });
                    }
                }
            }
        }
    }

    let builtins = builtin_functions(&engine);
    let mut own: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    let mut vars: BTreeSet<&str> = BTreeSet::new();
    let mut props: BTreeSet<&str> = BTreeSet::new();
    for layer in &layers {
        for f in &layer.walk.fns {
            own.entry(f.name.as_str()).or_default().insert(f.params);
        }
        vars.extend(layer.walk.vars.iter().map(String::as_str));
        props.extend(layer.walk.props.iter().map(String::as_str));
    }
    let ctx = Context { opts, ops: table(), modules, builtins, own, vars, props };
    for layer in &layers {
        for call in &layer.walk.calls {
            ctx.check_call(call, &layer.walk.bindings, &mut |arg, message| {
                let (line, col) = arg.and_then(|i| call.arg_at.get(i).copied()).unwrap_or((call.line, call.col));
                out.push(Diagnostic { location: format!("{}:{line}:{col}", layer.name), message });
            });
        }
        for r in &layer.walk.fn_refs {
            if !r.name.starts_with("anon$") && !ctx.function_exists(&r.name) {
                let message = format!(
                    "Fn(\"{}\"): no function '{}'{}",
                    r.name,
                    r.name,
                    suggest(&r.name, ctx.plain_names().iter().map(String::as_str), "")
                );
                out.push(Diagnostic { location: format!("{}:{}:{}", layer.name, r.line, r.col), message });
            }
        }
    }
    out.sort_by_key(|d| sort_key(&d.location));
    out.dedup();
    out
}

/// Each variable name's bindings in one file (see [`Walk::bindings`]).
type Bindings = BTreeMap<String, Vec<Option<String>>>;

/// What every call is checked against.
struct Context<'a> {
    opts: &'a CheckOptions,
    ops: Vec<&'static OpSpec>,
    modules: BTreeMap<String, ModuleInfo>,
    builtins: BTreeMap<String, BTreeSet<usize>>,
    own: BTreeMap<&'a str, BTreeSet<usize>>,
    vars: BTreeSet<&'a str>,
    props: BTreeSet<&'a str>,
}

impl Context<'_> {
    fn function_exists(&self, name: &str) -> bool {
        self.own.contains_key(name) || self.builtins.contains_key(name) || self.ops.iter().any(|o| o.module.is_empty() && o.name == name)
    }

    /// Global ops, the script's own functions (closures left out) and the built-ins.
    fn plain_names(&self) -> Vec<String> {
        let globals = self.ops.iter().filter(|o| o.module.is_empty()).map(|o| o.name.to_string());
        let own = self.own.keys().filter(|n| !n.starts_with("anon$")).map(|n| n.to_string());
        globals.chain(own).chain(self.builtins.keys().cloned()).collect()
    }

    /// Report what is wrong with one call: at the call (None), or at its i-th argument.
    fn check_call(&self, call: &Call, bindings: &Bindings, report: &mut impl FnMut(Option<usize>, String)) {
        let n = call.args.len();
        if call.method {
            return self.check_method(call, report);
        }
        let module_names: BTreeSet<&str> = self.ops.iter().map(|o| o.module).filter(|m| !m.is_empty()).collect();
        match call.ns.as_deref() {
            Some(ns) if module_names.contains(ns) => {
                let specs: Vec<_> = self.ops.iter().filter(|o| o.module == ns && o.name == call.name).copied().collect();
                if specs.is_empty() {
                    let names = self.ops.iter().filter(|o| o.module == ns).map(|o| o.name);
                    return report(
                        None,
                        format!("unknown function {}{}", call.qualified(), suggest(&call.name, names, &format!("{ns}::"))),
                    );
                }
                match specs.iter().find(|o| o.params.len() == n) {
                    None => report(None, arity_message(&call.qualified(), n, &specs)),
                    Some(spec) => {
                        if let Some((i, message)) = args::mismatch(call, &args::resolve(call, bindings), &specs) {
                            report(Some(i), message);
                        }
                        deny_check(self.opts, spec, None, &mut |m| report(None, m))
                    }
                }
            }
            Some(ns) if self.modules.contains_key(ns) => {
                let m = &self.modules[ns];
                match m.fns.get(&call.name) {
                    None => report(
                        None,
                        format!(
                            "unknown function {}: module \"{}\" has no public function '{}'{}",
                            call.qualified(),
                            m.path,
                            call.name,
                            suggest(&call.name, m.fns.keys().map(String::as_str), &format!("{ns}::"))
                        ),
                    ),
                    Some(counts) if !counts.contains(&n) => {
                        report(None, format!("{} takes {} argument(s), not {n}", call.qualified(), join_counts(counts)))
                    }
                    Some(_) => {
                        for spec in m.ops.get(&call.name).into_iter().flatten() {
                            deny_check(self.opts, spec, Some(&call.qualified()), &mut |m| report(None, m));
                        }
                    }
                }
            }
            Some("global") => {}
            Some(ns) => report(None, format!("unknown module '{ns}' in {}: import it first (`import \"...\" as {ns};`)", call.qualified())),
            None => {
                if KEYWORD_FUNCTIONS.contains(&call.name.as_str()) {
                    return;
                }
                let globals: Vec<&'static OpSpec> =
                    self.ops.iter().filter(|o| o.module.is_empty() && o.name == call.name).copied().collect();
                let mut counts: BTreeSet<usize> = globals.iter().map(|o| o.params.len()).collect();
                counts.extend(self.own.get(call.name.as_str()).into_iter().flatten());
                counts.extend(self.builtins.get(&call.name).into_iter().flatten());
                if self.vars.contains(call.name.as_str()) && !counts.contains(&n) {
                    return; // most likely a closure held in a variable
                }
                if counts.is_empty() {
                    return report(
                        None,
                        format!(
                            "unknown function '{}'{}",
                            call.name,
                            suggest(&call.name, self.plain_names().iter().map(String::as_str), "")
                        ),
                    );
                }
                if !counts.contains(&n) {
                    return report(None, format!("{} takes {} argument(s), not {n}", call.name, join_counts(&counts)));
                }
                // A script function of that name and arity takes anything; an op only what it declares.
                if let (Some(spec), false) =
                    (globals.iter().find(|o| o.params.len() == n), self.own.get(call.name.as_str()).is_some_and(|c| c.contains(&n)))
                {
                    if let Some((i, message)) = args::mismatch(call, &args::resolve(call, bindings), &globals) {
                        report(Some(i), message);
                    }
                    deny_check(self.opts, spec, None, &mut |m| report(None, m));
                }
            }
        }
    }

    /// `x.f(a)` calls the built-in `f(x, a)` (the standard packages, the handles' methods), or the
    /// script's `fn f(a)` with `this` bound to `x`.
    fn check_method(&self, call: &Call, report: &mut impl FnMut(Option<usize>, String)) {
        if KEYWORD_FUNCTIONS.contains(&call.name.as_str()) {
            return;
        }
        let n = call.args.len();
        // Counted without the object.
        let mut counts: BTreeSet<usize> = self.builtins.get(&call.name).into_iter().flatten().filter(|c| **c > 0).map(|c| c - 1).collect();
        counts.extend(self.own.get(call.name.as_str()).into_iter().flatten());
        if counts.is_empty() && self.props.contains(call.name.as_str()) {
            return; // most likely a closure held in a map's property
        }
        if counts.is_empty() {
            let known = self.builtins.keys().map(String::as_str).chain(self.own.keys().copied().filter(|k| !k.starts_with("anon$")));
            report(None, format!("unknown method '.{}()'{}", call.name, suggest(&call.name, known, ".")));
        } else if !counts.contains(&n) {
            report(None, format!(".{}() takes {} argument(s), not {n}", call.name, join_counts(&counts)));
        }
    }
}

fn sort_key(loc: &str) -> (String, usize, usize) {
    let mut parts = loc.rsplitn(3, ':');
    let col = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let line = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or("").to_string(), line, col)
}

fn deny_check(opts: &CheckOptions, spec: &OpSpec, via: Option<&str>, err: &mut impl FnMut(String)) {
    if opts.denies(spec.capability) {
        let tenant = opts.tenant.as_deref().unwrap_or("?");
        let what = match via {
            Some(f) => format!("{f} calls {}, which", spec.qualified()),
            None => spec.qualified(),
        };
        err(format!(
            "{what} needs the capability '{}', which tenant '{tenant}' denies (see `deny` in offboard-host.toml); the call fails if it is reached",
            spec.capability
        ));
    }
}

fn arity_message(name: &str, got: usize, specs: &[&OpSpec]) -> String {
    let forms: Vec<String> = specs.iter().map(|o| format!("{}({})", o.qualified(), o.params.join(", "))).collect();
    format!("{name} takes {} argument(s), not {got}: {}", join_counts(&specs.iter().map(|o| o.params.len()).collect()), forms.join(" or "))
}

fn join_counts(counts: &BTreeSet<usize>) -> String {
    counts.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" or ")
}

/// " (did you mean graph::disable_account?)" for the closest name, if one is close.
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>, prefix: &str) -> String {
    let best = candidates.map(|c| (distance(name, c), c)).filter(|(d, c)| *d <= 2.max(name.len() / 4) && *d < c.len()).min();
    match best {
        Some((_, c)) => format!(" (did you mean {prefix}{c}?)"),
        None => String::new(),
    }
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Global functions the engine knows (the standard packages and the `User` type's methods), with
/// their argument counts.
fn builtin_functions(engine: &Engine) -> BTreeMap<String, BTreeSet<usize>> {
    let mut out: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let meta: serde_json::Value = engine.gen_fn_metadata_to_json(true).ok().and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    for f in meta["functions"].as_array().into_iter().flatten() {
        if let (Some(name), Some(n)) = (f["name"].as_str(), f["numParams"].as_u64()) {
            if name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && !name.contains('$') {
                out.entry(name.to_string()).or_default().insert(n as usize);
            }
        }
    }
    out
}

/// The public functions of a resolved module, from its signatures (`name(a, b)`).
fn module_functions(module: &rhai::Module) -> BTreeMap<String, BTreeSet<usize>> {
    let mut out: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for sig in module.gen_fn_signatures_with_mapper(|s| s.into()) {
        let Some((name, rest)) = sig.split_once('(') else { continue };
        let params = rest.split(')').next().unwrap_or("");
        let n = if params.trim().is_empty() { 0 } else { params.split(',').count() };
        out.entry(name.trim().to_string()).or_default().insert(n);
    }
    out
}

/// The text of an imported module: the embedded stdlib, or the file in the script's folder (the
/// resolver has already checked that the path is allowed).
fn module_source(script: &Script, path: &str) -> Option<String> {
    if let Some((_, text)) = STDLIB.iter().find(|(n, _)| *n == path) {
        return Some(text.to_string());
    }
    let dir = script.dir.as_ref()?.canonicalize().ok()?;
    std::fs::read_to_string(dir.join(format!("{}.rhai", path.trim_end_matches(".rhai")))).ok()
}

/// How deep module imports are followed (stdlib modules import each other one or two levels).
const MAX_IMPORT_DEPTH: usize = 4;

/// For each function of the module at `path`, the ops it calls, following the module's own
/// imports so that `dir::licenses` → `ob::remove_direct_licenses` → `graph::remove_license` is seen.
fn module_ops(engine: &Engine, script: &Script, path: &str, depth: usize) -> BTreeMap<String, Vec<&'static OpSpec>> {
    let Some(src) = module_source(script, path) else { return BTreeMap::new() };
    // The hardened engine (its limits, e.g. expression depth, are the ones the module is written for).
    let Ok(ast) = engine.compile(&src) else { return BTreeMap::new() };
    let sc = walk(&ast);
    let imported: BTreeMap<String, BTreeMap<String, Vec<&'static OpSpec>>> = if depth < MAX_IMPORT_DEPTH {
        sc.imports.iter().filter_map(|i| Some((i.alias.clone()?, module_ops(engine, script, i.path.as_deref()?, depth + 1)))).collect()
    } else {
        BTreeMap::new()
    };
    ops_per_function(&sc, &imported)
}

/// For each function of a module, the ops it calls, directly, through the module's other
/// functions, or through the functions of modules it imports (`imported`: alias → function → ops).
fn ops_per_function(
    s: &Walk,
    imported: &BTreeMap<String, BTreeMap<String, Vec<&'static OpSpec>>>,
) -> BTreeMap<String, Vec<&'static OpSpec>> {
    let ops = table();
    let mut direct: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); s.fns.len()];
    let mut calls_fn: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); s.fns.len()];
    for c in &s.calls {
        let Some(f) = c.in_fn else { continue };
        let target_module = c.ns.as_deref().unwrap_or("");
        if c.method {
            continue; // ops are never methods
        }
        if let Some(k) = ops.iter().position(|o| o.module == target_module && o.name == c.name && o.params.len() == c.args.len()) {
            direct[f].insert(k);
        } else if let Some(via) = c.ns.as_deref().and_then(|ns| imported.get(ns)).and_then(|m| m.get(&c.name)) {
            for spec in via {
                if let Some(k) = ops.iter().position(|o| std::ptr::eq(*o, *spec)) {
                    direct[f].insert(k);
                }
            }
        } else if c.ns.is_none() {
            for (g, def) in s.fns.iter().enumerate() {
                if def.name == c.name && def.params == c.args.len() {
                    calls_fn[f].insert(g);
                }
            }
        }
    }
    // A function that makes a closure (or a pointer to another function) may run it.
    for r in &s.fn_refs {
        let Some(f) = r.in_fn else { continue };
        for (g, def) in s.fns.iter().enumerate() {
            if def.name == r.name {
                calls_fn[f].insert(g);
            }
        }
    }
    // Close over the module's own calls (a fixpoint: functions may call each other).
    let mut changed = true;
    while changed {
        changed = false;
        for f in 0..s.fns.len() {
            let inherited: BTreeSet<usize> = calls_fn[f].iter().flat_map(|g| direct[*g].iter().copied()).collect();
            if !inherited.is_subset(&direct[f]) {
                direct[f].extend(inherited);
                changed = true;
            }
        }
    }
    let mut out: BTreeMap<String, Vec<&'static OpSpec>> = BTreeMap::new();
    for (f, def) in s.fns.iter().enumerate() {
        let entry = out.entry(def.name.clone()).or_default();
        for k in &direct[f] {
            if !entry.iter().any(|o| std::ptr::eq(*o, ops[*k])) {
                entry.push(ops[*k]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
