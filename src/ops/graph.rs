//! `graph::` — Entra ID through Microsoft Graph: resolve a user, and the identity writes.
//!
//! Every write function takes the `User` returned by `graph::get_user` and declares one action
//! (see `entra::actions` for the precondition and the Graph call of each).

use std::sync::Arc;

use rhai::{Array, Dynamic, EvalAltResult, Map, Module, NativeCallContext, Position};

use super::user::User;
use super::{check, ctx_pos, registration, script_error, step_map, Access, OpSpec};
use crate::entra::actions::{
    AddGroupMembership, ClearEmployeeId, DisableAccount, IntuneUnavailable, RemoveGroupMembership, RemoveLicense, RemoveManager,
    ResetPassword, RetireManagedDevice, RevokeSessions, UserRef,
};
use crate::entra::CloudAccess;
use crate::exec::host::Host;
use crate::exec::Action;

const PLAN_WRITE: &str = "reads the current state, records the step as planned or already done; sends nothing";
const PLAN_LIST: &str = "reads the list, then each step as a write: planned or already done; sends nothing";

pub static OPS: [OpSpec; 13] = [
    OpSpec {
        module: "graph",
        name: "get_user",
        params: &["user: String"],
        returns: "User",
        access: Access::Read,
        capability: "graph.read",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// Resolve a user by UPN or object id: identity, sync state, manager, groups (with their kind",
            "/// and whether Graph can change them) and licences (direct or via a group).",
            "/// Fails with code `user_not_found` when the user does not exist, `invalid_user` for a",
            "/// malformed name.",
            "///",
            "/// ```rhai",
            "/// let user = graph::get_user(\"leaver.cloud@contoso.test\");",
            "/// print(user.display_name);",
            "/// for g in user.groups { print(`${g.name}: ${g.kind}`); }",
            "/// ```",
        ],
        register: register_get_user,
    },
    OpSpec {
        module: "graph",
        name: "revoke_sessions",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.sessions",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Revoke every sign-in session and refresh token (`revokeSignInSessions`). Already done when",
            "/// the account is blocked and our last revocation came after the block.",
            "///",
            "/// ```rhai",
            "/// graph::revoke_sessions(user);",
            "/// ```",
        ],
        register: |m, h, s| register_user_write(m, h, s, |u| Box::new(RevokeSessions { user: u })),
    },
    OpSpec {
        module: "graph",
        name: "reset_password",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.password",
        idempotent: false,
        plan: PLAN_WRITE,
        doc: &[
            "/// Set a strong random password that nobody is told (never printed or journalled).",
            "/// Skipped for users synced from AD (their password is mastered on premises).",
            "///",
            "/// ```rhai",
            "/// graph::reset_password(user);",
            "/// ```",
        ],
        register: |m, h, s| register_user_write(m, h, s, |u| Box::new(ResetPassword { user: u, force_change: true })),
    },
    OpSpec {
        module: "graph",
        name: "reset_password",
        params: &["user: User", "options: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.password",
        idempotent: false,
        plan: PLAN_WRITE,
        doc: &[
            "/// `reset_password` with options: `#{force_change: bool}` (default true) sets",
            "/// forceChangePasswordNextSignIn.",
            "///",
            "/// ```rhai",
            "/// graph::reset_password(user, #{ force_change: false });",
            "/// ```",
        ],
        register: register_reset_password_with_options,
    },
    OpSpec {
        module: "graph",
        name: "disable_account",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.account",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Block sign-in (`accountEnabled = false`). For a synced user the step warns that the next",
            "/// sync re-enables the account unless it is also disabled in AD.",
            "///",
            "/// ```rhai",
            "/// graph::disable_account(user);",
            "/// ```",
        ],
        register: |m, h, s| register_user_write(m, h, s, |u| Box::new(DisableAccount { user: u })),
    },
    OpSpec {
        module: "graph",
        name: "remove_group_membership",
        params: &["user: User", "group: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.groups",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Remove the user from one group (an item of `user.groups`). Dynamic, synced and",
            "/// mail-enabled groups and distribution lists are skipped with the reason; so are groups that",
            "/// assign licences (see the options form).",
            "///",
            "/// ```rhai",
            "/// for g in user.groups { graph::remove_group_membership(user, g); }",
            "/// ```",
        ],
        register: |m, h, s| register_group_write(m, h, s, false),
    },
    OpSpec {
        module: "graph",
        name: "remove_group_membership",
        params: &["user: User", "group: Map", "options: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.groups",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// `remove_group_membership` with options: `#{license_groups: true}` also removes groups that",
            "/// assign licences (do it after the mailbox is kept).",
            "///",
            "/// ```rhai",
            "/// for g in user.groups.filter(|g| g.license_group) {",
            "///     graph::remove_group_membership(user, g, #{ license_groups: true });",
            "/// }",
            "/// ```",
        ],
        register: |m, h, s| register_group_write(m, h, s, true),
    },
    OpSpec {
        module: "graph",
        name: "add_group_membership",
        params: &["user: User", "group: String"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.groups",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Add the user to a group named by object id or display name (for example a group that a",
            "/// Conditional Access policy blocks sign-in for). The group is looked up when the script",
            "/// calls this, so a wrong name is an error in the plan; several groups with that name are",
            "/// an error naming them. Already a member: `already_done`.",
            "///",
            "/// ```rhai",
            "/// graph::add_group_membership(user, \"CA - Block sign-in\");",
            "/// ```",
        ],
        register: register_add_group,
    },
    OpSpec {
        module: "graph",
        name: "remove_license",
        params: &["user: User", "license: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.licenses",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Remove one directly assigned licence (an item of `user.licenses`). A licence assigned by",
            "/// a group is skipped with the group named. Run it after the mailbox is kept.",
            "///",
            "/// ```rhai",
            "/// for l in user.licenses { graph::remove_license(user, l); }",
            "/// ```",
        ],
        register: register_license_write,
    },
    OpSpec {
        module: "graph",
        name: "remove_manager",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.manager",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Remove the user's manager. Do it after anything that needs the manager (notification,",
            "/// mailbox access). Skipped for synced users (mastered in AD).",
            "///",
            "/// ```rhai",
            "/// graph::remove_manager(user);",
            "/// ```",
        ],
        register: |m, h, s| register_user_write(m, h, s, |u| Box::new(RemoveManager { user: u })),
    },
    OpSpec {
        module: "graph",
        name: "clear_employee_id",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "graph.employee_id",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Clear the user's employee id. Skipped for synced users (mastered in AD as employeeID).",
            "///",
            "/// ```rhai",
            "/// graph::clear_employee_id(user);",
            "/// ```",
        ],
        register: |m, h, s| register_user_write(m, h, s, |u| Box::new(ClearEmployeeId { user: u })),
    },
    OpSpec {
        module: "graph",
        name: "retire_managed_devices",
        params: &["user: User"],
        returns: "Array",
        access: Access::Write,
        capability: "graph.devices",
        idempotent: true,
        plan: PLAN_LIST,
        doc: &[
            "/// Retire every Intune managed device of the user (`POST .../managedDevices/{id}/retire`:",
            "/// company data, apps and management removed), one step per device. Already done when",
            "/// Intune shows a retire or wipe pending or issued, or the device is gone. A tenant without",
            "/// Intune (the list answers 403 or 400) gets one skipped step with the reason. Needs the",
            "/// application permissions DeviceManagementManagedDevices.Read.All and",
            "/// DeviceManagementManagedDevices.PrivilegedOperations.All.",
            "///",
            "/// ```rhai",
            "/// graph::retire_managed_devices(user);",
            "/// ```",
        ],
        register: |m, h, s| register_managed_devices(m, h, s, false),
    },
    OpSpec {
        module: "graph",
        name: "retire_managed_devices",
        params: &["user: User", "options: Map"],
        returns: "Array",
        access: Access::Write,
        capability: "graph.devices",
        idempotent: true,
        plan: PLAN_LIST,
        doc: &[
            "/// `retire_managed_devices` with options: `wipe: bool` (default false) factory-resets",
            "/// company-owned devices instead (`POST .../wipe`, enrolment and user data not kept).",
            "/// A personal device is never wiped: it is retired, and the step says so.",
            "///",
            "/// ```rhai",
            "/// graph::retire_managed_devices(user, #{ wipe: true });",
            "/// ```",
        ],
        register: |m, h, s| register_managed_devices(m, h, s, true),
    },
];

fn register_get_user(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: &str| -> Result<User, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        if let Err(reason) = crate::input::validate_user(user) {
            return Err(script_error("invalid_user", format!("invalid user '{}': {reason}", user.escape_debug()), pos));
        }
        match host.rt.block_on(crate::entra::cached_user(&host.cache, &host.providers, user)) {
            Ok(Some(u)) => Ok(User(u)),
            Ok(None) => Err(script_error("user_not_found", format!("user '{user}' was not found in tenant '{}'", host.tenant), pos)),
            Err(e) => Err(script_error("provider", format!("could not read user '{user}': {e}"), pos)),
        }
    });
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

pub(crate) fn user_ref(u: &User) -> UserRef {
    UserRef { id: u.0.id.clone(), upn: u.0.upn.clone() }
}

pub(super) fn register_user_write(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec, make: fn(UserRef) -> Box<dyn Action>) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User| {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        declare(&host, pos, make(user_ref(&user)))
    });
}

fn register_reset_password_with_options(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User, options: Map| {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let force_change = opt_bool(&options, "force_change", true, &["force_change"], pos)?;
        declare(&host, pos, Box::new(ResetPassword { user: user_ref(&user), force_change }))
    });
}

fn register_group_write(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec, with_options: bool) {
    let host = host.clone();
    let f = move |ctx: &NativeCallContext, user: User, group: Map, options: Map| {
        let pos = ctx_pos(ctx);
        check(&host, spec, pos)?;
        let allow = opt_bool(&options, "license_groups", false, &["license_groups"], pos)?;
        let group_id = map_str(&group, "id", "group", pos)?;
        let group_name = map_str(&group, "name", "group", pos).unwrap_or_else(|_| group_id.clone());
        declare(&host, pos, Box::new(RemoveGroupMembership { user: user_ref(&user), group_id, group_name, allow_license_groups: allow }))
    };
    if with_options {
        registration(spec).set_into_module(m, move |ctx: NativeCallContext, u: User, g: Map, o: Map| f(&ctx, u, g, o));
    } else {
        registration(spec).set_into_module(m, move |ctx: NativeCallContext, u: User, g: Map| f(&ctx, u, g, Map::new()));
    }
}

fn register_add_group(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User, group: &str| {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        if group.trim().is_empty() || group.len() > 256 || group.chars().any(char::is_control) {
            return Err(script_error("invalid_argument", format!("'{}' is not a group name or id", group.escape_debug()), pos));
        }
        let cloud = host.providers.cloud().map_err(|e| script_error("provider", e.to_string(), pos))?;
        let found = host
            .rt
            .block_on(cloud.find_groups(group))
            .map_err(|e| script_error("provider", format!("could not look up group '{group}': {e}"), pos))?;
        let group = match found.as_slice() {
            [g] => g.clone(),
            [] => return Err(script_error("group_not_found", format!("no group '{group}' in tenant '{}'", host.tenant), pos)),
            many => {
                let ids: Vec<String> = many.iter().map(|g| format!("{} ({})", g.name, g.id)).collect();
                return Err(script_error(
                    "ambiguous_group",
                    format!("{} groups are called '{group}': {}; name it by object id", many.len(), ids.join(", ")),
                    pos,
                ));
            }
        };
        declare(&host, pos, Box::new(AddGroupMembership { user: user_ref(&user), group }))
    });
}

fn register_managed_devices(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec, with_options: bool) {
    let host = host.clone();
    let f = move |ctx: &NativeCallContext, user: User, options: Map| -> Result<Array, Box<EvalAltResult>> {
        let pos = ctx_pos(ctx);
        check(&host, spec, pos)?;
        let wipe = opt_bool(&options, "wipe", false, &["wipe"], pos)?;
        let cloud = host.providers.cloud().map_err(|e| script_error("provider", e.to_string(), pos))?;
        let u = user_ref(&user);
        let actions: Vec<Box<dyn Action>> = match host.rt.block_on(cloud.managed_devices(&u.id)) {
            Ok(devices) => devices
                .into_iter()
                .map(|device| Box::new(RetireManagedDevice { user: u.clone(), device, wipe }) as Box<dyn Action>)
                .collect(),
            Err(e) if e.is_not_found() => vec![],
            Err(e) => match crate::entra::intune_unavailable(&e) {
                Some(reason) => {
                    tracing::info!("{}: {reason}", u.upn);
                    vec![Box::new(IntuneUnavailable { user: u.clone(), reason })]
                }
                None => {
                    return Err(script_error("provider", format!("could not list the Intune devices of '{}': {e}", u.upn), pos));
                }
            },
        };
        actions.into_iter().map(|a| declare(&host, pos, a).map(Dynamic::from_map)).collect()
    };
    if with_options {
        registration(spec).set_into_module(m, move |ctx: NativeCallContext, u: User, o: Map| f(&ctx, u, o));
    } else {
        registration(spec).set_into_module(m, move |ctx: NativeCallContext, u: User| f(&ctx, u, Map::new()));
    }
}

fn register_license_write(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User, license: Map| {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let sku_id = map_str(&license, "sku_id", "license", pos)?;
        let sku = map_str(&license, "sku", "license", pos).unwrap_or_else(|_| sku_id.clone());
        declare(&host, pos, Box::new(RemoveLicense { user: user_ref(&user), sku_id, sku }))
    });
}

pub(super) fn map_str(m: &Map, key: &str, what: &str, pos: Position) -> Result<String, Box<EvalAltResult>> {
    m.get(key)
        .and_then(|v| v.clone().into_string().ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| script_error("invalid_argument", format!("the {what} map has no '{key}' (pass an item of user.{what}s)"), pos))
}

/// Read a boolean option; unknown keys are errors so a typo cannot silently change behaviour.
pub(crate) fn opt_bool(m: &Map, key: &str, default: bool, allowed: &[&str], pos: Position) -> Result<bool, Box<EvalAltResult>> {
    if let Some(unknown) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(script_error("invalid_argument", format!("unknown option '{unknown}' (allowed: {})", allowed.join(", ")), pos));
    }
    match m.get(key) {
        None => Ok(default),
        Some(v) => v.as_bool().map_err(|t| script_error("invalid_argument", format!("option '{key}' must be true or false, not {t}"), pos)),
    }
}
