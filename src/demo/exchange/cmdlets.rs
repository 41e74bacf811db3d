//! The cmdlets the demo Exchange understands: parameter binding first (as PowerShell does it), then
//! the effect on the mailboxes, with Exchange's messages for the failures an offboarding meets.

use serde_json::{json, Map, Value};

use super::binding::{bind, group_is, mailbox_ix, multi_value, out, recipient, recipient_name, Output, P};
use super::model::{ExoState, FullAccess, Mailbox};
use super::{binding_error, exo_error, not_found, now_ms};
use crate::demo::model::State;
use crate::demo::Knobs;

type R = Result<Output, crate::demo::reply::Reply>;

/// Make due type changes visible; returns when (unix ms) the latest of them became visible.
pub fn settle(exo: &mut ExoState, now: i64) -> Option<i64> {
    let mut latest = None;
    for m in &mut exo.mailboxes {
        if let Some(at) = m.pending_at_ms.filter(|at| *at <= now) {
            if let Some(t) = m.pending_type.take() {
                m.type_details = t;
            }
            m.pending_at_ms = None;
            latest = latest.max(Some(at));
        }
    }
    latest
}

/// A mailbox's `EmailAddresses`: its user's `proxyAddresses` (one list, so Graph and Exchange
/// never disagree), or its own for a mailbox with no user.
fn addresses(st: &State, m: &Mailbox) -> Vec<String> {
    match st.users.iter().find(|u| u.id == m.user_id) {
        Some(u) => u.proxy_addresses.clone(),
        None => m.own_addresses.clone(),
    }
}

fn mailbox_json(st: &State, m: &Mailbox) -> Value {
    json!({
        "Identity": m.alias,
        "Name": m.alias,
        "Alias": m.alias,
        "DisplayName": m.display_name,
        "UserPrincipalName": m.upn,
        "PrimarySmtpAddress": m.upn,
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": m.type_details,
        "HiddenFromAddressListsEnabled": m.hidden,
        "ForwardingAddress": m.forwarding_address,
        "ForwardingSmtpAddress": m.forwarding_smtp_address,
        "DeliverToMailboxAndForward": m.deliver_to_mailbox_and_forward,
        "IsDirSynced": m.dir_synced,
        "IsExchangeCloudManaged": m.cloud_managed,
        "ExternalDirectoryObjectId": m.user_id,
        "ArchiveStatus": if m.archive { "Active" } else { "None" },
        "ArchiveGuid": if m.archive { crate::demo::ids::derived_id("archive", &m.user_id) } else { "00000000-0000-0000-0000-000000000000".into() },
        "LitigationHoldEnabled": m.litigation_hold,
        "LitigationHoldDuration": m.litigation_hold_days.map(|d| format!("{d}.00:00:00")).unwrap_or_else(|| "Unlimited".into()),
        "InPlaceHolds": m.in_place_holds,
        "GrantSendOnBehalfTo": m.send_on_behalf,
        "EmailAddresses": addresses(st, m),
    })
}

/// What `Add-` and `Remove-DistributionGroupMember` share: find the group (mail-enabled, not a
/// Microsoft 365 group) and the member, and refuse a synced group or a security group without
/// `-BypassSecurityGroupManagerCheck`, as Exchange does. Returns (group index, member id, recipient).
fn dl_member_change(st: &State, p: &P, cmdlet: &str) -> Result<(usize, String, Value), crate::demo::reply::Reply> {
    let id = p.req("Identity")?;
    let who = p.req("Member")?;
    let gi = st.groups.iter().position(|g| g.mail_enabled && !g.is_unified() && group_is(g, &id)).ok_or_else(|| not_found(&id))?;
    let Some(r) = recipient(st, &who) else { return Err(not_found(&who)) };
    let member_id = r["ExternalDirectoryObjectId"].as_str().unwrap_or_default().to_string();
    let g = &st.groups[gi];
    if g.is_synced() {
        return Err(on_prem_error(cmdlet, "Members", &g.mail_nickname));
    }
    if g.security_enabled && p.bool("BypassSecurityGroupManagerCheck")? != Some(true) {
        return Err(exo_error(
            403,
            "Forbidden",
            "Microsoft.Exchange.Management.Tasks.OperationRequiresGroupManagerException",
            &format!(
                "You don't have sufficient permissions. This operation can only be performed by a manager of the group \"{}\".",
                g.display_name
            ),
        ));
    }
    Ok((gi, member_id, r))
}

/// What `Add-` and `Remove-RecipientPermission` share: find the mailbox and the trustee (its
/// primary address), and refuse any right but SendAs, the only one these cmdlets take.
fn send_as_change(st: &State, p: &P) -> Result<(usize, String), crate::demo::reply::Reply> {
    let ix = mailbox_ix(st, &p.req("Identity")?)?;
    let who = p.req("Trustee")?;
    let rights = p.list("AccessRights")?;
    if rights.len() != 1 || !rights[0].eq_ignore_ascii_case("SendAs") {
        return Err(binding_error(&format!("Cannot bind parameter 'AccessRights'. Cannot convert value \"{}\" to type \"Microsoft.Exchange.Management.RecipientTasks.RecipientAccessRight\".", rights.join(","))));
    }
    let Some(r) = recipient(st, &who) else { return Err(not_found(&who)) };
    Ok((ix, r["PrimarySmtpAddress"].as_str().unwrap_or_default().to_string()))
}

/// A `-User` or `-Trustee` as permission entries name it (the primary address).
fn trustee_address(st: &State, who: &str) -> Result<String, crate::demo::reply::Reply> {
    let r = recipient(st, who).ok_or_else(|| not_found(who))?;
    Ok(r["PrimarySmtpAddress"].as_str().unwrap_or_default().to_string())
}

fn valid_smtp(s: &str) -> bool {
    let a = s.strip_prefix("smtp:").or_else(|| s.strip_prefix("SMTP:")).unwrap_or(s);
    matches!(a.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.starts_with('.') && !a.contains(' '))
}

/// `-LitigationHoldDuration`: whole days or `Unlimited` (Some(None)); None when not given.
fn hold_duration(p: &P) -> Result<Option<Option<u32>>, crate::demo::reply::Reply> {
    let Some(v) = p.0.get("LitigationHoldDuration") else { return Ok(None) };
    let days = match v {
        Value::String(s) if s.eq_ignore_ascii_case("Unlimited") => return Ok(Some(None)),
        Value::String(s) => s.trim().parse::<u32>().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    };
    match days.filter(|d| *d > 0) {
        Some(d) => Ok(Some(Some(d))),
        None => Err(binding_error(&format!(
            "Cannot process argument transformation on parameter 'LitigationHoldDuration'. Cannot convert value \"{v}\" to type \"Microsoft.Exchange.Data.Unlimited`1[Microsoft.Exchange.Data.EnhancedTimeSpan]\"."
        ))),
    }
}

/// One `EmailAddresses` value: `SMTP:` (primary) or `smtp:` (alias; a bare address is one) in
/// an accepted domain.
fn proxy_address(a: &str, domains: &[String]) -> Result<String, crate::demo::reply::Reply> {
    let (prefix, addr) = match a.split_once(':') {
        Some(("SMTP", rest)) => ("SMTP", rest),
        Some((p, rest)) if p.eq_ignore_ascii_case("smtp") => ("smtp", rest),
        _ => ("smtp", a),
    };
    if !valid_smtp(addr) {
        return Err(binding_error(&format!(
            "Cannot process argument transformation on parameter 'EmailAddresses'. The address '{a}' is invalid."
        )));
    }
    let domain = addr.rsplit('@').next().unwrap_or_default();
    if !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(exo_error(
            400,
            "BadRequest",
            "Microsoft.Exchange.Data.DataValidationException",
            &format!("The domain '{domain}' of the address '{addr}' isn't an accepted domain for your organization."),
        ));
    }
    Ok(format!("{prefix}:{addr}"))
}

fn on_prem_error(cmdlet: &str, param: &str, alias: &str) -> crate::demo::reply::Reply {
    exo_error(
        400,
        "BadRequest",
        "Microsoft.Exchange.Configuration.Tasks.TaskInvalidOperationException",
        &format!(
            "The operation on mailbox \"{alias}\" failed because it's out of the current user's write scope. The action '{cmdlet}', '{param}', can't be performed on the object '{alias}' because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization."
        ),
    )
}

pub fn run(st: &mut State, knobs: &Knobs, name: &str, given: &Map<String, Value>, _anchor: &str) -> R {
    let (cmdlet, p) = bind(name, given)?;
    match cmdlet {
        "Get-Mailbox" => match p.str("Identity")? {
            Some(id) => out(vec![mailbox_json(st, &st.exchange.mailboxes[mailbox_ix(st, &id)?])]),
            None => out(st.exchange.mailboxes.iter().map(|m| mailbox_json(st, m)).collect()),
        },
        "Get-MailboxStatistics" => {
            let m = &st.exchange.mailboxes[mailbox_ix(st, &p.req("Identity")?)?];
            let gb = m.total_item_size as f64 / (1024.0 * 1024.0 * 1024.0);
            let bytes = m.total_item_size.to_string();
            let grouped: Vec<String> = bytes.as_bytes().rchunks(3).rev().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            out(vec![json!({
                "DisplayName": m.display_name,
                "MailboxGuid": m.user_id,
                "TotalItemSize": format!("{gb:.3} GB ({} bytes)", grouped.join(",")),
                "ItemCount": m.total_item_size / 75_000,
            })])
        }
        "Get-Recipient" => match p.str("Identity")? {
            Some(id) => match recipient(st, &id) {
                Some(r) => out(vec![r]),
                None => Err(not_found(&id)),
            },
            None => out(st.exchange.mailboxes.iter().filter_map(|m| recipient(st, &m.upn)).collect()),
        },
        "Get-AcceptedDomain" => out(st
            .exchange
            .accepted_domains
            .iter()
            .enumerate()
            .map(|(i, d)| json!({"Identity": d, "DomainName": d, "DomainType": "Authoritative", "Default": i == 0}))
            .collect()),
        "Set-Mailbox" => set_mailbox(st, knobs, &p),
        "Get-MailboxAutoReplyConfiguration" | "Set-MailboxAutoReplyConfiguration" => super::auto_reply::run(st, cmdlet, &p),
        "Get-MailboxPermission" => {
            let m = &st.exchange.mailboxes[mailbox_ix(st, &p.req("Identity")?)?];
            let mut v = vec![
                json!({"Identity": m.alias, "User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": false, "Deny": false}),
                json!({"Identity": m.alias, "User": "EURPR04A008\\Organization Management", "AccessRights": ["FullAccess"], "IsInherited": true, "Deny": true}),
            ];
            v.extend(m.full_access.iter().map(|f| json!({"Identity": m.alias, "User": f.user, "AccessRights": ["FullAccess"], "IsInherited": false, "Deny": false, "InheritanceType": "All"})));
            if let Some(who) = p.str("User")? {
                let user = trustee_address(st, &who)?;
                v.retain(|e| e["User"].as_str().is_some_and(|u| u.eq_ignore_ascii_case(&user)));
            }
            out(v)
        }
        "Add-MailboxPermission" => {
            let ix = mailbox_ix(st, &p.req("Identity")?)?;
            let who = p.req("User")?;
            let rights = p.list("AccessRights")?;
            const RIGHTS: &[&str] = &["FullAccess", "ExternalAccount", "DeleteItem", "ReadPermission", "ChangePermission", "ChangeOwner"];
            if let Some(bad) = rights.iter().find(|r| !RIGHTS.iter().any(|x| x.eq_ignore_ascii_case(r))) {
                return Err(binding_error(&format!("Cannot bind parameter 'AccessRights'. Cannot convert value \"{bad}\" to type \"Microsoft.Exchange.Management.RecipientTasks.MailboxRights\".")));
            }
            if let Some(t) = p.str("InheritanceType")? {
                if !["None", "All", "Children", "Descendents", "SelfAndChildren"].iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                    return Err(binding_error(&format!("Cannot bind parameter 'InheritanceType'. Cannot convert value \"{t}\" to type \"System.DirectoryServices.ActiveDirectorySecurityInheritance\".")));
                }
            }
            let automap = p.bool("AutoMapping")?.unwrap_or(true);
            let Some(r) = recipient(st, &who) else {
                return Err(exo_error(
                    404,
                    "NotFound",
                    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                    &format!("User or group \"{who}\" wasn't found. Please make sure you have typed it correctly."),
                ));
            };
            let user = r["PrimarySmtpAddress"].as_str().unwrap_or_default().to_string();
            let m = &mut st.exchange.mailboxes[ix];
            let mut warnings = vec![];
            if !rights.iter().any(|r| r.eq_ignore_ascii_case("FullAccess")) {
                // Only FullAccess is modelled; the others are accepted and have no effect here.
            } else if m.full_access.iter().any(|f| f.user.eq_ignore_ascii_case(&user)) {
                warnings.push(format!(
                    "The appropriate access control entry is already present on the object \"{}\" for account \"{user}\".",
                    m.alias
                ));
            } else {
                m.full_access.push(FullAccess { user: user.clone(), automapping: automap });
            }
            let value = vec![json!({"Identity": m.alias, "User": user, "AccessRights": rights, "IsInherited": false, "Deny": false})];
            Ok(Output { value, warnings })
        }
        "Get-RecipientPermission" => {
            let entries = |m: &Mailbox| {
                let mut v = vec![
                    json!({"Identity": m.alias, "Trustee": "NT AUTHORITY\\SELF", "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": false}),
                ];
                v.extend(m.send_as.iter().map(|t| json!({"Identity": m.alias, "Trustee": t, "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": false})));
                v
            };
            let mut v = match p.str("Identity")? {
                Some(id) => entries(&st.exchange.mailboxes[mailbox_ix(st, &id)?]),
                None => st.exchange.mailboxes.iter().flat_map(entries).collect(),
            };
            if let Some(who) = p.str("Trustee")? {
                let trustee = trustee_address(st, &who)?;
                v.retain(|e| e["Trustee"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(&trustee)));
            }
            out(v)
        }
        "Add-RecipientPermission" => {
            let (ix, trustee) = send_as_change(st, &p)?;
            let m = &mut st.exchange.mailboxes[ix];
            let mut warnings = vec![];
            if m.send_as.iter().any(|t| t.eq_ignore_ascii_case(&trustee)) {
                warnings.push(format!("The recipient '{trustee}' already has the 'SendAs' permission on '{}'.", m.alias));
            } else {
                m.send_as.push(trustee.clone());
            }
            let value = vec![
                json!({"Identity": m.alias, "Trustee": trustee, "AccessControlType": "Allow", "AccessRights": ["SendAs"], "IsInherited": false}),
            ];
            Ok(Output { value, warnings })
        }
        "Get-MobileDevice" => {
            let list = |m: &Mailbox| -> Vec<Value> {
                m.devices
                    .iter()
                    .map(|d| {
                        let state = if m.blocked_device_ids.iter().any(|b| b == &d.device_id) { "Blocked" } else { "Allowed" };
                        json!({
                            "Identity": m.device_identity(d), "DeviceId": d.device_id, "DeviceType": d.device_type,
                            "FriendlyName": d.friendly_name, "DeviceModel": d.model, "DeviceOS": d.os, "ClientType": "EAS",
                            "DeviceAccessState": state, "DeviceWipeStatus": if d.wipe_requested { "WipePending" } else { "" },
                        })
                    })
                    .collect()
            };
            let mut v: Vec<Value> = match p.str("Mailbox")? {
                Some(mb) => list(&st.exchange.mailboxes[mailbox_ix(st, &mb)?]),
                None => st.exchange.mailboxes.iter().flat_map(list).collect(),
            };
            if let Some(id) = p.str("Identity")? {
                v.retain(|d| d["Identity"] == id.as_str());
                if v.is_empty() {
                    return Err(not_found(&id));
                }
            }
            out(v)
        }
        "Get-CASMailbox" | "Set-CASMailbox" => super::cas::run(st, cmdlet, &p),
        "Remove-CalendarEvents" => super::calendar::remove_events(st, &p),
        "Clear-MobileDevice" | "Remove-MobileDevice" => {
            let id = p.req("Identity")?;
            let found = st
                .exchange
                .mailboxes
                .iter()
                .enumerate()
                .find_map(|(mi, m)| m.devices.iter().position(|d| m.device_identity(d).eq_ignore_ascii_case(&id)).map(|di| (mi, di)));
            let Some((mi, di)) = found else { return Err(not_found(&id)) };
            let m = &mut st.exchange.mailboxes[mi];
            if cmdlet == "Clear-MobileDevice" {
                if m.type_details == "SharedMailbox" {
                    return Err(exo_error(400, "BadRequest", "Microsoft.Exchange.Management.Tasks.InvalidOperationException", &format!("The device '{id}' can't be wiped because mailbox '{}' is a shared mailbox. Remote wipe requires a user mailbox.", m.alias)));
                }
                m.devices[di].wipe_requested = true;
            } else {
                m.devices.remove(di);
            }
            out(vec![])
        }
        "Get-InboxRule" => {
            let m = &st.exchange.mailboxes[mailbox_ix(st, &p.req("Mailbox")?)?];
            let hidden = p.bool("IncludeHidden")?.unwrap_or(false) || (p.has("IncludeHidden") && p.0["IncludeHidden"].is_null());
            let mut v: Vec<Value> = m
                .rules
                .iter()
                .filter(|r| hidden || !r.hidden)
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "Identity": m.rule_identity(r), "Name": r.name, "Enabled": r.enabled, "Priority": i + 1,
                        "Description": r.description, "ForwardTo": r.forward_to, "RedirectTo": r.redirect_to,
                        "MailboxOwnerId": m.alias, "RuleIdentity": r.id.to_string(),
                    })
                })
                .collect();
            if let Some(id) = p.str("Identity")? {
                v.retain(|r| r["Identity"] == id.as_str() || r["Name"] == id.as_str());
                if v.is_empty() {
                    return Err(not_found(&id));
                }
            }
            out(v)
        }
        "Remove-InboxRule" => {
            let id = p.req("Identity")?;
            let found = st
                .exchange
                .mailboxes
                .iter()
                .enumerate()
                .find_map(|(mi, m)| m.rules.iter().position(|r| m.rule_identity(r).eq_ignore_ascii_case(&id)).map(|ri| (mi, ri)));
            let Some((mi, ri)) = found else { return Err(not_found(&id)) };
            st.exchange.mailboxes[mi].rules.remove(ri);
            out(vec![])
        }
        "Get-DistributionGroupMember" => {
            let id = p.req("Identity")?;
            let g = st.groups.iter().find(|g| g.mail_enabled && !g.is_unified() && group_is(g, &id)).ok_or_else(|| not_found(&id))?;
            let members = g.members.clone();
            out(members.iter().filter_map(|m| recipient(st, m)).collect())
        }
        "Remove-DistributionGroupMember" => {
            let (gi, member_id, r) = dl_member_change(st, &p, "Remove-DistributionGroupMember")?;
            let g = &st.groups[gi];
            let Some(pos) = g.members.iter().position(|m| m.eq_ignore_ascii_case(&member_id)) else {
                return Err(exo_error(
                    400,
                    "BadRequest",
                    "Microsoft.Exchange.Management.Tasks.MemberNotFoundException",
                    &format!("The recipient \"{}\" isn't a member of the group \"{}\".", recipient_name(&r), g.display_name),
                ));
            };
            st.groups[gi].members.remove(pos);
            out(vec![])
        }
        "Add-DistributionGroupMember" => {
            let (gi, member_id, r) = dl_member_change(st, &p, "Add-DistributionGroupMember")?;
            let g = &st.groups[gi];
            if g.members.iter().any(|m| m.eq_ignore_ascii_case(&member_id)) {
                return Err(exo_error(
                    400,
                    "BadRequest",
                    "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException",
                    &format!("The recipient \"{}\" is already a member of the group \"{}\".", recipient_name(&r), g.display_name),
                ));
            }
            st.groups[gi].members.push(member_id);
            out(vec![])
        }
        "Remove-MailboxPermission" => {
            let ix = mailbox_ix(st, &p.req("Identity")?)?;
            let who = p.req("User")?;
            let rights = p.list("AccessRights")?;
            let Some(r) = recipient(st, &who) else { return Err(not_found(&who)) };
            let user = r["PrimarySmtpAddress"].as_str().unwrap_or_default().to_string();
            let m = &mut st.exchange.mailboxes[ix];
            let mut warnings = vec![];
            if rights.iter().any(|r| r.eq_ignore_ascii_case("FullAccess")) {
                let before = m.full_access.len();
                m.full_access.retain(|f| !f.user.eq_ignore_ascii_case(&user));
                if m.full_access.len() == before {
                    warnings.push(format!("Can't remove the access control entry on the object \"{}\" for account \"{user}\" because the ACE doesn't exist on the object.", m.alias));
                }
            }
            Ok(Output { value: vec![], warnings })
        }
        "Remove-RecipientPermission" => {
            let (ix, trustee) = send_as_change(st, &p)?;
            let m = &mut st.exchange.mailboxes[ix];
            let mut warnings = vec![];
            let before = m.send_as.len();
            m.send_as.retain(|t| !t.eq_ignore_ascii_case(&trustee));
            if m.send_as.len() == before {
                warnings.push(format!("The recipient '{trustee}' doesn't have the 'SendAs' permission on '{}'.", m.alias));
            }
            Ok(Output { value: vec![], warnings })
        }
        other => Err(binding_error(&format!("The demo tenant has no implementation of '{other}'."))),
    }
}

fn set_mailbox(st: &mut State, knobs: &Knobs, p: &P) -> R {
    let ix = mailbox_ix(st, &p.req("Identity")?)?;
    // Bind and resolve everything before changing anything: a cmdlet fails as a whole.
    let kind = match p.str("Type")? {
        None => None,
        Some(t) => match t.to_ascii_lowercase().as_str() {
            "shared" => Some("SharedMailbox"),
            "regular" => Some("UserMailbox"),
            "room" => Some("RoomMailbox"),
            "equipment" => Some("EquipmentMailbox"),
            _ => {
                return Err(binding_error(&format!(
                    "Cannot process argument transformation on parameter 'Type'. Cannot convert value \"{t}\" to type \"Microsoft.Exchange.Management.RecipientTasks.ConvertibleMailboxSubType\". Error: \"Unable to match the identifier name {t} to a valid enumerator name. Specify one of the following enumerator names and try again: Regular, Room, Equipment, Shared\""
                )))
            }
        },
    };
    let hidden = p.bool("HiddenFromAddressListsEnabled")?;
    let deliver = p.bool("DeliverToMailboxAndForward")?;
    let cloud_managed = p.bool("IsExchangeCloudManaged")?;
    let fwd = if p.has("ForwardingAddress") {
        Some(match p.str("ForwardingAddress")? {
            None => None,
            Some(a) => Some(recipient(st, &a).map(|r| recipient_name(&r)).ok_or_else(|| not_found(&a))?),
        })
    } else {
        None
    };
    let smtp = if p.has("ForwardingSmtpAddress") {
        Some(match p.str("ForwardingSmtpAddress")? {
            None => None,
            Some(s) if valid_smtp(&s) => {
                let a = s.strip_prefix("smtp:").or_else(|| s.strip_prefix("SMTP:")).unwrap_or(&s);
                Some(format!("smtp:{a}"))
            }
            Some(s) => {
                return Err(binding_error(&format!(
                    "Cannot process argument transformation on parameter 'ForwardingSmtpAddress'. Cannot convert value \"{s}\" to type \"Microsoft.Exchange.Data.ProxyAddress\". Error: \"The address '{s}' is invalid.\""
                )))
            }
        })
    } else {
        None
    };
    let hold = p.bool("LitigationHoldEnabled")?;
    let hold_days = hold_duration(p)?;
    let current = st.exchange.mailboxes[ix].send_on_behalf.clone();
    let on_behalf = multi_value(p, "GrantSendOnBehalfTo", &current, &mut |who| {
        recipient(st, who).map(|r| recipient_name(&r)).ok_or_else(|| not_found(who))
    })?;
    let current = addresses(st, &st.exchange.mailboxes[ix]);
    let domains = st.exchange.accepted_domains.clone();
    let emails = multi_value(p, "EmailAddresses", &current, &mut |a| proxy_address(a, &domains))?;
    if let Some(e) = &emails {
        if e.iter().filter(|a| a.starts_with("SMTP:")).count() != 1 {
            return Err(exo_error(
                400,
                "BadRequest",
                "Microsoft.Exchange.Data.DataValidationException",
                "The EmailAddresses must include exactly one primary SMTP address (\"SMTP:\"), and it can't be removed.",
            ));
        }
    }
    let m = &mut st.exchange.mailboxes[ix];
    let cloud = cloud_managed.unwrap_or(m.cloud_managed);
    for (given, param) in [(hidden.is_some(), "HiddenFromAddressListsEnabled"), (emails.is_some(), "EmailAddresses")] {
        if given && m.dir_synced && !cloud {
            return Err(on_prem_error("Set-Mailbox", param, &m.alias));
        }
    }
    if let Some(h) = hold {
        m.litigation_hold = h;
    }
    if let Some(d) = hold_days {
        m.litigation_hold_days = d;
    }
    if let Some(b) = on_behalf {
        m.send_on_behalf = b;
    }
    if let Some(e) = emails {
        let user_id = m.user_id.clone();
        match st.users.iter_mut().find(|u| u.id == user_id) {
            Some(u) => u.proxy_addresses = e,
            None => m.own_addresses = e,
        }
    }
    let m = &mut st.exchange.mailboxes[ix];
    let mut warnings = vec![];
    if let Some(k) = kind {
        let current = m.pending_type.as_deref().unwrap_or(&m.type_details);
        if current == k {
            warnings.push(format!("The command completed successfully but no settings of '{}' have been modified.", m.alias));
        } else if knobs.shared_delay_ms == 0 {
            m.type_details = k.to_string();
        } else {
            m.pending_type = Some(k.to_string());
            m.pending_at_ms = Some(now_ms() + knobs.shared_delay_ms as i64);
        }
    }
    if let Some(c) = cloud_managed {
        m.cloud_managed = c;
    }
    if let Some(h) = hidden {
        m.hidden = h;
    }
    if let Some(f) = fwd {
        m.forwarding_address = f;
    }
    if let Some(s) = smtp {
        m.forwarding_smtp_address = s;
    }
    if let Some(d) = deliver {
        m.deliver_to_mailbox_and_forward = d;
    }
    Ok(Output { value: vec![], warnings })
}
