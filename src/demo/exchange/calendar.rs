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

pub fn remove_events(st: &mut State, p: &P) -> Result<Output, Reply> {
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
