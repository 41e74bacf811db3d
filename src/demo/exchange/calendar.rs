//! `Remove-CalendarEvents`: cancel the meetings a mailbox organises in a window of days, as
//! Exchange Online does for a leaver. Only meetings (items with attendees) are cancelled, never
//! appointments; the window starts at `-QueryStartDate` (today by default) and lasts
//! `-QueryWindowInDays` (mandatory, at most 1825); `-PreviewOnly` changes nothing. Nothing
//! happens without `-CancelOrganizedMeetings`. Cancelled meetings stay in the state file with
//! the time they were cancelled, so a test can see which ones went.

use chrono::{DateTime, NaiveDate, Utc};

use super::binding::{mailbox_ix, Output, P};
use super::binding_error;
use crate::demo::model::State;
use crate::demo::reply::Reply;

const MAX_WINDOW_DAYS: i64 = 1825;

/// An `ExDateTime`: ISO 8601 (with or without a time), or the US date forms the docs use
/// (`11-1-2018`, `11/1/2018`).
fn start_date(p: &P) -> Result<DateTime<Utc>, Reply> {
    let Some(v) = p.str("QueryStartDate")? else {
        return Ok(Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&v) {
        return Ok(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d", "%m-%d-%Y", "%m/%d/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(&v, f).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            binding_error(&format!(
                "Cannot process argument transformation on parameter 'QueryStartDate'. Cannot convert value \"{v}\" to type \"Microsoft.Exchange.ExchangeSystem.ExDateTime\"."
            ))
        })
}

pub(super) fn remove_events(st: &mut State, p: &P) -> Result<Output, Reply> {
    let ix = mailbox_ix(st, &p.req("Identity")?)?;
    let given = p.0.get("QueryWindowInDays");
    let days = given.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())));
    let Some(days) = days.filter(|d| (1..=MAX_WINDOW_DAYS).contains(d)) else {
        return Err(binding_error(&format!(
            "Cannot validate argument on parameter 'QueryWindowInDays'. The argument \"{}\" is not in the range 1 to {MAX_WINDOW_DAYS}.",
            given.map(|v| v.to_string()).unwrap_or_default()
        )));
    };
    let from = start_date(p)?;
    let to = from + chrono::Duration::days(days);
    let cancel = p.bool("CancelOrganizedMeetings")?.unwrap_or(p.has("CancelOrganizedMeetings"));
    let preview = p.bool("PreviewOnly")?.unwrap_or(p.has("PreviewOnly"));
    if cancel && !preview {
        let now = crate::demo::reply::now();
        for m in &mut st.exchange.mailboxes[ix].meetings {
            let starts = DateTime::parse_from_rfc3339(&m.start).map(|t| t.with_timezone(&Utc));
            let inside = starts.is_ok_and(|t| t >= from && t < to);
            if inside && !m.attendees.is_empty() && m.cancelled_at.is_none() {
                m.cancelled_at = Some(now.clone());
            }
        }
    }
    Ok(Output { value: vec![], warnings: vec![] })
}

/// `GET /users/{id}/events`: the meetings in the mailbox's calendar as Graph events (a cancelled
/// meeting leaves the organiser's calendar, as in Exchange). What a client reads to see whether
/// the leaver still organises anything.
pub(in crate::demo) fn graph_events(
    st: &State,
    ctx: &crate::demo::reply::Ctx,
    id: &str,
    q: &crate::demo::odata::Query,
    path: &str,
) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let uid = &st.users[uix].id;
    let Some(m) = st.exchange.mailboxes.iter().find(|m| &m.user_id == uid) else {
        return ctx.error(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.");
    };
    if q.filter.is_some() {
        return ctx.error(400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.");
    }
    let at = |t: &str| serde_json::json!({"dateTime": t.trim_end_matches('Z'), "timeZone": "UTC"});
    let items = m
        .meetings
        .iter()
        .enumerate()
        .filter(|(_, e)| e.cancelled_at.is_none())
        .map(|(i, e)| {
            let attendees: Vec<serde_json::Value> =
                e.attendees.iter().map(|a| serde_json::json!({"type": "required", "emailAddress": {"address": a}})).collect();
            serde_json::json!({
                "id": crate::demo::ids::derived_id("event", &format!("{uid}:{i}")),
                "subject": e.subject, "start": at(&e.start), "end": at(&e.end),
                "isOrganizer": true, "isCancelled": false, "attendees": attendees,
            })
        })
        .collect();
    let context = format!("https://graph.microsoft.com/v1.0/$metadata#users('{uid}')/events");
    Reply::json(200, crate::demo::odata::page(items, q, path, ctx, context))
}
