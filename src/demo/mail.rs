//! `POST /users/{id}/sendMail` and `POST /groups/{id}/members/$ref`: what `notify_supervisor`
//! and `restore` send. Sent mail is kept in the state file (`sentMail`) for the tests to read.

use serde_json::Value;

pub use super::model::SentMail;
use super::model::State;
use super::reply::{now, Ctx, Reply};

pub fn send_mail(st: &mut State, ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let sender = &st.users[uix];
    if sender.mail.as_deref().is_none_or(str::is_empty) {
        return ctx.error(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.");
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return ctx.bad_request("Unable to read JSON request payload.");
    };
    // Graph matches sendMail's parameter and property names ignoring case (`Message`,
    // `SaveToSentItems`, `ToRecipients` all work), unlike most of its JSON.
    let m = get_ci(&v, "message");
    let to: Vec<String> = get_ci(m, "toRecipients")
        .as_array()
        .map(|a| a.iter().filter_map(|r| get_ci(get_ci(r, "emailAddress"), "address").as_str().map(String::from)).collect())
        .unwrap_or_default();
    if to.is_empty() {
        return ctx.error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.");
    }
    if !get_ci(&v, "saveToSentItems").is_null() && !get_ci(&v, "saveToSentItems").is_boolean() {
        return ctx.bad_request("Cannot convert the literal to the expected type 'Edm.Boolean'.");
    }
    let mail = SentMail {
        from: sender.user_principal_name.clone(),
        to,
        subject: get_ci(m, "subject").as_str().unwrap_or("").to_string(),
        body: get_ci(get_ci(m, "body"), "content").as_str().unwrap_or("").to_string(),
        sent_date_time: now(),
    };
    st.sent_mail.push(mail);
    Reply { status: 202, ..Reply::no_content() }
}

/// `v[key]` with the key matched ignoring case; `Null` when absent (as `v[key]` is).
fn get_ci<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)).unwrap_or(&Value::Null)
}
