//! How a table entry becomes a script function: one registration per kind of op.
//!
//! Most writes differ only in what they build from their arguments, so an [`OpSpec`] names the
//! kind ([`Register`]) and the builder, and [`register`] does what every write does the same way:
//! the capability check first, then the built action handed to the host with [`declare`] (the
//! Deno op pattern). A spec whose parameters include `options: Map` gets that parameter; the same
//! kind without it passes an empty map, so the short form and the options form of a function are
//! two table entries (two signatures in the docs) over one builder.

use std::sync::Arc;

use rhai::{Array, Dynamic, EvalAltResult, Map, Module, NativeCallContext, Position};

use super::ad_user::{ad_user_ref, AdUserHandle};
use super::user::User;
use super::{check, ctx_pos, registration, script_error, step_map, OpSpec};
use crate::ad::actions::AdUserRef;
use crate::entra::actions::UserRef;
use crate::exec::host::Host;
use crate::exec::Action;

/// What a builder returns: the action, or the script error for a bad argument.
pub type Built = Result<Box<dyn Action>, Box<EvalAltResult>>;
/// What a list builder returns: one action per item of a list read when the script calls it.
pub type BuiltAll = Result<Vec<Box<dyn Action>>, Box<EvalAltResult>>;

/// What kind of function a table entry is, and how to build its action.
pub enum Register {
    /// `(user: User)`: one action that needs only the user's identity.
    UserWrite(fn(UserRef) -> Box<dyn Action>),
    /// `(user: AdUser)`: one action that needs only the AD user's identity.
    AdUserWrite(fn(AdUserRef) -> Box<dyn Action>),
    /// `(user: User[, options: Map])`: one action built from the resolved user and the options.
    UserWriteWithOptions(fn(&User, &Map, Position) -> Built),
    /// `(user: User, item: Map[, options: Map])`: one action on an item the directory returned
    /// (a group of `user.groups`, a licence of `user.licenses`).
    UserItemWrite(fn(&User, &Map, &Map, Position) -> Built),
    /// `(user: User, name: String[, options: Map])`: one action on something the script names
    /// (a group, a trustee, an address); the host is there to look it up.
    UserNameWrite(fn(&Host, &User, &str, &Map, Position) -> Built),
    /// `(user: AdUser, item: Map)`: one action on an item of `aduser.groups`.
    AdUserItemWrite(fn(&AdUserHandle, &Map, Position) -> Built),
    /// `(user: User[, options: Map]) -> Array`: reads a list, declares one action per item.
    UserListWrite(fn(&Host, &User, &Map, Position) -> BuiltAll),
    /// A one-off function (a read, a control function) that registers itself.
    Custom(fn(&mut Module, &Arc<Host>, &'static OpSpec)),
}

/// Whether the spec's signature takes an options map (the long form of a function).
pub(crate) fn has_options(spec: &OpSpec) -> bool {
    spec.params.contains(&"options: Map")
}

/// Register `spec` into `m` as its kind says, bound to `host`.
pub(super) fn register(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    let r = registration(spec);
    let options = has_options(spec);
    match spec.register {
        Register::Custom(f) => f(m, &host, spec),
        Register::UserWrite(make) => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User| write(&host, spec, &ctx, |_| Ok(make(user_ref(&u)))));
        }
        Register::AdUserWrite(make) => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: AdUserHandle| write(&host, spec, &ctx, |_| Ok(make(ad_user_ref(&u)))));
        }
        Register::UserWriteWithOptions(make) if options => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User, o: Map| write(&host, spec, &ctx, |pos| make(&u, &o, pos)));
        }
        Register::UserWriteWithOptions(make) => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User| write(&host, spec, &ctx, |pos| make(&u, &Map::new(), pos)));
        }
        Register::UserItemWrite(make) if options => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User, item: Map, o: Map| {
                write(&host, spec, &ctx, |pos| make(&u, &item, &o, pos))
            });
        }
        Register::UserItemWrite(make) => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User, item: Map| {
                write(&host, spec, &ctx, |pos| make(&u, &item, &Map::new(), pos))
            });
        }
        Register::UserNameWrite(make) if options => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User, name: &str, o: Map| {
                write(&host, spec, &ctx, |pos| make(&host, &u, name, &o, pos))
            });
        }
        Register::UserNameWrite(make) => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User, name: &str| {
                write(&host, spec, &ctx, |pos| make(&host, &u, name, &Map::new(), pos))
            });
        }
        Register::AdUserItemWrite(make) => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: AdUserHandle, item: Map| {
                write(&host, spec, &ctx, |pos| make(&u, &item, pos))
            });
        }
        Register::UserListWrite(make) if options => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User, o: Map| {
                write_all(&host, spec, &ctx, |pos| make(&host, &u, &o, pos))
            });
        }
        Register::UserListWrite(make) => {
            r.set_into_module(m, move |ctx: NativeCallContext, u: User| {
                write_all(&host, spec, &ctx, |pos| make(&host, &u, &Map::new(), pos))
            });
        }
    }
}

/// What every write does: check the capability first, then build the action and declare it.
pub(super) fn write(
    host: &Host,
    spec: &OpSpec,
    ctx: &NativeCallContext,
    build: impl FnOnce(Position) -> Built,
) -> Result<Map, Box<EvalAltResult>> {
    checked(host, spec, ctx, |pos| declare(host, pos, build(pos)?))
}

/// [`write`] for a list: one step map per action, in order.
fn write_all(
    host: &Host,
    spec: &OpSpec,
    ctx: &NativeCallContext,
    build: impl FnOnce(Position) -> BuiltAll,
) -> Result<Array, Box<EvalAltResult>> {
    checked(host, spec, ctx, |pos| build(pos)?.into_iter().map(|a| declare(host, pos, a).map(Dynamic::from_map)).collect())
}

/// Run `then` only when the tenant allows `spec` (a denied write reads nothing either).
fn checked<T>(
    host: &Host,
    spec: &OpSpec,
    ctx: &NativeCallContext,
    then: impl FnOnce(Position) -> Result<T, Box<EvalAltResult>>,
) -> Result<T, Box<EvalAltResult>> {
    let pos = ctx_pos(ctx);
    check(host, spec, pos)?;
    then(pos)
}

/// Hand an action to the host: pending inside a phase, run at once outside.
pub(crate) fn declare(host: &Host, pos: Position, action: Box<dyn Action>) -> Result<Map, Box<EvalAltResult>> {
    let target = action.target().display;
    let name = action.action();
    match host.declare(action) {
        Ok((_, Some(report))) => Ok(step_map(&report)),
        Ok((id, None)) => {
            let mut m = Map::new();
            m.insert("id".into(), id.into());
            m.insert("action".into(), name.into());
            m.insert("target".into(), target.into());
            m.insert("status".into(), "pending".into());
            Ok(m)
        }
        Err(msg) => Err(script_error("journal", msg, pos)),
    }
}

/// The identity of the cloud user that actions carry (the object id the directory returned).
pub(crate) fn user_ref(u: &User) -> UserRef {
    UserRef { id: u.0.id.clone(), upn: u.0.upn.clone() }
}
