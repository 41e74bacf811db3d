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
