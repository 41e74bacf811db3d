//! `offboard-host repl [--tenant NAME] [--allow-writes]`: a Rhai prompt bound to a tenant.
//!
//! The evaluation core is [`Repl`]: one engine built by [`build_engine`] around a [`Host`] with no
//! user (`USER` is empty), a [`Scope`] that keeps variables between inputs, and an AST that keeps
//! the functions defined so far (the rhai-repl pattern: compile with the scope, merge, evaluate,
//! clear the statements). [`Repl::eval_line`] takes one complete input and returns what to print,
//! so it is tested without a terminal; [`cmd_repl`] is a thin rustyline loop around it (or reads
//! stdin line by line when stdin is not a terminal).
//!
//! Read-only by default: the Graph client refuses writes and the host makes every write function
//! fail with a message saying how to allow them, before any action is declared. With
//! `--allow-writes` each input is first evaluated as a plan (read-only clients, a copy of the
//! variables): when it would write, its steps are shown as the same compact lines as a run's plan
//! and confirmed (y/N) before anything is sent; then it is evaluated again in apply mode, as one
//! journal run of its own for its user, under that user's writer lock (see `repl/writes.rs`).

use super::out::{self, out};
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use rhai::{Dynamic, Engine, EvalAltResult, Map, Position, Scope, AST};
use serde_json::json;

use super::args::ReplArgs;
use super::{open_journal, runtime, Connection, Ctx};
use crate::authoring::docs::{doc_text, modules, signature};
use crate::config::Config;
use crate::engine::scan::{lex, scan};
use crate::engine::{build_engine, describe, EngineOptions, STDLIB};
use crate::error::{Error, Result};
use crate::exec::host::{ExecOptions, Host};
use crate::exec::Providers;
use crate::journal::{Journal, Mode, NewRun, SqliteJournal};
use crate::ops::user::{METHODS, PROPERTIES};
use crate::ops::{table, Access};
use crate::run::new_run_id;
use crate::settings::org_from_toml;

/// What a REPL is bound to.
pub struct ReplConfig {
    pub tenant: String,
    pub directory: String,
    pub denied: Vec<String>,
    pub org: Map,
    pub allow_writes: bool,
    /// Time limit for one input.
    pub timeout: Duration,
}

/// Shows a plan (first argument), asks (second), says whether to apply it.
type Confirm = Box<dyn FnMut(&str, &str) -> bool>;

pub const WRITE_HINT: &str = "start the REPL with --allow-writes to use it";
const SOURCE: &str = "repl";

pub struct Repl {
    engine: Engine,
    scope: Scope<'static>,
    /// The functions defined so far (statements are cleared after each input).
    ast: AST,
    /// The host inputs are evaluated on: read-only, or (writes allowed) in plan mode.
    host: Arc<Host>,
    journal: Arc<dyn Journal>,
    allow_writes: bool,
    /// With writes allowed: the clients that may write, for the confirmed inputs.
    writer: Option<Providers>,
    /// Shows the plan and asks the question; true to apply. Refuses without a terminal.
    confirm: Confirm,
    /// `import "path" as alias` inputs so far, registered again on each apply engine.
    imports: Vec<(String, String)>,
    cfg: ReplConfig,
    /// Host messages already shown.
    shown: usize,
    /// Set by Ctrl-C: the current input stops at its next operation.
    pub cancel: Arc<AtomicBool>,
    started: Arc<Mutex<Instant>>,
    finished: bool,
}

impl Repl {
    /// A REPL over `providers`, which should be read-only. With `cfg.allow_writes`, `writer` are
    /// the clients that may write (the inputs are planned on `providers` first).
    pub fn new(
        rt: &tokio::runtime::Handle,
        journal: Arc<dyn Journal>,
        providers: Providers,
        writer: Option<Providers>,
        cfg: ReplConfig,
    ) -> Result<Repl> {
        let run_id = format!("repl-{}", new_run_id());
        // Writes allowed: inputs are planned first, journalled in memory (the plan is a preview;
        // the journal keeps the confirmed applies, each a run of its own).
        let plan_journal: Arc<dyn Journal> = if cfg.allow_writes { Arc::new(SqliteJournal::open_in_memory()?) } else { journal.clone() };
        if cfg.allow_writes {
            plan_journal.create_run(&NewRun {
                run_id: run_id.clone(),
                tenant: cfg.tenant.clone(),
                user: String::new(),
                script: SOURCE.into(),
                script_hash: String::new(),
                mode: Mode::Plan,
                options: json!({"repl": true, "directory": cfg.directory}),
                started_at: Utc::now(),
            })?;
        }
        let host = Host::new(
            rt.clone(),
            cfg.tenant.clone(),
            cfg.directory.clone(),
            String::new(),
            run_id,
            Mode::Plan,
            plan_journal,
            providers,
            cfg.denied.clone(),
            ExecOptions::default(),
        );
        if !cfg.allow_writes {
            host.refuse_writes(WRITE_HINT);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let started = Arc::new(Mutex::new(Instant::now()));
        let engine = engine_for(&host, &cancel, &started, cfg.timeout);
        let mode = if cfg.allow_writes { Mode::Apply } else { Mode::Plan };
        let mut scope = Scope::new();
        scope.push_constant("USER", String::new());
        scope.push_constant("TENANT", cfg.tenant.clone());
        scope.push_constant("DIRECTORY", cfg.directory.clone());
        scope.push_constant("MODE", mode.as_str().to_string());
        scope.push_constant("ORG", cfg.org.clone());
        Ok(Repl {
            engine,
            scope,
            ast: AST::empty(),
            host,
            journal,
            allow_writes: cfg.allow_writes,
            writer: if cfg.allow_writes { writer } else { None },
            confirm: Box::new(|_, _| false),
            imports: Vec::new(),
            cfg,
            shown: 0,
            cancel,
            started,
            finished: false,
        })
    }

    /// How the REPL shows a plan (first argument) and asks (second) before applying it; the
    /// default refuses: nobody to ask.
    pub fn set_confirm(&mut self, confirm: impl FnMut(&str, &str) -> bool + 'static) {
        self.confirm = Box::new(confirm);
    }

    pub fn banner(&self) -> String {
        format!(
            "offboard-host REPL · tenant {} ({}) · {}\n`help` lists the modules and commands, `help <function>` shows its documentation, `:quit` leaves.\n",
            self.host.tenant,
            self.host.directory,
            if self.allow_writes {
                "WRITES ALLOWED: each input that writes is shown as a plan and applied only when you confirm it"
            } else {
                "read-only (start with --allow-writes to change anything)"
            }
        )
    }

    pub fn prompt(&self) -> String {
        format!("{}{}> ", self.host.tenant, if self.allow_writes { "!" } else { "" })
    }

    /// Is `input` complete, or does it go on on the next line (open brackets, an unterminated
    /// string, or a final `\`)?
    pub fn needs_more(input: &str) -> bool {
        if input.trim_end().ends_with('\\') {
            return true;
        }
        let lexed = lex(input);
        lexed.unterminated || lexed.open_brackets() > 0
    }

    /// Is this the command to leave?
    pub fn is_quit(input: &str) -> bool {
        matches!(input.trim(), ":quit" | ":q" | ":exit" | "quit" | "exit")
    }

    /// Evaluate one complete input (a command or Rhai code); returns what to print.
    pub fn eval_line(&mut self, input: &str) -> String {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return String::new();
        }
        if let Some(topic) = help_topic(trimmed) {
            return help(topic);
        }
        // Lines continued with a final `\`: drop the backslashes.
        let code: String = input.lines().map(|l| l.strip_suffix('\\').unwrap_or(l)).collect::<Vec<_>>().join("\n");
        self.cancel.store(false, Ordering::Relaxed);
        if let Ok(mut t) = self.started.lock() {
            *t = Instant::now();
        }
        if self.allow_writes {
            return self.eval_with_confirmation(&code);
        }
        let result = self.eval(&code);
        self.output(&self.host.clone(), result)
    }

    /// The host's new messages, then the result (or the error) as text.
    fn output(&mut self, host: &Arc<Host>, result: std::result::Result<Dynamic, Box<EvalAltResult>>) -> String {
        let mut out = String::new();
        let messages = host.messages();
        let skip = if Arc::ptr_eq(host, &self.host) { self.shown } else { 0 };
        for m in messages.iter().skip(skip) {
            out.push_str(m);
            out.push('\n');
        }
        if Arc::ptr_eq(host, &self.host) {
            self.shown = messages.len();
        }
        match result {
            Ok(v) => out.push_str(&render(&v)),
            Err(e) => {
                if let Some(phase) = host.abandon_phase() {
                    out.push_str(&format!("phase '{phase}' did not run: the input stopped while declaring it\n"));
                }
                let f = describe(&e, SOURCE);
                let code = if f.code == "script" { String::new() } else { format!(" [{}]", f.code) };
                out.push_str(&format!("error: {}: {}{code}\n", f.location, f.message));
            }
        }
        out
    }

    fn eval(&mut self, code: &str) -> std::result::Result<Dynamic, Box<EvalAltResult>> {
        let mut scope = std::mem::take(&mut self.scope);
        let result = self.eval_in(code, &mut scope);
        self.scope = scope;
        result
    }

    /// Evaluate `code` on the REPL's engine with `scope`; keep its functions and imports.
    fn eval_in(&mut self, code: &str, scope: &mut Scope<'static>) -> std::result::Result<Dynamic, Box<EvalAltResult>> {
        let mut ast = self.engine.compile_with_scope(scope, code)?;
        ast.set_source(SOURCE);
        let merged = self.ast.merge(&ast);
        let result = self.engine.eval_ast_with_scope::<Dynamic>(scope, &merged);
        // Keep the function definitions, drop the statements (they have run).
        self.ast = merged;
        self.ast.clear_statements();
        if result.is_ok() {
            // An `import ... as x` is remembered: later inputs can call `x::f(...)`.
            for imp in scan(code).imports {
                if let Some(alias) = imp.alias {
                    let pos = Position::new(imp.line as u16, imp.col as u16);
                    let module = self.engine.module_resolver().resolve(&self.engine, None, &imp.path, pos)?;
                    self.engine.register_static_module(alias.clone(), module);
                    self.imports.retain(|(a, _)| *a != alias);
                    self.imports.push((alias, imp.path.clone()));
                }
            }
        }
        result
    }

    /// Words tab completion offers: commands, modules, functions, variables.
    pub fn completion_words(&self) -> Vec<String> {
        let mut words: BTreeSet<String> = [":quit", "help"].iter().map(|s| s.to_string()).collect();
        for spec in table() {
            if !spec.module.is_empty() {
                words.insert(format!("{}::", spec.module));
            }
            words.insert(format!("{}(", spec.qualified()));
        }
        for (name, _) in STDLIB {
            words.insert(format!("\"{name}\""));
        }
        for (name, _, _) in self.scope.iter_raw() {
            words.insert(name.to_string());
        }
        for p in PROPERTIES {
            words.insert(p.name.to_string());
        }
        words.into_iter().collect()
    }

    /// Called when the REPL ends. Each confirmed input closed its own journal run already.
    pub fn finish(&mut self) -> Result<()> {
        self.finished = true;
        Ok(())
    }

    pub fn host(&self) -> &Arc<Host> {
        &self.host
    }
}

impl Drop for Repl {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// The hardened engine around `host`, stopped by Ctrl-C (`cancel`) and by the time limit, which
/// restarts with each input (`started`): the engine's own deadline counts from when it was built,
/// and a REPL lives longer than one input.
fn engine_for(host: &Arc<Host>, cancel: &Arc<AtomicBool>, started: &Arc<Mutex<Instant>>, limit: Duration) -> Engine {
    let opts = EngineOptions { cancel: cancel.clone(), deadline: limit, ..EngineOptions::default() };
    let mut engine = build_engine(Some(host), &opts);
    let (c, s) = (cancel.clone(), started.clone());
    engine.on_progress(move |_| {
        if c.load(Ordering::Relaxed) {
            Some(Dynamic::from("cancelled (Ctrl-C)"))
        } else if s.lock().map(|t| t.elapsed() > limit).unwrap_or(false) {
            Some(Dynamic::from(format!("the input exceeded its time limit of {}s", limit.as_secs())))
        } else {
            None
        }
    });
    engine
}

/// `help`, `help X`, `:help`, `:help X` → Some(X or "").
fn help_topic(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(':').unwrap_or(line);
    let rest = rest.strip_prefix("help")?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let topic = rest.trim().trim_end_matches(';').trim_end_matches("()").trim();
    // `help(x)` is a Rhai call to a function named help, not the command.
    (!topic.starts_with('(')).then_some(topic)
}

/// The help text for a topic: "" for the overview, a module, a function, `User`, `MODE` ...
pub fn help(topic: &str) -> String {
    let ops = table();
    if topic.is_empty() {
        let mut s = String::from("Modules (help <module> lists its functions):\n");
        for m in modules() {
            let n = ops.iter().filter(|o| o.module == m).count();
            let name = if m.is_empty() { "(global)".to_string() } else { format!("{m}::") };
            s.push_str(&format!("  {name:<12} {n} function(s)\n"));
        }
        s.push_str("  User         the resolved user and its properties (help User)\n");
        for (name, _) in STDLIB {
            s.push_str(&format!("  stdlib       import \"{name}\" as ob;  then ob::settings(ORG), ob::describe(user), ...\n"));
        }
        s.push_str(
            "Constants: USER (empty here), TENANT, DIRECTORY, MODE, ORG\n\
             Commands:\n  help                 this overview\n  help <module>        the module's functions\n  help <function>      a function's documentation, e.g. help graph::get_user\n  :quit                leave (also Ctrl-D)\n\
             Input: continue on the next line while brackets are open or a line ends with `\\`; Tab completes names;\n\
             variables and functions persist between inputs.\n",
        );
        return s;
    }
    if topic == "User" || topic == "user" {
        let mut s = String::from("User: the resolved user (graph::get_user). Properties:\n");
        for p in PROPERTIES {
            s.push_str(&format!("  .{:<16} {:<13} {}\n", p.name, p.ty, p.doc));
        }
        for (name, ret, doc) in METHODS {
            s.push_str(&format!("  .{:<16} {:<13} {}\n", format!("{name}()"), ret, doc));
        }
        return s;
    }
    let module = topic.trim_end_matches("::");
    if !module.is_empty() && modules().contains(&module) && !ops.iter().any(|o| o.module.is_empty() && o.name == module) {
        let mut s = format!("{module}:: functions (help {module}::<name> for one):\n");
        for spec in ops.iter().filter(|o| o.module == module) {
            let first = spec.doc.first().map(|l| l.trim_start_matches("///").trim()).unwrap_or("");
            let kind = match spec.access {
                Access::Write => "write",
                Access::Read => "read",
                Access::Control => "control",
            };
            s.push_str(&format!("  {}  [{kind}]\n      {first}\n", signature(spec)));
        }
        return s;
    }
    let (ns, name) = match topic.rsplit_once("::") {
        Some((ns, name)) => (Some(ns), name),
        None => (None, topic),
    };
    let found: Vec<_> = ops.iter().filter(|o| o.name == name && ns.is_none_or(|n| n == o.module)).collect();
    if found.is_empty() {
        return format!("no function '{topic}' in the op table (`help` lists the modules)\n");
    }
    let mut s = String::new();
    for spec in found {
        s.push_str(&format!("{}\n\n", signature(spec)));
        for l in doc_text(spec.doc).lines() {
            s.push_str(&format!("  {l}\n"));
        }
        s.push_str(&format!(
            "\n  access: {}   capability: {}   idempotent: {}\n  under plan: {}\n\n",
            match spec.access {
                Access::Write => "write",
                Access::Read => "read",
                Access::Control => "control",
            },
            spec.capability,
            if spec.idempotent { "yes" } else { "no" },
            spec.plan
        ));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Completion

/// Complete the word before `pos` in `line` from `words`: (start of the word, candidates).
pub fn complete(words: &[String], line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == ':' || *c == '"')
        .last()
        .map(|(i, _)| i)
        .unwrap_or(before.len());
    let word = &before[start..];
    if word.is_empty() {
        return (start, vec![]);
    }
    let found: Vec<String> = words.iter().filter(|w| w.starts_with(word) && w.as_str() != word).cloned().collect();
    (start, found)
}

struct Helper {
    words: Vec<String>,
}

impl rustyline::completion::Completer for Helper {
    type Candidate = String;
    fn complete(&self, line: &str, pos: usize, _ctx: &rustyline::Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(complete(&self.words, line, pos))
    }
}
impl rustyline::hint::Hinter for Helper {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Helper {}
impl rustyline::validate::Validator for Helper {}
impl rustyline::Helper for Helper {}

// ---------------------------------------------------------------------------------------------
// The command

pub(super) fn cmd_repl(ctx: &Ctx, a: ReplArgs) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    if config.is_demo_only() {
        eprintln!("note: no offboard-host.toml: using the built-in demo tenant (simulated)");
    }
    let (tenant_name, tenant) = config.tenant(a.tenant.as_deref())?;
    if a.allow_writes && tenant.approval.is_some() {
        // Writes at the prompt would skip the approval: only read-only for such a tenant.
        return Err(Error::Usage(format!("tenant '{tenant_name}' requires approval: the REPL is read-only for it (drop --allow-writes)")));
    }
    let org = org_from_toml(&tenant.defaults)?;
    let journal: Arc<dyn Journal> = if a.allow_writes { open_journal(ctx)? } else { Arc::new(SqliteJournal::open_in_memory()?) };
    let terminal = std::io::stdin().is_terminal();
    let rt = runtime()?;
    let conn = rt.block_on(Connection::open(tenant_name, tenant, &ctx.home))?;
    let result = (|| -> Result<()> {
        // Inputs are evaluated on read-only clients; with writes allowed, a confirmed input is
        // applied again on clients that may write.
        let providers = rt.block_on(conn.providers(true, true))?;
        let writer = if a.allow_writes { Some(rt.block_on(conn.providers(false, true))?) } else { None };
        let cfg = ReplConfig {
            tenant: tenant_name.to_string(),
            directory: tenant.directory.as_str().to_string(),
            denied: tenant.deny.clone(),
            org,
            allow_writes: a.allow_writes,
            timeout: Duration::from_secs(600),
        };
        let mut repl = Repl::new(rt.handle(), journal.clone(), providers, writer, cfg)?;
        repl.set_confirm(move |plan, question| ask(terminal, plan, question));
        let cancel = repl.cancel.clone();
        rt.spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                cancel.store(true, Ordering::Relaxed);
            }
        });
        if terminal {
            interactive(ctx, &mut repl)?;
        } else {
            piped(&mut repl)?;
        }
        repl.finish()
    })();
    rt.block_on(conn.close());
    result.map(|()| 0)
}

/// Show the plan and ask on the terminal; piped, there is nobody to ask: the plan is shown and
/// refused (the next input line is not an answer).
fn ask(terminal: bool, plan: &str, question: &str) -> bool {
    out::text(plan);
    if !terminal {
        out::text("no terminal to confirm on\n");
        return false;
    }
    out::text(question);
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Read inputs from a pipe (no editing, no prompt): the same evaluation as on a terminal.
fn piped(repl: &mut Repl) -> Result<()> {
    let stdin = std::io::stdin();
    let mut buf = String::new();
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| Error::io("reading stdin", e))?;
        if buf.is_empty() && Repl::is_quit(&line) {
            break;
        }
        buf.push_str(&line);
        buf.push('\n');
        if Repl::needs_more(&buf) {
            continue;
        }
        out::text(&repl.eval_line(&buf));
        buf.clear();
        if out::closed() {
            // The reader of our output has gone: the rest of the input would run unseen.
            break;
        }
    }
    if !buf.trim().is_empty() {
        out::text(&repl.eval_line(&buf));
    }
    Ok(())
}

/// The line editor's settings. Tab completes what all candidates share and, pressed again, lists
/// them (`CompletionType::List`, as bash does) instead of cycling through them one by one.
fn editor_config() -> rustyline::Config {
    rustyline::Config::builder().auto_add_history(false).tab_stop(4).indent_size(4).completion_type(rustyline::CompletionType::List).build()
}

fn interactive(ctx: &Ctx, repl: &mut Repl) -> Result<()> {
    use rustyline::error::ReadlineError;
    let config = editor_config();
    let mut editor: rustyline::Editor<Helper, rustyline::history::FileHistory> =
        rustyline::Editor::with_config(config).map_err(|e| Error::io("starting the line editor", std::io::Error::other(e.to_string())))?;
    editor.set_helper(Some(Helper { words: repl.completion_words() }));
    let history = ctx.home.join("repl_history");
    let _ = std::fs::create_dir_all(&ctx.home);
    let _ = editor.load_history(&history);
    out!("{}", repl.banner());
    let mut buf = String::new();
    loop {
        let prompt = if buf.is_empty() { repl.prompt() } else { "... ".to_string() };
        match editor.readline(&prompt) {
            Ok(line) => {
                if buf.is_empty() && Repl::is_quit(&line) {
                    break;
                }
                buf.push_str(&line);
                buf.push('\n');
                if Repl::needs_more(&buf) {
                    continue;
                }
                let _ = editor.add_history_entry(buf.trim_end());
                out::text(&repl.eval_line(&buf));
                buf.clear();
                if let Some(h) = editor.helper_mut() {
                    h.words = repl.completion_words();
                }
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C at the prompt drops the input being typed.
                buf.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Error::io("reading input", std::io::Error::other(e.to_string()))),
        }
    }
    let _ = editor.save_history(&history);
    Ok(())
}

mod render;
mod writes;
pub use render::{human_bytes, render};

#[cfg(test)]
mod tests;
