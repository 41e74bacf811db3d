//! `Get-` and `Set-MailboxAutoReplyConfiguration`: the Exchange side of the automatic replies
//! that Graph's `mailboxSettings.automaticRepliesSetting` reads and writes. Both work on the same
//! stored setting (kept in Graph's shape), so a client may use either and see the other's write.
//!
//! Exchange's enums differ from Graph's: `AutoReplyState` is Enabled / Disabled / Scheduled
//! (Graph: alwaysEnabled / disabled / scheduled) and `ExternalAudience` None / Known / All
//! (Graph: none / contactsOnly / all). A value outside the enum is a binding error, as in
//! PowerShell.

use serde_json::{json, Value};

use super::binding::{mailbox_ix, Output, P};
use super::binding_error;
use crate::demo::model::State;
use crate::demo::reply::Reply;

const STATES: &[(&str, &str)] = &[("Enabled", "alwaysEnabled"), ("Disabled", "disabled"), ("Scheduled", "scheduled")];
const AUDIENCES: &[(&str, &str)] = &[("None", "none"), ("Known", "contactsOnly"), ("All", "all")];

/// An Exchange enum value (any case) as Graph's, or the binding error PowerShell gives.
fn to_graph(p: &P, param: &str, table: &[(&'static str, &'static str)]) -> Result<Option<&'static str>, Reply> {
    let Some(v) = p.str(param)? else { return Ok(None) };
    let names: Vec<&str> = table.iter().map(|(e, _)| *e).collect();
    table.iter().find(|(e, _)| e.eq_ignore_ascii_case(&v)).map(|(_, g)| Some(*g)).ok_or_else(|| {
        binding_error(&format!(
            "Cannot bind parameter '{param}'. Cannot convert value \"{v}\" to type \"{param}\". Error: \"Unable to match the identifier name {v} to a valid enumerator name. Specify one of the following enumerator names and try again: {}\"",
            names.join(", ")
        ))
    })
}

fn from_graph(table: &[(&str, &str)], graph: &str) -> String {
    table.iter().find(|(_, g)| g.eq_ignore_ascii_case(graph)).map(|(e, _)| e.to_string()).unwrap_or_else(|| graph.to_string())
}

/// A `DateTime` parameter: ISO 8601, with or without an offset; stored as Graph's UTC dateTime.
fn time(p: &P, param: &str) -> Result<Option<Value>, Reply> {
    let Some(v) = p.str(param)? else { return Ok(None) };
    let parsed = chrono::DateTime::parse_from_rfc3339(&v)
        .map(|t| t.naive_utc())
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S"));
    match parsed {
        Ok(t) => Ok(Some(json!({"dateTime": format!("{}.0000000", t.format("%Y-%m-%dT%H:%M:%S")), "timeZone": "UTC"}))),
        Err(_) => Err(binding_error(&format!(
            "Cannot bind parameter '{param}'. Cannot convert value \"{v}\" to type \"System.DateTime\". Error: \"String was not recognized as a valid DateTime.\""
        ))),
    }
}

pub fn run(st: &mut State, cmdlet: &str, p: &P) -> Result<Output, Reply> {
    let ix = mailbox_ix(st, &p.req("Identity")?)?;
    if cmdlet.starts_with("Set-") {
        // Bind every parameter before changing anything, as PowerShell does.
        let state = to_graph(p, "AutoReplyState", STATES)?;
        let audience = to_graph(p, "ExternalAudience", AUDIENCES)?;
        let (start, end) = (time(p, "StartTime")?, time(p, "EndTime")?);
        let (internal, external) = (p.str("InternalMessage")?, p.str("ExternalMessage")?);
        let cur = &mut st.exchange.mailboxes[ix].auto_replies;
        let fields = [
            ("status", state.map(Value::from)),
            ("externalAudience", audience.map(Value::from)),
            ("internalReplyMessage", internal.map(Value::from)),
            ("externalReplyMessage", external.map(Value::from)),
            ("scheduledStartDateTime", start),
            ("scheduledEndDateTime", end),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                cur[k] = v;
            }
        }
        // Set-* cmdlets return nothing.
        return Ok(Output { value: vec![], warnings: vec![] });
    }
    let m = &st.exchange.mailboxes[ix];
    let a = &m.auto_replies;
    let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
    Ok(Output {
        value: vec![json!({
            "Identity": m.upn,
            "AutoReplyState": from_graph(STATES, &s("status")),
            "ExternalAudience": from_graph(AUDIENCES, &s("externalAudience")),
            "InternalMessage": s("internalReplyMessage"),
            "ExternalMessage": s("externalReplyMessage"),
            "StartTime": a["scheduledStartDateTime"]["dateTime"],
            "EndTime": a["scheduledEndDateTime"]["dateTime"],
        })],
        warnings: vec![],
    })
}
