//! The one place the Rhai engine is built, for production and tests alike.
//!
//! A script is customer-written code that runs with the power to disable accounts, so the engine is
//! hardened as Rhai's safety chapter recommends: every size limit set, an operation budget and a
//! wall-clock deadline (`on_progress`), `eval` disabled, strict variables, and a module resolver
//! that only serves the shipped stdlib and files in the script's own folder. Host functions are
//! registered from the op table ([`crate::ops`]) when a [`Host`] is given; without one the engine
//! can still compile and check scripts.

mod errors;
mod resolver;
pub mod scan;
pub mod walk;

pub use errors::{describe, describe_layered, ScriptFailure};
pub use resolver::{SandboxResolver, STDLIB};

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, OptimizationLevel};

use crate::exec::host::Host;

/// Limits and context for one engine.
#[derive(Clone)]
pub struct EngineOptions {
    /// The folder of the script being run: the only place besides the stdlib imports come from.
    pub script_dir: Option<PathBuf>,
    /// Wall-clock budget for the whole script, provider calls included.
    pub deadline: Duration,
    /// Operation budget: stops endless loops long before the deadline.
    pub max_operations: u64,
    /// Set by Ctrl-C: the script stops at its next operation.
    pub cancel: Arc<AtomicBool>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            script_dir: None,
            deadline: Duration::from_secs(30 * 60),
            max_operations: 5_000_000,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Build the hardened engine. With `host`, every op of the op table is registered and `print`
/// goes to the run's messages.
pub fn build_engine(host: Option<&Arc<Host>>, opts: &EngineOptions) -> Engine {
    let mut engine = Engine::new();

    engine.set_max_operations(opts.max_operations);
    engine.set_max_call_levels(48);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(256 * 1024);
    // Rhai counts the properties of nested maps together, so the map limit bounds a whole
    // result, not one object: `Get-Mailbox -ResultSize Unlimited` on a tenant of 1,000 mailboxes
    // is already tens of thousands of properties (a real mailbox has ~200). Sized for tenants of
    // a few thousand mailboxes; a runaway script is still stopped by the operation limit and the
    // deadline. The array limit stays small: Rhai re-counts an array on every push, so filling
    // one costs the square of its length.
    engine.set_max_array_size(50_000);
    engine.set_max_map_size(1_000_000);
    engine.set_max_modules(32);
    engine.set_max_variables(2_000);
    engine.set_max_functions(512);
    engine.set_strict_variables(true);
    // Host functions have effects: never let the optimizer evaluate calls at compile time.
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.disable_symbol("eval");

    let started = Instant::now();
    let deadline = opts.deadline;
    let cancel = opts.cancel.clone();
    engine.on_progress(move |_ops| {
        if cancel.load(Ordering::Relaxed) {
            Some(Dynamic::from("cancelled"))
        } else if started.elapsed() > deadline {
            Some(Dynamic::from(format!("the script exceeded its time limit of {}s", deadline.as_secs())))
        } else {
            None
        }
    });

    engine.set_module_resolver(SandboxResolver::new(opts.script_dir.clone()));

    match host {
        Some(host) => {
            let h = host.clone();
            engine.on_print(move |s| h.message(s.to_string()));
            let h = host.clone();
            engine.on_debug(move |s, src, pos| h.message(format!("debug {}:{}: {s}", src.unwrap_or("script"), pos)));
            crate::ops::register_all(&mut engine, host);
        }
        None => {
            engine.on_print(|s| tracing::info!(target: "script", "{s}"));
            // Strict variables resolve namespaces at compile time: declare them (empty) so a
            // script can be compiled and checked without a tenant.
            crate::ops::register_namespaces(&mut engine);
            // The stdlib's settings functions need no host (see `ops/settings.rs`).
            engine.register_fn("settings_schema", crate::settings::schema::defaults_map);
            engine.register_fn("check_hook_settings", crate::ops::check_hook_settings);
        }
    }
    engine
}

#[cfg(test)]
mod tests;
