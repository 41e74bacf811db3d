//! `POST /users/{id}/sendMail` and `POST /groups/{id}/members/$ref`: what `notify_supervisor`
//! and `restore` send. Sent mail is kept in the state file (`sentMail`) for the tests to read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{LicenseState, State};
use super::reply::{now, Ctx, Reply};

/// One message the demo tenant "sent".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct SentMail {
    /// The sender mailbox's UPN.
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub sent_date_time: String,
}

pub fn send_mail(st: &mut State, ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let sender = &st.users[uix];
    if sender.mail.as_deref().is_none_or(str::is_empty) {
        return ctx.error(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.");
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return ctx.bad_request("Unable to read JSON request payload.");
    };
    let m = &v["message"];
    let to: Vec<String> = m["toRecipients"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["emailAddress"]["address"].as_str().map(String::from)).collect())
        .unwrap_or_default();
    if to.is_empty() {
        return ctx.error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.");
    }
    let mail = SentMail {
        from: sender.user_principal_name.clone(),
        to,
        subject: m["subject"].as_str().unwrap_or("").to_string(),
        body: m["body"]["content"].as_str().unwrap_or("").to_string(),
        sent_date_time: now(),
    };
    st.sent_mail.push(mail);
    Reply { status: 202, ..Reply::no_content() }
}

pub fn add_member(st: &mut State, ctx: &Ctx, gid: &str, body: &[u8]) -> Reply {
    let Some(gix) = st.group_index(gid) else { return ctx.not_found(gid) };
    let g = &st.groups[gix];
    if g.is_synced() {
        return ctx.on_prem_mastered();
    }
    if g.is_dynamic() || (g.mail_enabled && !g.is_unified()) {
        return ctx.bad_request("Insufficient privileges to complete the operation.");
    }
    let target = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("@odata.id").and_then(Value::as_str).map(String::from));
    let Some(target) = target else {
        return ctx.error(400, "BadRequest", "Unable to read JSON request payload. Expected a reference with '@odata.id'.");
    };
    let uid = target.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
    let Some(uix) = st.user_index(&uid) else { return ctx.not_found(&uid) };
    let uid = st.users[uix].id.clone();
    if st.groups[gix].members.iter().any(|m| m.eq_ignore_ascii_case(&uid)) {
        return ctx.bad_request("One or more added object references already exist for the following modified properties: 'members'.");
    }
    st.groups[gix].members.push(uid);
    // Group-based licensing: the group's licences come with the membership.
    let group_id = st.groups[gix].id.clone();
    let skus: Vec<String> = st.groups[gix].assigned_licenses.iter().map(|l| l.sku_id.clone()).collect();
    for sku in skus {
        st.users[uix].license_assignment_states.push(LicenseState {
            sku_id: sku,
            assigned_by_group: Some(group_id.clone()),
            state: "Active".into(),
            error: "None".into(),
            disabled_plans: vec![],
            last_updated_date_time: now(),
        });
    }
    Reply::no_content()
}
