//! `Get-CASMailbox` and `Set-CASMailbox`: the client protocols a mailbox may be reached by
//! (Exchange ActiveSync, Outlook on the web, POP, IMAP, MAPI, EWS) and the ActiveSync devices
//! it blocks. Every protocol is on until switched off; `Set-CASMailbox` binds all its
//! parameters before it changes anything, as PowerShell does.

use serde_json::{json, Value};

use super::binding::{mailbox_ix, multi_value, out, Output, P};
use super::model::Mailbox;
use crate::demo::model::State;
use crate::demo::reply::Reply;

/// The protocol switches, as Exchange names them.
const PROTOCOLS: &[&str] = &["ActiveSyncEnabled", "OWAEnabled", "PopEnabled", "ImapEnabled", "MAPIEnabled", "EwsEnabled"];

fn cas_json(m: &Mailbox) -> Value {
    let mut v = json!({
        "Identity": m.alias, "Name": m.alias, "DisplayName": m.display_name, "PrimarySmtpAddress": m.upn,
        "ActiveSyncBlockedDeviceIDs": m.blocked_device_ids,
    });
    for p in PROTOCOLS {
        v[*p] = json!(!m.protocols_off.iter().any(|o| o == p));
    }
    v
}

pub fn run(st: &mut State, cmdlet: &str, p: &P) -> Result<Output, Reply> {
    if cmdlet == "Get-CASMailbox" {
        return match p.str("Identity")? {
            Some(id) => out(vec![cas_json(&st.exchange.mailboxes[mailbox_ix(st, &id)?])]),
            None => out(st.exchange.mailboxes.iter().map(cas_json).collect()),
        };
    }
    let ix = mailbox_ix(st, &p.req("Identity")?)?;
    let mut switches = Vec::new();
    for name in PROTOCOLS {
        if let Some(on) = p.bool(name)? {
            switches.push((*name, on));
        }
    }
    let current = st.exchange.mailboxes[ix].blocked_device_ids.clone();
    let blocked = multi_value(p, "ActiveSyncBlockedDeviceIDs", &current, &mut |id| Ok(id.to_string()))?;
    let m = &mut st.exchange.mailboxes[ix];
    for (name, on) in switches {
        m.protocols_off.retain(|o| o != name);
        if !on {
            m.protocols_off.push(name.to_string());
        }
    }
    if let Some(b) = blocked {
        m.blocked_device_ids = b;
    }
    out(vec![])
}
