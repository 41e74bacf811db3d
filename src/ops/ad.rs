//! `ad::` — on-premises Active Directory over LDAP: resolve a user, and the AD writes.
//!
//! Every write function takes the `AdUser` returned by `ad::get_user` / `ad::find_user` and
//! declares one action (see `ad::actions` for the precondition and the LDAP operation of each).
//! Scripts never pass a filter or a DN: a user is named by UPN, sAMAccountName or mail and the
//! provider escapes it; a group is an item of `user.groups`, which the directory returned.

use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, Map, Module, NativeCallContext, Position};

use super::ad_user::{ad_user_ref, AdUserHandle};
use super::register::{write, Built, Register};
use super::{check, ctx_pos, registration, script_error, Access, OpSpec};
use crate::ad::actions::{
    AddGroupMembership, ClearEmployeeId, DisableAccount, HideFromGal, MoveToDisabledOu, RemoveGroupMembership, RemoveManager,
    ResetPassword, SetRemoteSharedMailbox, TriggerSync,
};
use crate::ad::AdAccess;
use crate::exec::host::Host;

const PLAN_WRITE: &str = "reads the current state, records the step as planned or already done; sends nothing";

pub static OPS: [OpSpec; 13] = [
    OpSpec {
        module: "ad",
        name: "get_user",
        params: &["user: String"],
        returns: "AdUser",
        access: Access::Read,
        capability: "ad.read",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// Resolve an on-premises AD user by UPN, sAMAccountName or mail (the name is escaped;",
            "/// filters and DNs cannot be passed in): DN, OU, userAccountControl, manager, employeeID,",
            "/// groups (memberOf, plus the primary group flagged `primary`) and the Exchange attributes",
            "/// when the schema has them (`user.exchange`, else `()`).",
            "/// Fails with code `user_not_found` when no AD user matches, `invalid_user` for a malformed name.",
            "///",
            "/// ```rhai",
            "/// let aduser = ad::get_user(\"leaver.synced@contoso.test\");",
            "/// print(`${aduser.dn}: enabled ${aduser.enabled}, primary group ${aduser.primary_group}`);",
            "/// ```",
        ],
        register: Register::Custom(|m, h, s| register_lookup(m, h, s, true)),
    },
    OpSpec {
        module: "ad",
        name: "find_user",
        params: &["user: String"],
        returns: "AdUser or ()",
        access: Access::Read,
        capability: "ad.read",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// As `ad::get_user`, but returns `()` when no AD user matches (for a hybrid client where",
            "/// some users exist in one directory only).",
            "///",
            "/// ```rhai",
            "/// let aduser = ad::find_user(\"ssynced\");",
            "/// if aduser == () { log(\"no AD account\"); }",
            "/// ```",
        ],
        register: Register::Custom(|m, h, s| register_lookup(m, h, s, false)),
    },
    OpSpec {
        module: "ad",
        name: "configured",
        params: &[],
        returns: "bool",
        access: Access::Read,
        capability: "ad.read",
        idempotent: true,
        plan: "answers from the configuration; sends nothing",
        doc: &[
            "/// Whether this tenant has an on-premises AD configured (`[tenants.<name>.ad]`).",
            "///",
            "/// ```rhai",
            "/// if !ad::configured() { warn(\"no AD configured: AD steps are not declared\"); }",
            "/// ```",
        ],
        register: Register::Custom(register_configured),
    },
    OpSpec {
        module: "ad",
        name: "disable_account",
        params: &["user: AdUser"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.account",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Disable the AD account: set ACCOUNTDISABLE (0x2) in userAccountControl and keep every",
            "/// other flag. For a synced user this is what makes the block permanent.",
            "///",
            "/// ```rhai",
            "/// ad::disable_account(aduser);",
            "/// ```",
        ],
        register: Register::AdUserWrite(|u| Box::new(DisableAccount { user: u })),
    },
    OpSpec {
        module: "ad",
        name: "reset_password",
        params: &["user: AdUser"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.password",
        idempotent: false,
        plan: PLAN_WRITE,
        doc: &[
            "/// Set a strong random password (unicodePwd) that nobody is told: never printed or",
            "/// journalled. Fails without sending anything when the AD connection is not encrypted.",
            "///",
            "/// ```rhai",
            "/// ad::reset_password(aduser);",
            "/// ```",
        ],
        register: Register::AdUserWrite(|u| Box::new(ResetPassword { user: u })),
    },
    OpSpec {
        module: "ad",
        name: "move_to_disabled_ou",
        params: &["user: AdUser"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.move",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Move the user to the client's disabled-users OU (`disabled_ou`; journal action `move_ou`).",
            "/// The plan warns when that OU is outside the configured sync scope (the cloud user and its",
            "/// mailbox would be deleted). Declare it last among the AD changes.",
            "///",
            "/// ```rhai",
            "/// ad::move_to_disabled_ou(aduser);",
            "/// ```",
        ],
        register: Register::AdUserWrite(|u| Box::new(MoveToDisabledOu { user: u })),
    },
    OpSpec {
        module: "ad",
        name: "remove_group_membership",
        params: &["user: AdUser", "group: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.groups",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Remove the user from one AD group (an item of `aduser.groups`) by changing the group's",
            "/// `member`. The primary group is kept and reported as skipped.",
            "///",
            "/// ```rhai",
            "/// for g in aduser.groups { ad::remove_group_membership(aduser, g); }",
            "/// ```",
        ],
        register: Register::AdUserItemWrite(remove_group),
    },
    OpSpec {
        module: "ad",
        name: "add_group_membership",
        params: &["user: AdUser", "group: String"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.groups",
        idempotent: true,
        plan: "finds the group (exactly one, by DN, sAMAccountName or cn), reads the membership; records the step as planned or already done; sends nothing",
        doc: &[
            "/// Add the user to an AD group named by DN, sAMAccountName or cn (exactly one group must",
            "/// match, else an error): for example a group that blocks sign-in or keeps a mailbox on",
            "/// hold. Groups AD guards (adminCount=1: Domain Admins and the like) are refused. Restore",
            "/// takes the user out again.",
            "///",
            "/// ```rhai",
            "/// ad::add_group_membership(aduser, \"Leavers - Deny Logon\");",
            "/// ```",
        ],
        register: Register::Custom(register_add_group),
    },
    OpSpec {
        module: "ad",
        name: "clear_employee_id",
        params: &["user: AdUser"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.attributes",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Clear employeeID (and employeeNumber when set) in AD.",
            "///",
            "/// ```rhai",
            "/// ad::clear_employee_id(aduser);",
            "/// ```",
        ],
        register: Register::AdUserWrite(|u| Box::new(ClearEmployeeId { user: u })),
    },
    OpSpec {
        module: "ad",
        name: "remove_manager",
        params: &["user: AdUser"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.attributes",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Remove the user's manager in AD. Do it after anything that needs the manager.",
            "///",
            "/// ```rhai",
            "/// ad::remove_manager(aduser);",
            "/// ```",
        ],
        register: Register::AdUserWrite(|u| Box::new(RemoveManager { user: u })),
    },
    OpSpec {
        module: "ad",
        name: "hide_from_gal",
        params: &["user: AdUser"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.exchange",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Hide a synced mailbox from the address lists (msExchHideFromAddressLists = TRUE).",
            "/// Skipped as \"not available\" when the schema has no Exchange attributes.",
            "///",
            "/// ```rhai",
            "/// ad::hide_from_gal(aduser);",
            "/// ```",
        ],
        register: Register::AdUserWrite(|u| Box::new(HideFromGal { user: u })),
    },
    OpSpec {
        module: "ad",
        name: "set_remote_shared_mailbox",
        params: &["user: AdUser"],
        returns: "Map",
        access: Access::Write,
        capability: "ad.exchange",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Mark a synced remote mailbox as shared on premises (msExchRemoteRecipientType 100,",
            "/// msExchRecipientTypeDetails RemoteSharedMailbox), so the next sync keeps it shared.",
            "/// Skipped as \"not available\" without the Exchange schema.",
            "///",
            "/// ```rhai",
            "/// ad::set_remote_shared_mailbox(aduser);",
            "/// ```",
        ],
        register: Register::AdUserWrite(|u| Box::new(SetRemoteSharedMailbox { user: u })),
    },
    OpSpec {
        module: "ad",
        name: "trigger_sync",
        params: &[],
        returns: "Map",
        access: Access::Write,
        capability: "ad.sync",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// After this run's AD changes, start a directory sync with the client's `sync_command`;",
            "/// without one, records that the cloud follows at the next scheduled sync. Nothing happens",
            "/// when the run changed nothing in AD. Declare it in a phase after the AD changes.",
            "///",
            "/// ```rhai",
            "/// phase(\"sync\", || { ad::trigger_sync(); });",
            "/// ```",
        ],
        register: Register::Custom(register_trigger_sync),
    },
];

fn register_lookup(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec, required: bool) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: &str| -> Result<Dynamic, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        if let Err(reason) = crate::input::validate_ad_user(user) {
            return Err(script_error("invalid_user", format!("invalid user '{}': {reason}", user.escape_debug()), pos));
        }
        let ad = host.providers.ad().map_err(|e| script_error("provider", e.to_string(), pos))?;
        // The run's subject is the account the run's guard resolved (for a synced user, by its
        // immutable id), not whatever else answers to the same name.
        let found = match host.pinned_subject("ad").filter(|_| user.eq_ignore_ascii_case(&host.user)) {
            Some(guid) => host.rt.block_on(ad.user_by_guid(&guid)),
            None => host.rt.block_on(ad.find_user(user)),
        };
        match found {
            Ok(Some(u)) => {
                refuse_never(&host, &u, pos)?;
                Ok(Dynamic::from(AdUserHandle(Arc::new(u))))
            }
            Ok(None) if !required => Ok(Dynamic::UNIT),
            Ok(None) => Err(script_error(
                "user_not_found",
                format!("user '{user}' was not found in the on-premises AD of tenant '{}'", host.tenant),
                pos,
            )),
            Err(e) => Err(script_error("provider", format!("could not read AD user '{user}': {e}"), pos)),
        }
    });
}

/// No handle to an account that must never be offboarded (built-ins, the bind account, computers
/// and managed service accounts), whatever name the script looked up: without a handle, no AD
/// write can reach it. The run's guard has already refused such a subject; this covers any other
/// name a script resolves, and the REPL.
fn refuse_never(host: &Host, u: &crate::ad::AdUser, pos: Position) -> Result<(), Box<EvalAltResult>> {
    let ad = host.providers.ad().map_err(|e| script_error("provider", e.to_string(), pos))?;
    let bind =
        host.rt.block_on(ad.bind_account()).map_err(|e| script_error("provider", format!("could not read the bind account: {e}"), pos))?;
    let never: Vec<String> = crate::ad::protect::findings(u, &[], bind.as_deref(), &[])
        .into_iter()
        .filter(|f| f.severity == crate::ad::Severity::Never)
        .map(|f| f.reason)
        .collect();
    if never.is_empty() {
        return Ok(());
    }
    Err(script_error("protected", format!("refused: {} is a protected account: {}", u.display(), never.join("; ")), pos))
}

fn register_configured(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext| -> Result<bool, Box<EvalAltResult>> {
        check(&host, spec, ctx_pos(&ctx))?;
        Ok(host.has_ad())
    });
}

fn group_field(m: &Map, key: &str, pos: Position) -> Result<Dynamic, Box<EvalAltResult>> {
    m.get(key)
        .cloned()
        .ok_or_else(|| script_error("invalid_argument", format!("the group map has no '{key}' (pass an item of aduser.groups)"), pos))
}

/// `ad::remove_group_membership(aduser, group)`: only a group the directory returned for this user.
fn remove_group(user: &AdUserHandle, group: &Map, pos: Position) -> Built {
    let primary = group_field(group, "primary", pos)?.as_bool().unwrap_or(false);
    let dn = group_field(group, "dn", pos)?.into_string().unwrap_or_default();
    // Only a DN the directory returned for this user: a script cannot aim at another object.
    let known = user.0.groups.iter().any(|g| g.primary == primary && crate::ad::model::dn_eq(&g.dn, &dn));
    if !known {
        return Err(script_error(
            "invalid_argument",
            format!("'{}' is not one of {}'s groups (pass an item of aduser.groups)", dn.escape_debug(), user.0.display()),
            pos,
        ));
    }
    let name = group_field(group, "name", pos)?.into_string().unwrap_or_else(|_| dn.clone());
    Ok(Box::new(RemoveGroupMembership { user: ad_user_ref(user), group_dn: dn, group_name: name, primary }))
}

/// `ad::trigger_sync()`: takes no user; the sync is for the run's subject.
fn register_trigger_sync(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext| {
        write(&host, spec, &ctx, |_| Ok(Box::new(TriggerSync { subject: host.user.clone() })))
    });
}

fn register_add_group(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, u: AdUserHandle, group: &str| {
        write(&host, spec, &ctx, |pos| add_group(&host, &u, group, pos))
    });
}

/// `ad::add_group_membership(aduser, group)`: one group, found by the directory, never a guarded one.
fn add_group(host: &Host, user: &AdUserHandle, group: &str, pos: Position) -> Built {
    let ad = host.providers.ad().cloned().map_err(|e| script_error("provider", e.to_string(), pos))?;
    let v = ldap3::ldap_escape(group.trim());
    let filter = format!("(&(objectClass=group)(|(distinguishedName={v})(sAMAccountName={v})(cn={v})))");
    let attrs: Vec<String> = std::iter::once("cn").chain(crate::ad::GUARD_ATTRS).map(String::from).collect();
    let found = host
        .rt
        .block_on(ad.raw_search("", &filter, &attrs))
        .map_err(|e| script_error("provider", format!("finding the AD group '{group}': {e}"), pos))?;
    let g = match found.as_slice() {
        [one] => one,
        [] => return Err(script_error("group_not_found", format!("no AD group is named '{group}' (DN, sAMAccountName or cn)"), pos)),
        many => {
            let dns: Vec<&str> = many.iter().map(|e| e.dn.as_str()).collect();
            return Err(script_error(
                "ambiguous_group",
                format!("'{group}' names {} AD groups ({}): pass the DN", many.len(), dns.join("; ")),
                pos,
            ));
        }
    };
    if g.guarded() {
        return Err(script_error(
            "protected_group",
            format!("{} is guarded by AD (adminCount=1 or a system group): offboard-host never adds anyone to it", g.dn),
            pos,
        ));
    }
    let name = g.attrs.get("cn").and_then(|v| v.first()).map(String::as_str).unwrap_or(group).to_string();
    Ok(Box::new(AddGroupMembership { user: ad_user_ref(user), group_dn: g.dn.clone(), name }))
}
