//! `graph::` — Entra ID through Microsoft Graph: resolve a user, and the identity writes.
//!
//! Every write function takes the `User` returned by `graph::get_user` and declares one action
//! (see `entra::actions` for the precondition and the Graph call of each).

use std::sync::Arc;

use rhai::{EvalAltResult, Map, Module, NativeCallContext, Position};

use super::args::{map_str, opt_bool};
use super::register::{user_ref, Built, BuiltAll, Register};
use super::user::User;
use super::{check, ctx_pos, registration, script_error, Access, OpSpec};
use crate::entra::actions::{
    AddGroupMembership, ClearEmployeeId, DisableAccount, IntuneUnavailable, RemoveGroupMembership, RemoveLicense, RemoveManager,
    ResetPassword, RetireManagedDevice, RevokeSessions,
};
use crate::entra::{CloudAccess, CloudDirectory, Group};
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
        register: Register::Custom(register_get_user),
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
        register: Register::UserWrite(|u| Box::new(RevokeSessions { user: u })),
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
        register: Register::UserWriteWithOptions(reset_password),
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
        register: Register::UserWriteWithOptions(reset_password),
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
        register: Register::UserWrite(|u| Box::new(DisableAccount { user: u })),
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
        register: Register::UserItemWrite(remove_group),
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
        register: Register::UserItemWrite(remove_group),
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
        register: Register::UserNameWrite(add_group),
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
            "/// a group is `needs_action`, with the group named. A licence that carries the mailbox",
            "/// (an `EXCHANGE_S_*` service plan) is kept as `needs_action` while the mailbox needs one as",
            "/// a shared mailbox: 50 GB or more, an online archive, or a hold (read from Exchange Online).",
            "/// Run it after the mailbox is kept.",
            "///",
            "/// ```rhai",
            "/// for l in user.licenses { graph::remove_license(user, l); }",
            "/// ```",
        ],
        register: Register::UserItemWrite(remove_license),
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
        register: Register::UserWrite(|u| Box::new(RemoveManager { user: u })),
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
        register: Register::UserWrite(|u| Box::new(ClearEmployeeId { user: u })),
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
        register: Register::UserListWrite(retire_devices),
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
        register: Register::UserListWrite(retire_devices),
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

/// `reset_password(user[, options])`: without options the new password must be changed at sign-in.
fn reset_password(user: &User, options: &Map, pos: Position) -> Built {
    let force_change = opt_bool(options, "force_change", true, &["force_change"], pos)?;
    Ok(Box::new(ResetPassword { user: user_ref(user), force_change }))
}

/// `remove_group_membership(user, group[, options])`: licence groups only when the options say so.
fn remove_group(user: &User, group: &Map, options: &Map, pos: Position) -> Built {
    let allow = opt_bool(options, "license_groups", false, &["license_groups"], pos)?;
    let group_id = map_str(group, "id", "group", pos)?;
    let group_name = map_str(group, "name", "group", pos).unwrap_or_else(|_| group_id.clone());
    Ok(Box::new(RemoveGroupMembership { user: user_ref(user), group_id, group_name, allow_license_groups: allow }))
}

/// `add_group_membership(user, group)`: the group is resolved now, so a wrong name fails the plan.
fn add_group(host: &Host, user: &User, group: &str, _options: &Map, pos: Position) -> Built {
    let cloud = host.providers.cloud().map_err(|e| script_error("provider", e.to_string(), pos))?;
    let group = resolve_group(host, cloud.as_ref(), group, pos)?;
    Ok(Box::new(AddGroupMembership { user: user_ref(user), group }))
}

/// One group named by object id or display name: none or several are errors naming them.
pub(super) fn resolve_group(host: &Host, cloud: &dyn CloudDirectory, group: &str, pos: Position) -> Result<Group, Box<EvalAltResult>> {
    if group.trim().is_empty() || group.len() > 256 || group.chars().any(char::is_control) {
        return Err(script_error("invalid_argument", format!("'{}' is not a group name or id", group.escape_debug()), pos));
    }
    let found = host
        .rt
        .block_on(cloud.find_groups(group))
        .map_err(|e| script_error("provider", format!("could not look up group '{group}': {e}"), pos))?;
    match found.as_slice() {
        [g] => Ok(g.clone()),
        [] => Err(script_error("group_not_found", format!("no group '{group}' in tenant '{}'", host.tenant), pos)),
        many => {
            let ids: Vec<String> = many.iter().map(|g| format!("{} ({})", g.name, g.id)).collect();
            Err(script_error(
                "ambiguous_group",
                format!("{} groups are called '{group}': {}; name it by object id", many.len(), ids.join(", ")),
                pos,
            ))
        }
    }
}

/// `retire_managed_devices(user[, options])`: one step per Intune device, or one skipped step
/// when the tenant has no Intune.
fn retire_devices(host: &Host, user: &User, options: &Map, pos: Position) -> BuiltAll {
    let wipe = opt_bool(options, "wipe", false, &["wipe"], pos)?;
    let cloud = host.providers.cloud().map_err(|e| script_error("provider", e.to_string(), pos))?;
    let u = user_ref(user);
    Ok(match host.rt.block_on(cloud.managed_devices(&u.id)) {
        Ok(devices) => {
            devices.into_iter().map(|device| Box::new(RetireManagedDevice { user: u.clone(), device, wipe }) as Box<dyn Action>).collect()
        }
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
    })
}

/// `remove_license(user, license)`: an item of `user.licenses`.
fn remove_license(user: &User, license: &Map, _options: &Map, pos: Position) -> Built {
    let sku_id = map_str(license, "sku_id", "license", pos)?;
    let sku = map_str(license, "sku", "license", pos).unwrap_or_else(|_| sku_id.clone());
    Ok(Box::new(RemoveLicense { user: user_ref(user), sku_id, sku }))
}
