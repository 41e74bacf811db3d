//! The console's look-ups before an offboarding: search users, a group's members, a user's
//! devices (Intune and Exchange ActiveSync). Reads only; each returns an array of maps that the
//! REPL prints as a table.
//!
//! Lists are capped (`max`, 100 unless given): a tenant of 40,000 users must not scroll a
//! terminal for minutes. When the cap cut the list, a message says so, with the total when Graph
//! gave one.

use std::sync::Arc;

use rhai::{Array, Dynamic, EvalAltResult, Map, Module, NativeCallContext, Position};

use super::args::{check_keys, opt_string};
use super::register::Register;
use super::user::User;
use super::{check, ctx_pos, registration, script_error, Access, OpSpec};
use crate::entra::user_query::is_guid;
use crate::entra::{CloudAccess, CloudDirectory, UserList, UserQuery};
use crate::exchange::ExchangeAccess;
use crate::exec::host::Host;

/// Users listed when the script does not say `max`.
pub const DEFAULT_MAX: usize = 100;
/// The most a list may ask for.
const MAX_MAX: usize = 5000;
const PLAN_READ: &str = "reads live, as in apply";

pub static OPS: [OpSpec; 4] = [
    OpSpec {
        module: "graph",
        name: "list_users",
        params: &["filter: Map"],
        returns: "Array",
        access: Access::Read,
        capability: "graph.read",
        idempotent: true,
        plan: PLAN_READ,
        doc: &[
            "/// Search the tenant's users. Every filter given must match: `department` (exact, any case),",
            "/// `name` (a prefix of the display name, given name, surname or UPN), `disabled` (true: only",
            "/// blocked accounts; false: only enabled ones), `license` (a SKU part number such as",
            "/// `ENTERPRISEPACK`, or its skuId). `max` (default 100, at most 5000) caps the list; a message",
            "/// says when it cut, and how many matched. Each item: `id`, `upn`, `display_name`, `mail`,",
            "/// `department`, `job_title`, `account_enabled`, `licenses` (part numbers). Sorted by name.",
            "///",
            "/// ```rhai",
            "/// let leavers = graph::list_users(#{ department: \"Sales\", disabled: true });",
            "/// for u in leavers { print(u.upn); }",
            "/// ```",
        ],
        register: Register::Custom(register_list_users),
    },
    OpSpec {
        module: "graph",
        name: "group_members",
        params: &["group: String"],
        returns: "Array",
        access: Access::Read,
        capability: "graph.read",
        idempotent: true,
        plan: PLAN_READ,
        doc: &[
            "/// The users in a group named by object id or display name (several groups with that name",
            "/// are an error naming them). Members that are not users (devices, contacts, groups) are",
            "/// not listed. At most 100 (see `list_users` for the items and the message when cut).",
            "///",
            "/// ```rhai",
            "/// for m in graph::group_members(\"Sales Team\") { print(m.upn); }",
            "/// ```",
        ],
        register: Register::Custom(register_group_members),
    },
    OpSpec {
        module: "graph",
        name: "managed_devices",
        params: &["user: User"],
        returns: "Array",
        access: Access::Read,
        capability: "graph.read",
        idempotent: true,
        plan: PLAN_READ,
        doc: &[
            "/// The user's Intune managed devices: `id`, `device_name`, `operating_system`, `os_version`,",
            "/// `owner` (company or personal), `management_state`, `compliance_state`, `last_sync`.",
            "/// Fails with code `intune_unavailable` when the tenant has no Intune.",
            "///",
            "/// ```rhai",
            "/// let devices = graph::managed_devices(graph::get_user(\"leaver.cloud@contoso.test\"));",
            "/// print(`${devices.len()} Intune device(s)`);",
            "/// ```",
        ],
        register: Register::Custom(register_managed_devices),
    },
    OpSpec {
        module: "exo",
        name: "mobile_devices",
        params: &["user: User"],
        returns: "Array",
        access: Access::Read,
        capability: "exo.read",
        idempotent: true,
        plan: PLAN_READ,
        doc: &[
            "/// The phones and tablets syncing the user's mailbox over Exchange ActiveSync",
            "/// (`Get-MobileDevice -Mailbox`): `identity`, `device_id`, `friendly_name`, `model`, `os`.",
            "/// Empty when the user has no mailbox.",
            "///",
            "/// ```rhai",
            "/// for d in exo::mobile_devices(user) { print(`${d.friendly_name} (${d.os})`); }",
            "/// ```",
        ],
        register: Register::Custom(register_mobile_devices),
    },
];

fn cloud(host: &Host, pos: Position) -> Result<Arc<dyn CloudDirectory>, Box<EvalAltResult>> {
    host.providers.cloud().cloned().map_err(|e| script_error("provider", e.to_string(), pos))
}

/// A filter value: a non-empty string of at most 256 characters without control characters.
fn filter_text(filter: &Map, key: &str, pos: Position) -> Result<Option<String>, Box<EvalAltResult>> {
    let Some(v) = opt_string(filter, key, pos)? else { return Ok(None) };
    if v.trim().is_empty() || v.chars().count() > 256 || v.chars().any(char::is_control) {
        return Err(script_error("invalid_argument", format!("filter '{key}': '{}' is not a value to search for", v.escape_debug()), pos));
    }
    Ok(Some(v))
}

/// `max`: a positive integer up to [`MAX_MAX`].
fn max_of(filter: &Map, pos: Position) -> Result<usize, Box<EvalAltResult>> {
    match filter.get("max") {
        None => Ok(DEFAULT_MAX),
        Some(v) => match v.as_int() {
            Ok(n) if (1..=MAX_MAX as i64).contains(&n) => Ok(n as usize),
            _ => Err(script_error("invalid_argument", format!("filter 'max' must be a number from 1 to {MAX_MAX}, not {v}"), pos)),
        },
    }
}

/// Read the filter map into a query; a licence named by part number is looked up in the tenant.
fn user_query(host: &Host, cloud: &dyn CloudDirectory, filter: &Map, pos: Position) -> Result<UserQuery, Box<EvalAltResult>> {
    check_keys(filter, &["department", "name", "disabled", "license", "max"], pos)?;
    let disabled = match filter.get("disabled") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(v) => Some(
            v.as_bool().map_err(|t| script_error("invalid_argument", format!("filter 'disabled' must be true or false, not {t}"), pos))?,
        ),
    };
    let sku_id = match filter_text(filter, "license", pos)? {
        None => None,
        Some(l) if is_guid(&l) => Some(l.to_ascii_lowercase()),
        Some(l) => {
            let skus = host
                .rt
                .block_on(cloud.subscribed_skus())
                .map_err(|e| script_error("provider", format!("could not read the tenant's licences: {e}"), pos))?;
            match skus.iter().find(|(_, info)| info.part.eq_ignore_ascii_case(&l)) {
                Some((id, _)) => Some(id.clone()),
                None => {
                    let mut known: Vec<&str> = skus.values().map(|i| i.part.as_str()).collect();
                    known.sort_unstable();
                    return Err(script_error(
                        "license_not_found",
                        format!("tenant '{}' has no licence '{l}' (it has: {})", host.tenant, known.join(", ")),
                        pos,
                    ));
                }
            }
        }
    };
    Ok(UserQuery {
        department: filter_text(filter, "department", pos)?,
        name: filter_text(filter, "name", pos)?,
        disabled,
        sku_id,
        max: max_of(filter, pos)?,
    })
}

/// The users as script maps, and the message when the cap cut the list.
fn listed(host: &Host, list: UserList, what: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    if list.more {
        let total = list.total.map(|t| format!(" of {t}")).unwrap_or_default();
        host.message(format!("showing the first {}{total} {what}: pass a narrower filter or #{{max: N}} for more", list.users.len()));
    }
    rhai::serde::to_dynamic(&list.users)
}

fn register_list_users(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, filter: Map| -> Result<Dynamic, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let cloud = cloud(&host, pos)?;
        let q = user_query(&host, cloud.as_ref(), &filter, pos)?;
        let list =
            host.rt.block_on(cloud.list_users(&q)).map_err(|e| script_error("provider", format!("could not search users: {e}"), pos))?;
        listed(&host, list, "matching users")
    });
}

fn register_group_members(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, group: &str| -> Result<Dynamic, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let cloud = cloud(&host, pos)?;
        let group = super::graph::resolve_group(&host, cloud.as_ref(), group, pos)?;
        let list = host
            .rt
            .block_on(cloud.group_members(&group.id, DEFAULT_MAX))
            .map_err(|e| script_error("provider", format!("could not list the members of '{}': {e}", group.name), pos))?;
        listed(&host, list, &format!("members of '{}'", group.name))
    });
}

fn register_managed_devices(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User| -> Result<Array, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let cloud = cloud(&host, pos)?;
        let devices = match host.rt.block_on(cloud.managed_devices(&user.0.id)) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => vec![],
            Err(e) => {
                return Err(match crate::entra::intune_unavailable(&e) {
                    Some(reason) => script_error("intune_unavailable", reason, pos),
                    None => script_error("provider", format!("could not list the Intune devices of '{}': {e}", user.0.upn), pos),
                })
            }
        };
        Ok(devices
            .into_iter()
            .map(|d| {
                let mut m = Map::new();
                m.insert("id".into(), d.id.into());
                m.insert("device_name".into(), d.device_name.into());
                m.insert("operating_system".into(), d.operating_system.into());
                m.insert("os_version".into(), d.os_version.into());
                m.insert("owner".into(), d.managed_device_owner_type.into());
                m.insert("management_state".into(), d.management_state.into());
                m.insert("compliance_state".into(), d.compliance_state.into());
                m.insert("last_sync".into(), d.last_sync_date_time.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
                Dynamic::from_map(m)
            })
            .collect())
    });
}

fn register_mobile_devices(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User| -> Result<Dynamic, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let exo = host.providers.exchange().cloned().map_err(|e| script_error("provider", e.to_string(), pos))?;
        let devices = host
            .rt
            .block_on(exo.mobile_devices(&user.0.upn))
            .map_err(|e| script_error("provider", format!("could not list the mobile devices of '{}': {e}", user.0.upn), pos))?;
        rhai::serde::to_dynamic(&devices)
    });
}
