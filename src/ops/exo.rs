//! `exo::` — Exchange Online: read a mailbox, and the mailbox writes of an offboarding.
//!
//! Every write takes the `User` from `graph::get_user` and declares one action per change (see
//! `exchange::actions` for each precondition and cmdlet). Functions that act on a list (devices,
//! inbox rules) read the list when called and declare one action per item.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, Map, Module, NativeCallContext, Position};

use super::args::{check_keys, map_str, opt_bool, opt_string};
use super::register::{user_ref, Built, BuiltAll, Register};
use super::user::User;
use super::{check, ctx_pos, registration, script_error, Access, OpSpec};
use crate::entra::{CloudAccess, GroupKind};
use crate::exchange::actions::{
    ClearForwarding, ConvertToShared, GrantMailboxPermission, HideFromGal, MailboxAccess, OutOfOffice, RemoveDistributionGroupMembership,
    RemoveInboxRule, RemoveMobileDevice, SetForwarding, SetOutOfOffice, WaitForShared,
};
use crate::exchange::{ExchangeAccess, ExchangeOnline, ExoError, ExoReads};
use crate::exec::host::Host;
use crate::exec::{Action, ActionError};

const PLAN_WRITE: &str = "reads the current state, records the step as planned or already done; sends nothing";
const PLAN_LIST: &str = "reads the list, then each step as a write: planned or already done; sends nothing";
/// How long `wait_for_shared_mailbox` waits by default.
const DEFAULT_WAIT_SECS: i64 = 300;

pub static OPS: [OpSpec; 14] = [
    OpSpec {
        module: "exo",
        name: "get_mailbox",
        params: &["user: User"],
        returns: "Map",
        access: Access::Read,
        capability: "exo.read",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// The user's Exchange Online mailbox, or `()` when there is none: `type`",
            "/// (`UserMailbox`, `SharedMailbox`, ...), `size_bytes`, `hidden`, `forwarding_address`,",
            "/// `forwarding_smtp`, `keep_copy`, `devices` (`identity`, `device_id`, `friendly_name`, ...),",
            "/// `rules` (not the system rules), `full_access` and `send_as` (trustees, not inherited).",
            "///",
            "/// ```rhai",
            "/// let mbx = exo::get_mailbox(user);",
            "/// if mbx != () { print(`${mbx.type}, ${mbx.devices.len()} device(s)`); }",
            "/// ```",
        ],
        register: Register::Custom(register_get_mailbox),
    },
    OpSpec {
        module: "exo",
        name: "read_ahead",
        params: &["user: User"],
        returns: "()",
        access: Access::Read,
        capability: "exo.read",
        idempotent: true,
        plan: "reads live, as in apply",
        doc: &[
            "/// Start reading, in the background, what the mailbox steps will check: the mailbox, its",
            "/// size, devices, inbox rules and permissions, the manager as a recipient, the members of",
            "/// the user's distribution lists, and the user's Intune devices. Returns at once; the steps",
            "/// that need a value wait for it instead of reading it again, so reads that would happen",
            "/// one phase after another happen together, while the first phases write.",
            "///",
            "/// ```rhai",
            "/// exo::read_ahead(user);",
            "/// ```",
        ],
        register: Register::Custom(register_read_ahead),
    },
    OpSpec {
        module: "exo",
        name: "convert_to_shared_mailbox",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.mailbox",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Convert the mailbox to a shared mailbox (`Set-Mailbox -Type Shared`) so it survives the",
            "/// licence removal. Warns from 49 GB (over 50 GB a shared mailbox needs a licence); for a",
            "/// user synced from AD, says what to change on premises. Follow it with",
            "/// `wait_for_shared_mailbox` in a required phase before removing licences.",
            "///",
            "/// ```rhai",
            "/// exo::convert_to_shared_mailbox(user);",
            "/// ```",
        ],
        register: Register::UserWrite(|u| Box::new(ConvertToShared { user: u })),
    },
    OpSpec {
        module: "exo",
        name: "wait_for_shared_mailbox",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.mailbox",
        idempotent: true,
        plan: "reads the mailbox type, records the wait as planned or already done; waits for nothing",
        doc: &[
            "/// Wait (up to 300 s, polling `Get-Mailbox`) until the mailbox really is shared. Sends no",
            "/// write; fails if the mailbox is still not shared at the end. Put it in a required phase",
            "/// right before the licences, so no licence is removed from an unconverted mailbox.",
            "///",
            "/// ```rhai",
            "/// phase(\"wait_for_shared\", #{ required: true }, || exo::wait_for_shared_mailbox(user));",
            "/// ```",
        ],
        register: Register::UserWriteWithOptions(wait_for_shared),
    },
    OpSpec {
        module: "exo",
        name: "wait_for_shared_mailbox",
        params: &["user: User", "options: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.mailbox",
        idempotent: true,
        plan: "as `wait_for_shared_mailbox(user)`",
        doc: &[
            "/// `wait_for_shared_mailbox` with options: `#{timeout_secs: int}` (1..=3600).",
            "///",
            "/// ```rhai",
            "/// exo::wait_for_shared_mailbox(user, #{ timeout_secs: 60 });",
            "/// ```",
        ],
        register: Register::UserWriteWithOptions(wait_for_shared),
    },
    OpSpec {
        module: "exo",
        name: "grant_mailbox_permission",
        params: &["user: User", "trustee: String", "options: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.permissions",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Give `trustee` (a UPN or address; resolved with `Get-Recipient`, so a typo fails the step)",
            "/// access to the user's mailbox. Options: `access`: `\"full\"` (FullAccess, the default) or",
            "/// `\"send_as\"` (SendAs); `automap: bool` (FullAccess only, default true: the mailbox appears",
            "/// in the trustee's Outlook).",
            "///",
            "/// ```rhai",
            "/// exo::grant_mailbox_permission(user, user.manager.upn, #{ access: \"full\", automap: false });",
            "/// ```",
        ],
        register: Register::UserNameWrite(grant_permission),
    },
    OpSpec {
        module: "exo",
        name: "hide_from_gal",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.mailbox",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Hide the mailbox from the global address list (`HiddenFromAddressListsEnabled`). For a",
            "/// user synced from AD the step is skipped and says what to set on premises.",
            "///",
            "/// ```rhai",
            "/// exo::hide_from_gal(user);",
            "/// ```",
        ],
        register: Register::UserWrite(|u| Box::new(HideFromGal { user: u })),
    },
    OpSpec {
        module: "exo",
        name: "set_forwarding",
        params: &["user: User", "address: String", "options: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.forwarding",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Forward the user's mail to `address`: an internal recipient (an accepted domain; must",
            "/// exist) via ForwardingAddress, anything else via ForwardingSmtpAddress. Replaces the",
            "/// user's own forwarding. Options: `keep_copy: bool` (default true).",
            "///",
            "/// ```rhai",
            "/// exo::set_forwarding(user, \"manager@contoso.test\", #{ keep_copy: true });",
            "/// ```",
        ],
        register: Register::UserNameWrite(set_forwarding),
    },
    OpSpec {
        module: "exo",
        name: "clear_forwarding",
        params: &["user: User"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.forwarding",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Remove any forwarding on the mailbox (internal and external), e.g. the forwarding the",
            "/// user set up to a private address. Use it instead of `set_forwarding`, not before it.",
            "///",
            "/// ```rhai",
            "/// exo::clear_forwarding(user);",
            "/// ```",
        ],
        register: Register::UserWrite(|u| Box::new(ClearForwarding { user: u })),
    },
    OpSpec {
        module: "exo",
        name: "set_out_of_office",
        params: &["user: User", "options: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.out_of_office",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Turn on automatic replies (Graph `mailboxSettings`). Options: `internal` (required),",
            "/// `external` (default: the internal text), `external_audience` (`all`, `contactsOnly`,",
            "/// `none`; default `all`), `start` and `end` (UTC `YYYY-MM-DDTHH:MM:SS`, both or neither:",
            "/// scheduled replies).",
            "///",
            "/// ```rhai",
            "/// exo::set_out_of_office(user, #{ internal: \"Lee has left; please write to Morgan.\" });",
            "/// ```",
        ],
        register: Register::UserWriteWithOptions(set_out_of_office),
    },
    OpSpec {
        module: "exo",
        name: "remove_mobile_devices",
        params: &["user: User"],
        returns: "Array",
        access: Access::Write,
        capability: "exo.devices",
        idempotent: true,
        plan: PLAN_LIST,
        doc: &[
            "/// Remove every mobile device partnership of the mailbox (`Remove-MobileDevice`), one step",
            "/// per device. Run it before the shared conversion.",
            "///",
            "/// ```rhai",
            "/// exo::remove_mobile_devices(user);",
            "/// ```",
        ],
        register: Register::UserListWrite(remove_devices),
    },
    OpSpec {
        module: "exo",
        name: "remove_mobile_devices",
        params: &["user: User", "options: Map"],
        returns: "Array",
        access: Access::Write,
        capability: "exo.devices",
        idempotent: true,
        plan: PLAN_LIST,
        doc: &[
            "/// `remove_mobile_devices` with options: `block: bool` (block the device id first with",
            "/// `Set-CASMailbox -ActiveSyncBlockedDeviceIDs`), `wipe: bool` (remote wipe with",
            "/// `Clear-MobileDevice` first; impossible once the mailbox is shared). Both default false.",
            "///",
            "/// ```rhai",
            "/// exo::remove_mobile_devices(user, #{ block: true, wipe: false });",
            "/// ```",
        ],
        register: Register::UserListWrite(remove_devices),
    },
    OpSpec {
        module: "exo",
        name: "remove_inbox_rules",
        params: &["user: User"],
        returns: "Array",
        access: Access::Write,
        capability: "exo.rules",
        idempotent: true,
        plan: PLAN_LIST,
        doc: &[
            "/// Remove every inbox rule of the mailbox (`Remove-InboxRule`), one step per rule, except",
            "/// the system rules (\"Junk E-Mail Rule\", `Microsoft.Exchange.OOF.*`).",
            "///",
            "/// ```rhai",
            "/// exo::remove_inbox_rules(user);",
            "/// ```",
        ],
        register: Register::UserListWrite(remove_rules),
    },
    OpSpec {
        module: "exo",
        name: "remove_distribution_group_membership",
        params: &["user: User", "group: Map"],
        returns: "Map",
        access: Access::Write,
        capability: "exo.groups",
        idempotent: true,
        plan: PLAN_WRITE,
        doc: &[
            "/// Remove the user from a distribution list or mail-enabled security group (an item of",
            "/// `user.groups`; Graph cannot change those) with `Remove-DistributionGroupMember",
            "/// -BypassSecurityGroupManagerCheck`. Other kinds and synced groups are skipped with the reason.",
            "///",
            "/// ```rhai",
            "/// for g in user.groups.filter(|g| g.kind == \"distribution\") {",
            "///     exo::remove_distribution_group_membership(user, g);",
            "/// }",
            "/// ```",
        ],
        register: Register::UserItemWrite(remove_distribution_group),
    },
];

fn provider_error(e: impl std::fmt::Display, pos: Position) -> Box<EvalAltResult> {
    script_error("provider", e.to_string(), pos)
}

fn exchange(host: &Host, pos: Position) -> Result<Arc<dyn ExchangeOnline>, Box<EvalAltResult>> {
    host.providers.exchange().cloned().map_err(|e| provider_error(e, pos))
}

fn register_read_ahead(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User| -> Result<(), Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let exo = exchange(&host, pos)?;
        let u = user.0.clone();
        let recipients: Vec<String> = u.manager.iter().map(|m| m.upn.clone()).collect();
        let groups: Vec<String> = u
            .groups
            .iter()
            .filter(|g| !g.synced && matches!(g.kind, GroupKind::Distribution | GroupKind::MailEnabledSecurity))
            .map(|g| g.id.clone())
            .collect();
        let (cache, providers) = (host.cache.clone(), host.providers.clone());
        // Not awaited: the reads overlap the phases that come first; a reader that comes before
        // one has finished waits for it (the cache shares a read in flight).
        host.rt.spawn(async move {
            let reads = ExoReads { cache: &cache, exo: &exo };
            let devices = async {
                if providers.cloud().is_ok() {
                    let _ = crate::entra::cached_managed_devices(&cache, &providers, &u.id).await;
                }
            };
            tokio::join!(reads.read_ahead(&u.upn, &recipients, &groups), devices);
        });
        Ok(())
    });
}

fn register_get_mailbox(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User| -> Result<Dynamic, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let exo = exchange(&host, pos)?;
        let upn = user.0.upn.clone();
        let read = async {
            let Some(mbx) = exo.get_mailbox(&upn).await? else { return Ok(None) };
            let (size, devices, rules, full, send_as) = tokio::join!(
                exo.mailbox_size(&upn),
                exo.mobile_devices(&upn),
                exo.inbox_rules(&upn),
                exo.mailbox_permissions(&upn),
                exo.recipient_permissions(&upn)
            );
            let trustees = |p: Vec<crate::exchange::Permission>, right: &str| -> Vec<String> {
                p.into_iter()
                    .filter(|p| !p.inherited && !p.deny && p.access_rights.iter().any(|r| r == right))
                    .map(|p| p.trustee)
                    .filter(|t| t != "NT AUTHORITY\\SELF")
                    .collect()
            };
            let v = serde_json::json!({
                "type": mbx.type_details,
                "upn": mbx.upn,
                "primary_smtp": mbx.primary_smtp,
                "size_bytes": size?,
                "hidden": mbx.hidden,
                "forwarding_address": mbx.forwarding_address,
                "forwarding_smtp": mbx.forwarding_smtp,
                "keep_copy": mbx.deliver_and_forward,
                "dir_synced": mbx.dir_synced,
                "devices": devices?,
                "rules": rules?.into_iter().filter(|r| !r.is_system()).collect::<Vec<_>>(),
                "full_access": trustees(full?, "FullAccess"),
                "send_as": trustees(send_as?, "SendAs"),
            });
            Ok::<_, ExoError>(Some(v))
        };
        match host.rt.block_on(read) {
            Ok(None) => Ok(Dynamic::UNIT),
            Ok(Some(v)) => rhai::serde::to_dynamic(v).map_err(|e| provider_error(e, pos)),
            Err(e) => Err(provider_error(format!("could not read the mailbox of '{upn}': {e}"), pos)),
        }
    });
}

/// `wait_for_shared_mailbox(user[, options])`: the wait is a step, so it runs in its phase.
fn wait_for_shared(user: &User, options: &Map, pos: Position) -> Built {
    check_keys(options, &["timeout_secs"], pos)?;
    let secs = match options.get("timeout_secs") {
        None => DEFAULT_WAIT_SECS,
        Some(v) => {
            v.as_int().map_err(|t| script_error("invalid_argument", format!("option 'timeout_secs' must be an integer, not {t}"), pos))?
        }
    };
    if !(1..=3600).contains(&secs) {
        return Err(script_error("invalid_argument", format!("timeout_secs must be 1..=3600, not {secs}"), pos));
    }
    Ok(Box::new(WaitForShared { user: user_ref(user), timeout: Duration::from_secs(secs as u64) }))
}

fn nonempty(s: &str, what: &str, pos: Position) -> Result<String, Box<EvalAltResult>> {
    let t = s.trim();
    if t.is_empty() || t.chars().any(char::is_control) || t.len() > 320 {
        return Err(script_error("invalid_argument", format!("{what} '{}' is not a recipient address", s.escape_debug()), pos));
    }
    Ok(t.to_string())
}

/// `grant_mailbox_permission(user, trustee, options)`: the trustee is resolved by the action.
fn grant_permission(_host: &Host, user: &User, trustee: &str, options: &Map, pos: Position) -> Built {
    check_keys(options, &["access", "automap"], pos)?;
    let access = match opt_string(options, "access", pos)?.as_deref() {
        None | Some("full") => MailboxAccess::FullAccess,
        Some("send_as") => MailboxAccess::SendAs,
        Some(other) => {
            return Err(script_error("invalid_argument", format!("access must be \"full\" or \"send_as\", not \"{other}\""), pos))
        }
    };
    let automap = opt_bool(options, "automap", true, &["access", "automap"], pos)?;
    if access == MailboxAccess::SendAs && options.contains_key("automap") {
        return Err(script_error("invalid_argument", "automap applies to FullAccess only".into(), pos));
    }
    let trustee = nonempty(trustee, "trustee", pos)?;
    Ok(Box::new(GrantMailboxPermission { user: user_ref(user), trustee, access, automap }))
}

/// `set_forwarding(user, address, options)`: never to the mailbox itself (a mail loop).
fn set_forwarding(_host: &Host, user: &User, address: &str, options: &Map, pos: Position) -> Built {
    let keep_copy = opt_bool(options, "keep_copy", true, &["keep_copy"], pos)?;
    let to = nonempty(address, "forwarding address", pos)?;
    if to.eq_ignore_ascii_case(&user.0.upn) {
        return Err(script_error("invalid_argument", "a mailbox cannot forward to itself".into(), pos));
    }
    Ok(Box::new(SetForwarding { user: user_ref(user), to, keep_copy }))
}

/// `YYYY-MM-DDTHH:MM:SS` (an RFC 3339 time is converted to UTC).
fn utc_time(s: &str, key: &str, pos: Position) -> Result<String, Box<EvalAltResult>> {
    const FMT: &str = "%Y-%m-%dT%H:%M:%S";
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc).format(FMT).to_string());
    }
    chrono::NaiveDateTime::parse_from_str(s, FMT)
        .map(|t| t.format(FMT).to_string())
        .map_err(|_| script_error("invalid_argument", format!("{key} '{s}' is not a time like 2026-12-01T09:00:00"), pos))
}

/// `set_out_of_office(user, options)`: every option checked here, so the plan shows a bad one.
fn set_out_of_office(user: &User, options: &Map, pos: Position) -> Built {
    check_keys(options, &["internal", "external", "external_audience", "start", "end"], pos)?;
    let internal = opt_string(options, "internal", pos)?.filter(|s| !s.trim().is_empty());
    let Some(internal) = internal else {
        return Err(script_error("invalid_argument", "set_out_of_office needs an 'internal' message".into(), pos));
    };
    let external = opt_string(options, "external", pos)?.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| internal.clone());
    let external_audience = opt_string(options, "external_audience", pos)?.unwrap_or_else(|| "all".into());
    if !["all", "contactsOnly", "none"].contains(&external_audience.as_str()) {
        return Err(script_error(
            "invalid_argument",
            format!("external_audience must be all, contactsOnly or none, not {external_audience}"),
            pos,
        ));
    }
    let start = opt_string(options, "start", pos)?.filter(|s| !s.is_empty()).map(|s| utc_time(&s, "start", pos)).transpose()?;
    let end = opt_string(options, "end", pos)?.filter(|s| !s.is_empty()).map(|s| utc_time(&s, "end", pos)).transpose()?;
    match (&start, &end) {
        (Some(s), Some(e)) if s >= e => return Err(script_error("invalid_argument", format!("end {e} is not after start {s}"), pos)),
        (Some(_), None) | (None, Some(_)) => {
            return Err(script_error("invalid_argument", "give both start and end, or neither".into(), pos))
        }
        _ => {}
    }
    let ooo = OutOfOffice { internal, external, external_audience, start, end };
    Ok(Box::new(SetOutOfOffice { user: user_ref(user), ooo }))
}

/// Read one of the mailbox's lists for a list write; a mailbox that is gone has nothing to remove.
fn read_list<T>(
    host: &Host,
    read: impl Future<Output = Result<Vec<T>, ActionError>>,
    what: &str,
    upn: &str,
    pos: Position,
) -> Result<Vec<T>, Box<EvalAltResult>> {
    // Through the run's cache: the actions' observations find the same list without a read.
    match host.rt.block_on(read) {
        Ok(list) => Ok(list),
        Err(e) => Err(provider_error(format!("could not list the {what} of '{upn}': {e}"), pos)),
    }
}

/// `remove_mobile_devices(user[, options])`: one step per device partnership.
fn remove_devices(host: &Host, user: &User, options: &Map, pos: Position) -> BuiltAll {
    let block = opt_bool(options, "block", false, &["block", "wipe"], pos)?;
    let wipe = opt_bool(options, "wipe", false, &["block", "wipe"], pos)?;
    let exo = exchange(host, pos)?;
    let reads = ExoReads { cache: &host.cache, exo: &exo };
    let devices = read_list(host, reads.mobile_devices(&user.0.upn), "mobile devices", &user.0.upn, pos)?;
    let u = user_ref(user);
    Ok(devices.into_iter().map(|device| Box::new(RemoveMobileDevice::new(u.clone(), device, block, wipe)) as Box<dyn Action>).collect())
}

/// `remove_inbox_rules(user)`: one step per rule the user made (system rules stay).
fn remove_rules(host: &Host, user: &User, _options: &Map, pos: Position) -> BuiltAll {
    let exo = exchange(host, pos)?;
    let reads = ExoReads { cache: &host.cache, exo: &exo };
    let rules = read_list(host, reads.inbox_rules(&user.0.upn), "inbox rules", &user.0.upn, pos)?;
    let u = user_ref(user);
    Ok(rules
        .into_iter()
        .filter(|r| !r.is_system())
        .map(|rule| Box::new(RemoveInboxRule { user: u.clone(), rule }) as Box<dyn Action>)
        .collect())
}

/// `remove_distribution_group_membership(user, group)`: the action skips kinds it cannot change.
fn remove_distribution_group(user: &User, group: &Map, _options: &Map, pos: Position) -> Built {
    let group_id = map_str(group, "id", "group", pos)?;
    let group_name = map_str(group, "name", "group", pos).unwrap_or_else(|_| group_id.clone());
    let kind = map_str(group, "kind", "group", pos)?;
    let synced = group.get("synced").and_then(|v| v.as_bool().ok()).unwrap_or(false);
    Ok(Box::new(RemoveDistributionGroupMembership { user: user_ref(user), group_id, group_name, kind, synced }))
}
