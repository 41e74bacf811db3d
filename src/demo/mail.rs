//! `POST /users/{id}/sendMail`, and the sender's Sent Items (`GET
//! /users/{id}/mailFolders/SentItems/messages`) where a client finds its message again by an
//! extended property it set. Sent mail is kept in the state file (`sentMail`) for the tests.

use serde_json::{json, Value};

use super::model::State;
pub use super::model::{ExtendedProperty, SentMail};
use super::odata::{literal, strip_prefix_ci, Query};
use super::reply::{now, Ctx, Reply};

pub fn send_mail(st: &mut State, ctx: &Ctx, id: &str, body: &[u8], lost: bool) -> Reply {
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
    let save = get_ci(&v, "saveToSentItems");
    if !save.is_null() && !save.is_boolean() {
        return ctx.bad_request("Cannot convert the literal to the expected type 'Edm.Boolean'.");
    }
    let mut props = Vec::new();
    for p in get_ci(m, "singleValueExtendedProperties").as_array().into_iter().flatten() {
        match (p["id"].as_str(), p["value"].as_str()) {
            (Some(id), Some(value)) if valid_property_id(id) => props.push(ExtendedProperty { id: id.into(), value: value.into() }),
            _ => {
                return ctx
                    .bad_request("The extended property is not valid: each needs an 'id' of the form 'Type {guid} Name x' and a 'value'.")
            }
        }
    }
    let mail = SentMail {
        id: format!("AAMk{:08}", st.sent_mail.len() + 1),
        from: sender.user_principal_name.clone(),
        to,
        subject: get_ci(m, "subject").as_str().unwrap_or("").to_string(),
        body: get_ci(get_ci(m, "body"), "content").as_str().unwrap_or("").to_string(),
        sent_date_time: now(),
        single_value_extended_properties: props,
        saved_to_sent_items: save.as_bool().unwrap_or(true),
    };
    if !lost {
        st.sent_mail.push(mail);
    }
    Reply { status: 202, ..Reply::no_content() }
}

/// `v[key]` with the key matched ignoring case; `Null` when absent (as `v[key]` is).
fn get_ci<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)).unwrap_or(&Value::Null)
}

/// `String {00020386-0000-0000-c000-000000000046} Name x-marker` and the like: a type, a GUID in
/// braces, then `Name ...` or `Id 0x...`.
fn valid_property_id(id: &str) -> bool {
    let mut parts = id.splitn(3, ' ');
    let (Some(ty), Some(guid), Some(rest)) = (parts.next(), parts.next(), parts.next()) else { return false };
    !ty.is_empty()
        && guid.starts_with('{')
        && guid.ends_with('}')
        && guid.len() == 38
        && (rest.starts_with("Name ") || rest.starts_with("Id "))
}

/// `GET /users/{id}/mailFolders/{folder}/messages`: only the well-known `SentItems` folder, with
/// the one filter a client uses to find its own message:
/// `singleValueExtendedProperties/any(ep: ep/id eq '...' and ep/value eq '...')`.
pub fn folder_messages(st: &State, ctx: &Ctx, id: &str, folder: &str, q: &Query) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    if !folder.eq_ignore_ascii_case("sentitems") {
        return ctx.error(404, "ErrorInvalidIdMalformed", "Id is malformed.");
    }
    let upn = &st.users[uix].user_principal_name;
    let wanted = match q.filter.as_deref().map(extended_property_filter) {
        None => None,
        Some(Some(f)) => Some(f),
        Some(None) => return ctx.error(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."),
    };
    let value: Vec<Value> = st
        .sent_mail
        .iter()
        .filter(|m| m.saved_to_sent_items && m.from.eq_ignore_ascii_case(upn))
        .filter(|m| {
            wanted
                .as_ref()
                .is_none_or(|(pid, pv)| m.single_value_extended_properties.iter().any(|p| p.id.eq_ignore_ascii_case(pid) && &p.value == pv))
        })
        .map(|m| {
            let to: Vec<Value> = m.to.iter().map(|a| json!({"emailAddress": {"address": a}})).collect();
            json!({"id": m.id, "subject": m.subject, "sentDateTime": m.sent_date_time, "toRecipients": to})
        })
        .map(|v| select(v, q))
        .collect();
    Reply::json(200, json!({"value": value}))
}

fn select(v: Value, q: &Query) -> Value {
    match (&q.select, v) {
        (Some(props), Value::Object(o)) => {
            Value::Object(o.into_iter().filter(|(k, _)| k == "id" || props.iter().any(|p| p.eq_ignore_ascii_case(k))).collect())
        }
        (_, v) => v,
    }
}

/// `singleValueExtendedProperties/any(ep: ep/id eq 'X' and ep/value eq 'Y')` → (X, Y).
fn extended_property_filter(s: &str) -> Option<(String, String)> {
    let rest = strip_prefix_ci(s.trim(), "singleValueExtendedProperties/any(")?;
    let (var, rest) = rest.split_once(':')?;
    let var = var.trim();
    let rest = strip_prefix_ci(rest.trim_start(), &format!("{var}/id"))?;
    let rest = strip_prefix_ci(rest.trim_start(), "eq")?;
    let (pid, rest) = literal(rest.trim_start())?;
    let rest = strip_prefix_ci(rest.trim_start(), "and")?;
    let rest = strip_prefix_ci(rest.trim_start(), &format!("{var}/value"))?;
    let rest = strip_prefix_ci(rest.trim_start(), "eq")?;
    let (pv, rest) = literal(rest.trim_start())?;
    (rest.trim() == ")").then_some((pid, pv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extended_property_filter_is_parsed_and_anything_else_refused() {
        let f =
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name M' and ep/value eq 'a''b')";
        assert_eq!(extended_property_filter(f), Some(("String {66f5a359-4659-4830-9070-00047ec6ac6e} Name M".into(), "a'b".into())));
        assert_eq!(extended_property_filter("subject eq 'x'"), None);
        assert_eq!(extended_property_filter("singleValueExtendedProperties/any(ep: ep/id eq 'x')"), None);
        assert!(valid_property_id("String {66f5a359-4659-4830-9070-00047ec6ac6e} Name M"));
        assert!(!valid_property_id("String 66f5a359 Name M"));
    }
}
