//! Calling a script's closures from an action, and the one place a generic write may run.
//!
//! The executor runs a phase's actions as futures on the engine's thread (inside `block_on`).
//! A script closure cannot run there: the generic calls it makes block on the runtime
//! themselves. So each observe or apply closure runs on a blocking thread of its own, with the
//! engine shared (`rhai` is built with `sync`), and a thread-local says which callback is
//! running: a generic write (`graph::send`, a non-`Get-` `exo::invoke`, `ad::modify`) is allowed
//! only inside an action's apply function. Plan mode never calls apply, so whatever a script does,
//! a plan sends no write.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, FuncArgs, Module, NativeCallContext, Position, AST};

use crate::action_error::ActionError;
use crate::exec::host::Host;
use crate::ops::script_error;

/// The engine, for calling closures after the script has moved on.
pub struct ScriptRuntime {
    /// Weak: the engine's registered functions hold the host, which holds this.
    engine: Weak<Engine>,
}

impl ScriptRuntime {
    /// Make the run's engine reachable from its actions.
    pub fn attach(host: &Host, engine: &Arc<Engine>) {
        host.set_script_runtime(Arc::new(ScriptRuntime { engine: Arc::downgrade(engine) }));
    }

    pub fn of(host: &Host) -> Option<Arc<ScriptRuntime>> {
        host.script_runtime()?.downcast::<ScriptRuntime>().ok()
    }

    fn call(&self, lib: &AST, f: &FnPtr, args: impl FuncArgs) -> Result<Dynamic, Box<EvalAltResult>> {
        let engine = self.engine.upgrade().ok_or_else(|| script_error("action", "the run has ended".into(), Position::NONE))?;
        f.call::<Dynamic>(&engine, lib, args)
    }
}

/// The functions visible where `action(...)` was called: the script's, and those of the module
/// it runs in (a closure defined in `stdlib/steps.rhai` is a function of that module, with its
/// private helpers), so the closure can be called after the call has returned.
pub fn functions_here(ctx: &NativeCallContext) -> AST {
    let mut lib = Module::new();
    for ns in ctx.iter_namespaces() {
        lib.merge(ns);
    }
    AST::new_from_module(lib)
}

/// Which of an action's functions is running on this thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    Observe,
    Apply { idempotent: bool },
}

struct Running {
    callback: Callback,
    /// The provider error behind the script error a generic call raised, kept typed so the
    /// executor can tell an unclear write (re-observe) from a refused one.
    error: Option<ActionError>,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

/// Call `f` as `callback` of an action, on this (blocking) thread. Returns its result and the
/// provider error a generic call recorded, if any.
pub fn run_callback(
    runtime: &ScriptRuntime,
    lib: &AST,
    callback: Callback,
    f: &FnPtr,
    args: impl FuncArgs,
) -> (Result<Dynamic, Box<EvalAltResult>>, Option<ActionError>) {
    RUNNING.with(|r| *r.borrow_mut() = Some(Running { callback, error: None }));
    let out = runtime.call(lib, f, args);
    let error = RUNNING.with(|r| r.borrow_mut().take()).and_then(|r| r.error);
    (out, error)
}

/// A generic write may run only inside an action's apply function; returns whether that action
/// said its write may be re-sent after an unclear failure.
pub fn write_allowed(what: &str, pos: Position) -> Result<bool, Box<EvalAltResult>> {
    match RUNNING.with(|r| r.borrow().as_ref().map(|r| r.callback)) {
        Some(Callback::Apply { idempotent }) => Ok(idempotent),
        Some(Callback::Observe) => Err(script_error(
            "write_outside_apply",
            format!("{what} writes, and an observe function only reads: move it into the action's apply function"),
            pos,
        )),
        None => Err(script_error(
            "write_outside_apply",
            format!("{what} writes: call it inside an action's apply function (`action(name, #{{observe, apply}})`), so it is planned, journalled and never sent by a plan"),
            pos,
        )),
    }
}

/// `action` and `phase` declare steps: not from inside another step's functions.
pub fn outside_callbacks(what: &str, pos: Position) -> Result<(), Box<EvalAltResult>> {
    match RUNNING.with(|r| r.borrow().is_some()) {
        true => Err(script_error("nested_step", format!("{what} cannot be called from an action's observe or apply function"), pos)),
        false => Ok(()),
    }
}

/// Keep the provider error behind the script error about to be raised.
pub fn record_error(e: ActionError) {
    RUNNING.with(|r| {
        if let Some(r) = r.borrow_mut().as_mut() {
            r.error = Some(e);
        }
    });
}

/// A provider's failure: kept typed for the executor, raised to the script as `provider`.
pub fn provider_failed(e: impl Into<crate::action_error::ActionError>, what: String, pos: Position) -> Box<EvalAltResult> {
    let e = e.into();
    let msg = format!("{what}: {e}");
    record_error(e);
    script_error("provider", msg, pos)
}
