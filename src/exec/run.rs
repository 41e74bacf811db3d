//! One run of a script for one user: lock, journal, engine, report.
//!
//! [`Script::load`] finds the script; [`Script::check_syntax`] compiles it with no host so syntax
//! errors stop the command before any request is sent; [`run_script`] does the rest:
//! take the writer lock (apply only), open the run in the journal, build the engine around a
//! [`Host`], evaluate, and close the run with its report. A script error does not hide what was
//! already done: the report lists every step that ran, and the error says where the script stopped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use rhai::{Dynamic, Map, Scope, AST};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::host::{ExecOptions, Host};
use super::report::{Report, ReportError, Stats};
use super::Providers;
use crate::engine::{build_engine, describe, EngineOptions, STDLIB};
use crate::error::{Error, Result};
use crate::journal::{Journal, LockOutcome, Mode, NewRun, RunStatus, StepStatus};

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
    /// way, must define functions only, and are merged on top in order.
    pub fn check_syntax(&self, opts: &EngineOptions) -> Result<AST> {
        let engine = build_engine(None, opts);
        let mut ast = compile_one(&engine, self)?;
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
            // The overlay's imports run first (its functions need their aliases), then the flow
            // below; its functions replace those of the same name and arity.
            ast = overlay.clone_statements_only().merge(&ast).merge(&overlay.clone_functions_only());
        }
        Ok(ast)
    }

    /// "default.rhai, then msp.rhai (before_disable), then clients/x.rhai (licenses_phase)":
    /// which layer each override comes from, for the plan.
    pub fn layers(&self) -> Option<String> {
        if self.overlays.is_empty() {
            return None;
        }
        let mut out = self.name.clone();
        for o in &self.overlays {
            let fns = rhai::Engine::new_raw()
                .compile(&o.source)
                .map(|ast| {
                    // Sorted: the AST's function order follows a hash and is not stable.
                    let mut names: Vec<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
                    names.sort();
                    names.dedup();
                    names.join(", ")
                })
                .unwrap_or_default();
            out.push_str(&format!(", then {} (overrides: {fns})", o.name));
        }
        Some(out)
    }
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

const SCRIPT_CONSTANTS: [&str; 5] = ["USER", "TENANT", "DIRECTORY", "MODE", "ORG"];

/// The constants every script sees.
fn script_scope(user: &str, tenant: &str, directory: &str, mode: Mode, org: Map) -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push_constant("USER", user.to_string());
    scope.push_constant("TENANT", tenant.to_string());
    scope.push_constant("DIRECTORY", directory.to_string());
    scope.push_constant("MODE", mode.as_str().to_string());
    scope.push_constant("ORG", org);
    scope
}

/// Everything a run needs besides the providers.
pub struct RunRequest {
    pub tenant: String,
    pub directory: String,
    pub user: String,
    pub script: Script,
    pub mode: Mode,
    /// The org variables after `--set` overrides.
    pub org: Map,
    /// `--set` values, for the journal.
    pub sets: Vec<(String, String)>,
    pub denied: Vec<String>,
    pub exec: ExecOptions,
    pub engine: EngineOptions,
    /// Used when the providers include a PSA.
    pub ticketing: crate::psa::ticketing::TicketingOptions,
}

/// A run id that sorts by time and reads well in `runs list`.
pub fn new_run_id() -> String {
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect();
    format!("{}-{suffix}", Utc::now().format("%Y%m%d-%H%M%S"))
}

/// Run the script. `Err` only for what prevents a run from existing (lock, journal); a script or
/// provider error inside the run is in the report (`error`), with every step that ran.
pub fn run_script(rt: &tokio::runtime::Handle, journal: Arc<dyn Journal>, providers: Providers, req: RunRequest) -> Result<Report> {
    let ast = req.script.check_syntax(&req.engine)?;
    let run_id = new_run_id();
    if req.mode == Mode::Apply {
        match journal.acquire_lock(&req.tenant, &req.user, &run_id, std::process::id())? {
            LockOutcome::Acquired => {}
            LockOutcome::HeldBy { run_id: holder, pid } => {
                return Err(Error::Locked { tenant: req.tenant.clone(), user: req.user.clone(), run_id: holder, pid })
            }
        }
    }
    let result = run_locked(rt, journal.clone(), providers, &req, &run_id, ast);
    if req.mode == Mode::Apply {
        journal.release_lock(&req.tenant, &req.user, &run_id)?;
    }
    result
}

fn run_locked(
    rt: &tokio::runtime::Handle,
    journal: Arc<dyn Journal>,
    providers: Providers,
    req: &RunRequest,
    run_id: &str,
    ast: AST,
) -> Result<Report> {
    journal.create_run(&NewRun {
        run_id: run_id.to_string(),
        tenant: req.tenant.clone(),
        user: req.user.clone(),
        script: req.script.name.clone(),
        script_hash: req.script.hash(),
        mode: req.mode,
        options: json!({"set": req.sets.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(), "directory": req.directory}),
        started_at: Utc::now(),
    })?;
    let host = Host::new(
        rt.clone(),
        req.tenant.clone(),
        req.directory.clone(),
        req.user.clone(),
        run_id.to_string(),
        req.mode,
        journal.clone(),
        providers.clone(),
        req.denied.clone(),
        req.exec,
    );
    let ticketing = providers.psa.clone().map(|psa| {
        let t = crate::psa::ticketing::Ticketing::new(
            psa,
            journal.clone(),
            rt.clone(),
            &req.tenant,
            run_id,
            &req.user,
            &req.script.name,
            req.mode,
            req.ticketing.clone(),
        );
        t.start();
        host.set_phase_sink(t.clone());
        t
    });
    let mut engine_opts = req.engine.clone();
    engine_opts.script_dir = req.script.dir.clone();
    let engine = build_engine(Some(&host), &engine_opts);
    let mut scope = script_scope(&req.user, &req.tenant, &req.directory, req.mode, req.org.clone());

    if let Some(layers) = req.script.layers() {
        host.message(format!("script layers: {layers}"));
    }
    let outcome = engine.run_ast_with_scope(&mut scope, &ast);
    drop(engine); // releases the host closures

    let mut messages = host.messages();
    let error = match outcome {
        Ok(()) => None,
        Err(e) => {
            if let Some(phase) = host.abandon_phase() {
                messages.push(format!("phase '{phase}' did not run: the script stopped while declaring it"));
            }
            let f = describe(&e, &req.script.name);
            let journal_failure = host.take_fatal();
            Some(match journal_failure {
                Some(j) => ReportError { code: j.code().into(), message: j.to_string() },
                None => ReportError { code: f.code, message: format!("{}: {}", f.location, f.message) },
            })
        }
    };
    let steps = host.steps();
    let status = match (&error, req.mode) {
        (Some(_), _) => RunStatus::Aborted,
        (None, Mode::Plan) => RunStatus::Planned,
        (None, Mode::Apply) if steps.iter().any(|s| s.status == StepStatus::Failed) => RunStatus::Failed,
        (None, Mode::Apply) => RunStatus::Succeeded,
    };
    let (ticket, psa_messages) = ticketing.map(|t| t.finish(status, &steps, error.as_ref())).unwrap_or_default();
    messages.extend(psa_messages);
    let g = providers.stats();
    let report = Report {
        run_id: run_id.to_string(),
        tenant: req.tenant.clone(),
        user: req.user.clone(),
        script: req.script.name.clone(),
        mode: req.mode.as_str().into(),
        status: status.as_str().into(),
        steps,
        stats: Stats::from_http(&g, host.started.elapsed()),
        messages,
        error,
        ticket,
    };
    let report_json = serde_json::to_value(&report).unwrap_or(serde_json::Value::Null);
    journal.finish_run(run_id, status, &report_json)?;
    Ok(report)
}

/// The exit-code meaning of a finished run.
pub fn outcome_error(report: &Report) -> Option<Error> {
    if let Some(e) = &report.error {
        return Some(match e.code.as_str() {
            "user_not_found" => Error::UserNotFound { user: report.user.clone(), tenant: report.tenant.clone() },
            "invalid_user" => Error::InvalidUser { input: report.user.clone(), reason: e.message.clone() },
            "provider" => Error::Provider { tenant: report.tenant.clone(), message: e.message.clone() },
            "journal" => Error::Provider { tenant: report.tenant.clone(), message: e.message.clone() },
            "required_step_failed" => Error::StepsFailed { failed: report.count(StepStatus::Failed) },
            _ => Error::Script { location: String::new(), message: e.message.clone() },
        });
    }
    let failed = report.count(StepStatus::Failed);
    (failed > 0).then_some(Error::StepsFailed { failed })
}

/// Parse `--set key=value`: `true`/`false` are booleans, integers are integers, the rest strings.
pub fn parse_set(s: &str) -> Result<(String, Dynamic)> {
    let (k, v) = s.split_once('=').ok_or_else(|| Error::Usage(format!("--set '{s}': expected key=value")))?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(Error::Usage(format!("--set '{s}': keys are lower_snake_case")));
    }
    let v = v.trim();
    let value = match v {
        "true" => Dynamic::from(true),
        "false" => Dynamic::from(false),
        _ => match v.parse::<i64>() {
            Ok(i) => Dynamic::from(i),
            Err(_) => Dynamic::from(v.to_string()),
        },
    };
    Ok((k.to_string(), value))
}

/// The script's `ORG`: the client's `[defaults]` with `--set` values over them; and the `--set`
/// values as `(key, value)` text, for the journal.
pub fn org_with_sets(defaults: &toml::Table, sets: &[String]) -> Result<(Map, Vec<(String, String)>)> {
    let mut org = org_from_toml(defaults)?;
    let mut texts = Vec::new();
    for s in sets {
        let (k, v) = parse_set(s)?;
        texts.push((k.clone(), v.to_string()));
        org.insert(k.into(), v);
    }
    Ok((org, texts))
}

/// The settings a run understands, each with a value of the type it must keep: the stdlib's
/// (`directory::settings`, which includes `offboard::defaults()`), asked of the stdlib itself so a
/// setting added there is known here too, and the keys of `org` (the client's defaults and
/// `--set`) it lacks, for client scripts with settings of their own. Bulk runs use it to tell
/// setting columns from the rest and to refuse a wrongly typed cell before any user runs,
/// rather than when that user's script throws `invalid_setting`.
pub fn known_settings(org: &Map) -> Result<Map> {
    let engine = build_engine(None, &EngineOptions::default());
    let mut known = engine
        .eval::<Map>(r#"import "directory" as dir; dir::settings(#{})"#)
        .map_err(|e| Error::Script { location: "stdlib".into(), message: e.to_string() })?;
    for (k, v) in org {
        known.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(known)
}

/// Convert the client's `[defaults]` TOML table into the script's `ORG` map.
pub fn org_from_toml(t: &toml::Table) -> Result<Map> {
    let mut m = Map::new();
    for (k, v) in t {
        m.insert(k.as_str().into(), toml_to_dynamic(v).ok_or_else(|| Error::Usage(format!("default '{k}': unsupported value type")))?);
    }
    Ok(m)
}

fn toml_to_dynamic(v: &toml::Value) -> Option<Dynamic> {
    Some(match v {
        toml::Value::String(s) => Dynamic::from(s.clone()),
        toml::Value::Integer(i) => Dynamic::from(*i),
        toml::Value::Float(f) => Dynamic::from(*f),
        toml::Value::Boolean(b) => Dynamic::from(*b),
        toml::Value::Array(a) => Dynamic::from_array(a.iter().map(toml_to_dynamic).collect::<Option<Vec<_>>>()?),
        toml::Value::Table(t) => {
            let mut m = Map::new();
            for (k, v) in t {
                m.insert(k.as_str().into(), toml_to_dynamic(v)?);
            }
            Dynamic::from_map(m)
        }
        toml::Value::Datetime(d) => Dynamic::from(d.to_string()),
    })
}
