//! The command line: parse, dispatch, print, and map errors to exit codes.
//!
//! `main` calls [`main_with`] and exits with what it returns (the exit-code contract is in
//! [`crate::error`]). Each subcommand is one function here; the work itself lives in the library.

mod approve;
pub mod args;
mod bulk;
mod bulk_schedule;
mod check;
mod dispatch;
mod docs;
mod out;
mod outbox;
mod pager;
mod progress;
mod queue;
mod render;
pub mod repl;
mod restore;
mod run_id;
mod runs;
mod schedule;
mod script;
mod serve;
mod settings;

use out::{out, outln};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

use crate::config::Config;
use crate::engine::EngineOptions;
use crate::error::{Error, Result};
use crate::exec::host::ExecOptions;
use crate::exec::report::Report;
use crate::journal::{Journal, JournalConfig, Mode, StepStatus};
use crate::run::{outcome_error, run_script, RunRequest};
use crate::service::runtime;
pub use crate::service::{demo_state_path, Connection};
use crate::settings::org_with_sets;
use args::{Args, Color, Command, DemoCommand, RunArgs};

/// Where the journal and the demo tenant's state live: `$OFFBOARD_HOME`, else the platform data dir.
pub fn home_dir() -> PathBuf {
    match std::env::var_os("OFFBOARD_HOME") {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("offboard-host"),
    }
}

struct Ctx {
    config_path: Option<PathBuf>,
    color: bool,
    home: PathBuf,
}

/// Run the command line; returns the process exit code.
pub fn main_with(argv: impl IntoIterator<Item = std::ffi::OsString>) -> u8 {
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_logging(args.verbose);
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let ctx = Ctx { config_path: args.config.clone(), color, home: home_dir() };
    let json = matches!(&args.command, Command::Run(a) | Command::Plan(a) if a.json)
        || matches!(&args.command, Command::Apply(a) if a.json)
        || matches!(&args.command, Command::Restore(a) if a.json)
        || matches!(&args.command, Command::Settings(a) if a.json);
    match dispatch(&ctx, args.command) {
        Ok(code) => code,
        Err(e) => {
            if json {
                outln!("{}", json!({"error": {"code": e.code(), "message": e.to_string()}}));
            }
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OFFBOARD_LOG").unwrap_or_else(|_| level.into());
    // Colour codes only on a terminal: a log file or a pipe gets plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

fn dispatch(ctx: &Ctx, command: Command) -> Result<u8> {
    match command {
        Command::Run(a) => cmd_run(ctx, a, false),
        Command::Plan(a) => cmd_run(ctx, a, true),
        Command::Check(a) => check::cmd_check(ctx, a),
        Command::Docs(a) => docs::cmd_docs(a),
        Command::Repl(a) => repl::cmd_repl(ctx, a),
        Command::Runs { command } => runs::cmd_runs(ctx, command),
        Command::Approve(a) => approve::cmd_decide(ctx, a, true),
        Command::Reject(a) => approve::cmd_decide(ctx, a, false),
        Command::Apply(a) => approve::cmd_apply(ctx, a),
        Command::Schedule { command } => schedule::cmd_schedule(ctx, command),
        Command::Worker(a) => queue::cmd_worker(ctx, a),
        Command::Restore(a) => restore::cmd_restore(ctx, a),
        Command::Outbox { command } => outbox::cmd_outbox(ctx, command),
        Command::Settings(a) => settings::cmd_settings(ctx, a),
        Command::Script { command } => script::cmd_script(command),
        Command::Serve(a) => serve::cmd_serve(ctx, a),
        Command::Demo { command } => cmd_demo(ctx, command),
    }
}

/// The journal the configuration names: `journal.db` under the home directory, unless
/// `OFFBOARD_JOURNAL_URL` or `journal = "postgres://…"` in offboard-host.toml names a database.
fn open_journal(ctx: &Ctx) -> Result<Arc<dyn Journal>> {
    Ok(crate::journal::open(&journal_config(ctx)?)?)
}

/// Where the journal is, as [`open_journal`] finds it.
fn journal_config(ctx: &Ctx) -> Result<JournalConfig> {
    std::fs::create_dir_all(&ctx.home).map_err(|e| Error::io(format!("creating {}", ctx.home.display()), e))?;
    let configured = Config::load(ctx.config_path.as_deref(), &ctx.home)?.journal;
    Ok(JournalConfig::resolve(configured.as_deref(), ctx.home.join("journal.db")))
}

fn cmd_run(ctx: &Ctx, a: RunArgs, force_plan: bool) -> Result<u8> {
    // Bulk, scheduled and approval-gated runs go their own way (see `session.rs`).
    if let Some(code) = dispatch::workflow_run(ctx, &a, force_plan)? {
        return Ok(code);
    }
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    if config.is_demo_only() {
        eprintln!("note: no offboard-host.toml: using the built-in demo tenant (simulated)");
    }
    let (tenant_name, tenant) = config.tenant(a.tenant.as_deref())?;
    // With an on-premises AD, a sAMAccountName names the user too.
    let valid = if tenant.ad.is_some() { crate::input::validate_ad_user(&a.user) } else { crate::input::validate_user(&a.user) };
    valid.map_err(|reason| Error::InvalidUser { input: a.user.escape_debug().to_string(), reason })?;

    let (org, sets) = org_with_sets(&tenant.defaults, &a.set)?;
    let spec = match (&tenant.script, a.script.as_str()) {
        (Some(own), "default" | "default.rhai") => {
            eprintln!("note: tenant '{tenant_name}' has its own script: {own}");
            own.clone()
        }
        _ => a.script.clone(),
    };
    let script = crate::service::load_layered(&config, tenant, &spec)?;
    let cancel = Arc::new(AtomicBool::new(false));
    let engine = EngineOptions { deadline: Duration::from_secs(a.timeout), cancel: cancel.clone(), ..EngineOptions::default() };
    script.check_syntax(&engine)?;
    let ticketing = crate::service::ticketing_options(tenant_name, tenant, a.ticket.as_deref())?;

    let journal = open_journal(ctx)?;
    let rt = runtime()?;
    let _ctrl_c = rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.store(true, Ordering::Relaxed);
        }
    });
    let conn = rt.block_on(Connection::open(tenant_name, tenant, &ctx.home))?;
    let request = |mode: Mode| RunRequest {
        tenant: tenant_name.to_string(),
        directory: tenant.directory.as_str().to_string(),
        user: a.user.clone(),
        script: script.clone(),
        mode,
        org: org.clone(),
        sets: sets.clone(),
        denied: tenant.deny.clone(),
        exec: ExecOptions { concurrency: a.concurrency, ..ExecOptions::default() },
        engine: engine.clone(),
        // The apply reports each phase as it finishes (its plan is on the screen already).
        observer: Some(match mode {
            Mode::Apply if !a.json && !a.wide => {
                Arc::new(progress::Progress { inner: Some(Arc::new(ticketing.clone())), color: ctx.color })
            }
            _ => Arc::new(ticketing.clone()),
        }),
        protection: crate::service::protection(tenant, a.allow_privileged),
        work_item: None,
    };
    let batching = a.concurrency > 1;

    let result = (|| -> Result<u8> {
        let plan_only = force_plan || a.plan;
        // The plan's messages, not repeated under the apply (the script says the same again).
        let mut seen: Option<Vec<String>> = None;
        // The plan is always shown before an apply, except with --yes --json (one report only).
        if plan_only || !(a.yes && a.json) {
            let providers = rt.block_on(conn.providers(true, batching))?;
            let plan = run_script(rt.handle(), journal.clone(), providers, request(Mode::Plan))?;
            emit(ctx, &a, &plan)?;
            seen = Some(plan.messages.clone());
            if let Some(e) = outcome_error(&plan) {
                // The report is on stdout (with its error in --json): the message goes to stderr.
                eprintln!("error: {e}");
                return Ok(e.exit_code());
            }
            if plan_only {
                return Ok(0);
            }
            let changes = plan.count(StepStatus::Planned);
            // Nothing to change in the directories, but maybe for the ticket (see `work_left`).
            let psa_work = tenant.psa.as_ref().and_then(|_| crate::psa::ticketing::work_left(journal.as_ref(), tenant_name, &a.user));
            if changes == 0 {
                let Some(why) = psa_work else {
                    if !a.json {
                        eprintln!("nothing to change: {} is already offboarded as far as this script goes", a.user);
                    }
                    return Ok(0);
                };
                if !a.json {
                    eprintln!("nothing to change in the directories for {}; running for the PSA ticket: {why}", a.user);
                }
            } else if !a.yes {
                confirm(changes, &a.user, tenant_name)?;
            }
        }
        let providers = rt.block_on(conn.providers(false, batching))?;
        let report = run_script(rt.handle(), journal.clone(), providers, request(Mode::Apply))?;
        match &seen {
            Some(seen) if !a.json && !a.wide => {
                out!("{}", render::summary(&Report { error: None, ..report.clone() }, ctx.color, seen))
            }
            _ => emit(ctx, &a, &report)?,
        }
        match outcome_error(&report) {
            Some(e) => {
                if !a.json {
                    eprintln!("error: {e}");
                }
                Ok(e.exit_code())
            }
            None => Ok(0),
        }
    })();
    rt.block_on(conn.close());
    result
}

/// Ask on the terminal. Without a terminal there is nobody to ask: refuse (use --yes).
fn confirm(changes: usize, user: &str, tenant: &str) -> Result<()> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::NotConfirmed { reason: "no terminal to confirm on (pass --yes to apply)".into() });
    }
    // The question on a line of its own: with a long UPN it would pass 80 columns.
    eprint!("Apply {changes} change(s) to {user} in tenant '{tenant}'?\nType 'yes' to continue: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| Error::io("reading the confirmation", e))?;
    match line.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" => Ok(()),
        _ => Err(Error::NotConfirmed { reason: "declined".into() }),
    }
}

/// The report on stdout. In text mode without its error: the caller prints that on stderr, once
/// (on a terminal both streams show, and the same error twice reads as two errors).
fn emit(ctx: &Ctx, a: &RunArgs, r: &Report) -> Result<()> {
    if a.json {
        outln!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
    } else if a.wide {
        pager::print_paged(&render::report_wide(&Report { error: None, ..r.clone() }, ctx.color));
    } else {
        out!("{}", render::report(&Report { error: None, ..r.clone() }, ctx.color));
    }
    Ok(())
}

fn cmd_demo(ctx: &Ctx, command: DemoCommand) -> Result<u8> {
    let path = demo_state_path(&ctx.home);
    match command {
        DemoCommand::Reset => {
            crate::demo::reset(&path).map_err(|e| Error::io(format!("resetting {}", path.display()), e))?;
            outln!("demo tenant reset: {}", path.display());
        }
        DemoCommand::Serve { addr } => {
            let rt = runtime()?;
            rt.block_on(async {
                let cfg = crate::demo::DemoConfig { state_path: path.clone(), knobs: crate::demo::Knobs::from_env() };
                let server = crate::demo::DemoServer::start(cfg, addr).await.map_err(|e| Error::io("starting the demo tenant", e))?;
                outln!("graph {}\ntoken {}\nstate {}", server.base_url(), server.token_url(), path.display());
                let _ = std::io::stdout().flush();
                let _ = tokio::signal::ctrl_c().await;
                server.shutdown().await;
                Ok::<_, Error>(())
            })?;
        }
    }
    Ok(0)
}
