//! PowerShell's parameter binding as the demo Exchange does it: each cmdlet's parameters and the
//! mandatory ones, names matched ignoring case, values checked for their type, with the
//! `ParameterBindingException` messages Exchange sends; and what every cmdlet shares (its
//! output, finding the mailbox an `Identity` names).

use serde_json::{json, Map, Value};

use super::{binding_error, exo_error, not_found};
use crate::demo::model::State;

/// What a cmdlet answers: its output objects and any warnings.
pub struct Output {
    pub value: Vec<Value>,
    pub warnings: Vec<String>,
}

pub(super) fn out(value: Vec<Value>) -> Result<Output, crate::demo::reply::Reply> {
    Ok(Output { value, warnings: vec![] })
}

pub(super) fn mailbox_ix(st: &State, identity: &str) -> Result<usize, crate::demo::reply::Reply> {
    st.exchange.mailboxes.iter().position(|m| m.is(identity)).ok_or_else(|| not_found(identity))
}

/// A recipient by any of its names: mailboxes, then mail-enabled groups.
pub(super) fn recipient(st: &State, identity: &str) -> Option<Value> {
    if let Some(m) = st.exchange.mailboxes.iter().find(|m| m.is(identity)) {
        return Some(json!({
            "Identity": m.alias, "Name": m.alias, "DisplayName": m.display_name, "PrimarySmtpAddress": m.upn,
            "RecipientType": "UserMailbox", "RecipientTypeDetails": m.type_details, "ExternalDirectoryObjectId": m.user_id,
        }));
    }
    let g = st.groups.iter().find(|g| g.mail_enabled && group_is(g, identity))?;
    let details = if g.is_unified() {
        "GroupMailbox"
    } else if g.security_enabled {
        "MailUniversalSecurityGroup"
    } else {
        "MailUniversalDistributionGroup"
    };
    Some(json!({
        "Identity": g.mail_nickname, "Name": g.mail_nickname, "DisplayName": g.display_name, "PrimarySmtpAddress": g.mail,
        "RecipientType": details, "RecipientTypeDetails": details, "ExternalDirectoryObjectId": g.id,
    }))
}

pub(super) fn group_is(g: &crate::demo::model::Group, who: &str) -> bool {
    g.id.eq_ignore_ascii_case(who)
        || g.display_name.eq_ignore_ascii_case(who)
        || g.mail_nickname.eq_ignore_ascii_case(who)
        || g.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(who))
}

pub(super) fn recipient_name(r: &Value) -> String {
    r["Identity"].as_str().unwrap_or_default().to_string()
}

/// Each cmdlet's parameters (canonical spelling) and the mandatory ones.
const SPECS: &[(&str, &[&str], &[&str])] = &[
    ("Get-Mailbox", &["Identity", "ResultSize", "RecipientTypeDetails"], &[]),
    ("Get-MailboxStatistics", &["Identity"], &["Identity"]),
    ("Get-Recipient", &["Identity", "ResultSize", "RecipientTypeDetails"], &[]),
    ("Get-AcceptedDomain", &["Identity"], &[]),
    (
        "Set-Mailbox",
        &[
            "Identity",
            "Type",
            "HiddenFromAddressListsEnabled",
            "ForwardingAddress",
            "ForwardingSmtpAddress",
            "DeliverToMailboxAndForward",
            "IsExchangeCloudManaged",
            "GrantSendOnBehalfTo",
            "LitigationHoldEnabled",
            "LitigationHoldDuration",
            "EmailAddresses",
            "Confirm",
        ],
        &["Identity"],
    ),
    ("Get-MailboxPermission", &["Identity", "User"], &["Identity"]),
    (
        "Add-MailboxPermission",
        &["Identity", "User", "AccessRights", "AutoMapping", "InheritanceType", "Confirm"],
        &["Identity", "User", "AccessRights"],
    ),
    // Identity is optional: `-Trustee` alone lists every recipient the trustee may send as.
    ("Get-RecipientPermission", &["Identity", "Trustee", "AccessRights", "ResultSize"], &[]),
    ("Add-RecipientPermission", &["Identity", "Trustee", "AccessRights", "Confirm"], &["Identity", "Trustee", "AccessRights"]),
    ("Get-MobileDevice", &["Mailbox", "Identity", "ResultSize"], &[]),
    ("Get-CASMailbox", &["Identity", "ResultSize"], &[]),
    (
        "Set-CASMailbox",
        &[
            "Identity",
            "ActiveSyncBlockedDeviceIDs",
            "ActiveSyncEnabled",
            "OWAEnabled",
            "PopEnabled",
            "ImapEnabled",
            "MAPIEnabled",
            "EwsEnabled",
            "Confirm",
        ],
        &["Identity"],
    ),
    (
        "Remove-CalendarEvents",
        &["Identity", "CancelOrganizedMeetings", "QueryStartDate", "QueryWindowInDays", "PreviewOnly", "Confirm"],
        &["Identity", "QueryWindowInDays"],
    ),
    ("Clear-MobileDevice", &["Identity", "AccountOnly", "Confirm"], &["Identity"]),
    ("Remove-MobileDevice", &["Identity", "Confirm"], &["Identity"]),
    ("Get-InboxRule", &["Mailbox", "Identity", "IncludeHidden"], &["Mailbox"]),
    ("Remove-InboxRule", &["Identity", "Mailbox", "Confirm"], &["Identity"]),
    ("Get-DistributionGroupMember", &["Identity", "ResultSize"], &["Identity"]),
    ("Remove-DistributionGroupMember", &["Identity", "Member", "BypassSecurityGroupManagerCheck", "Confirm"], &["Identity", "Member"]),
    ("Add-DistributionGroupMember", &["Identity", "Member", "BypassSecurityGroupManagerCheck", "Confirm"], &["Identity", "Member"]),
    (
        "Remove-MailboxPermission",
        &["Identity", "User", "AccessRights", "InheritanceType", "Confirm"],
        &["Identity", "User", "AccessRights"],
    ),
    ("Get-MailboxAutoReplyConfiguration", &["Identity"], &["Identity"]),
    (
        "Set-MailboxAutoReplyConfiguration",
        &["Identity", "AutoReplyState", "InternalMessage", "ExternalMessage", "ExternalAudience", "StartTime", "EndTime", "Confirm"],
        &["Identity"],
    ),
    ("Remove-RecipientPermission", &["Identity", "Trustee", "AccessRights", "Confirm"], &["Identity", "Trustee", "AccessRights"]),
];

/// Bound parameters, by canonical name.
pub(super) struct P(pub(super) Map<String, Value>);

impl P {
    pub(super) fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
    pub(super) fn str(&self, k: &str) -> Result<Option<String>, crate::demo::reply::Reply> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(binding_error(&format!(
                "Cannot bind parameter '{k}'. Cannot convert the \"{other}\" value of type \"{}\" to type \"System.String\".",
                type_name(other)
            ))),
        }
    }
    pub(super) fn req(&self, k: &str) -> Result<String, crate::demo::reply::Reply> {
        self.str(k)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| binding_error(&format!("Cannot bind argument to parameter '{k}' because it is an empty string.")))
    }
    pub(super) fn bool(&self, k: &str) -> Result<Option<bool>, crate::demo::reply::Reply> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(binding_error(&format!(
                "Cannot process argument transformation on parameter '{k}'. Cannot convert value \"{other}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0."
            ))),
        }
    }
    /// A multi-valued parameter: a string or an array of strings.
    pub(super) fn list(&self, k: &str) -> Result<Vec<String>, crate::demo::reply::Reply> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                Ok(a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            }
            Some(other) => Err(binding_error(&format!("Cannot bind parameter '{k}'. Cannot convert \"{other}\" to a list of values."))),
        }
    }
}

/// A multi-valued parameter's new value, or None when it is not given: a list (or one value)
/// replaces the current one, null clears it, and Exchange's hashtable
/// `{"@odata.type": "#Exchange.GenericHashTable", "add": [...], "remove": [...]}` changes it.
/// `resolve` turns each value given into what is stored, or refuses it; removing a value that
/// is not there is no error, as in Exchange, and a value both added and removed ends up removed.
pub(super) fn multi_value(
    p: &P,
    k: &str,
    current: &[String],
    resolve: &mut dyn FnMut(&str) -> Result<String, crate::demo::reply::Reply>,
) -> Result<Option<Vec<String>>, crate::demo::reply::Reply> {
    let list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => vec![],
        }
    };
    let mut resolved = |vals: Vec<String>| vals.iter().map(|v| resolve(v)).collect::<Result<Vec<String>, _>>();
    match p.0.get(k) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(vec![])),
        Some(v @ (Value::String(_) | Value::Array(_))) => Ok(Some(resolved(list(Some(v)))?)),
        Some(Value::Object(h)) if h.get("@odata.type").and_then(Value::as_str) == Some("#Exchange.GenericHashTable") => {
            let (add, remove) = (resolved(list(h.get("add")))?, resolved(list(h.get("remove")))?);
            let mut out = current.to_vec();
            for a in add {
                if !out.iter().any(|c| c.eq_ignore_ascii_case(&a)) {
                    out.push(a);
                }
            }
            out.retain(|c| !remove.iter().any(|r| r.eq_ignore_ascii_case(c)));
            Ok(Some(out))
        }
        Some(other) => Err(binding_error(&format!("Cannot process argument transformation on parameter '{k}'. Cannot convert value \"{other}\" to type \"Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]\". A hashtable needs \"@odata.type\": \"#Exchange.GenericHashTable\"."))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "System.Boolean",
        Value::Number(_) => "System.Int32",
        Value::Array(_) => "System.Object[]",
        Value::Object(_) => "System.Collections.Hashtable",
        _ => "System.String",
    }
}

pub(super) fn bind(name: &str, given: &Map<String, Value>) -> Result<(&'static str, P), crate::demo::reply::Reply> {
    let Some((canon, allowed, mandatory)) = SPECS.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name)) else {
        return Err(exo_error(
            400,
            "BadRequest",
            "System.Management.Automation.CommandNotFoundException",
            &format!("The term '{name}' is not recognized as a name of a cmdlet, function, script file, or executable program."),
        ));
    };
    let mut bound = Map::new();
    for (k, v) in given {
        let Some(c) = allowed.iter().find(|a| a.eq_ignore_ascii_case(k)) else {
            return Err(binding_error(&format!("A parameter cannot be found that matches parameter name '{k}'.")));
        };
        bound.insert(c.to_string(), v.clone());
    }
    let missing: Vec<&str> = mandatory.iter().filter(|m| !bound.contains_key(**m)).copied().collect();
    if !missing.is_empty() {
        return Err(binding_error(&format!(
            "Cannot process command because of one or more missing mandatory parameters: {}.",
            missing.join(" ")
        )));
    }
    Ok((canon, P(bound)))
}
