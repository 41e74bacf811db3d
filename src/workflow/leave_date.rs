//! `run --last-day DATE`: the due time of a scheduled run from the client's defaults, "the last
//! day at `leave_time` in `time_zone`", instead of an instant with its offset (`--at`).
//!
//! Nothing is guessed: a missing or malformed time zone or time is refused, and so is a local
//! time that does not exist on that day (a daylight-saving gap: the clocks jump over it). A local
//! time that happens twice (the clocks go back) is the first of the two, and the answer says so,
//! so the run is never late; an MSP that wants the second one gives it with `--at`.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The setting with the time of day a `--last-day` run is due.
pub const LEAVE_TIME: &str = "leave_time";
/// The setting with the client's IANA time zone.
pub const TIME_ZONE: &str = "time_zone";

/// `--last-day from-directory`: the last day is the user's `employeeLeaveDateTime` in Entra.
pub const FROM_DIRECTORY: &str = "from-directory";

/// The last day an `employeeLeaveDateTime` value names: its calendar date in UTC. Entra keeps a
/// date-time, and a last day entered as a date (in the portal, by HR provisioning) is kept at
/// midnight UTC, which Lifecycle Workflows' leaver trigger also reads as that UTC day; taking the
/// date in the client's own zone would move a date entered for a client west of UTC a day early.
pub fn leave_day_of(value: &str) -> Result<NaiveDate, String> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc).date_naive())
        .map_err(|e| format!("employeeLeaveDateTime '{value}' is not a date-time ({e})"))
}

/// When a run for a last day is due, and a note when the local time was ambiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveDue {
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// The instant `leave_time` (HH:MM, 24 h) on `date` (YYYY-MM-DD) in `time_zone` (IANA, e.g.
/// Europe/Berlin). `None` for a setting means the client's defaults lack it: refused.
pub fn leave_due(date: &str, leave_time: Option<&str>, time_zone: Option<&str>) -> Result<LeaveDue, String> {
    let day = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|e| format!("--last-day '{date}': expected a date like 2026-12-15 ({e})"))?;
    let missing = |key: &str, example: &str| {
        format!("--last-day needs the client's `{key}` in its [defaults] (e.g. {key} = \"{example}\"); it is not set, and is not guessed")
    };
    let time = leave_time.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| missing(LEAVE_TIME, "17:00"))?;
    let zone = time_zone.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| missing(TIME_ZONE, "Europe/Berlin"))?;
    let time =
        NaiveTime::parse_from_str(time, "%H:%M").map_err(|e| format!("{LEAVE_TIME} '{time}': expected a time of day like 17:00 ({e})"))?;
    let tz: Tz = zone.parse().map_err(|_| format!("{TIME_ZONE} '{zone}': not an IANA time zone (e.g. Europe/Berlin, America/New_York)"))?;
    let local = day.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(LeaveDue { at: t.with_timezone(&Utc), note: None }),
        LocalResult::Ambiguous(first, second) => Ok(LeaveDue {
            at: first.with_timezone(&Utc),
            note: Some(format!(
                "{local} happens twice in {zone} (the clocks go back): the first, {}, was taken; give --at {} for the second",
                first.to_rfc3339(),
                second.to_rfc3339()
            )),
        }),
        LocalResult::None => Err(format!(
            "{local} does not exist in {zone} (the clocks jump over it that day): nothing was scheduled; give --at with an offset, or another {LEAVE_TIME}"
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_directory_leave_date_is_its_utc_day() {
        use super::leave_day_of;
        assert_eq!(leave_day_of("2026-12-18T00:00:00Z").unwrap().to_string(), "2026-12-18");
        assert_eq!(leave_day_of("2026-12-18T23:30:00-05:00").unwrap().to_string(), "2026-12-19");
        assert!(leave_day_of("18/12/2026").unwrap_err().contains("not a date-time"));
    }

    use super::*;

    #[test]
    fn the_last_day_at_the_leave_time_in_the_clients_zone() {
        // Winter: Berlin is UTC+1; summer: UTC+2.
        let d = leave_due("2026-12-15", Some("17:00"), Some("Europe/Berlin")).unwrap();
        assert_eq!((d.at.to_rfc3339(), d.note), ("2026-12-15T16:00:00+00:00".to_string(), None));
        let d = leave_due("2026-07-01", Some("17:00"), Some("Europe/Berlin")).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2026-07-01T15:00:00+00:00");
        let d = leave_due(" 2026-12-15 ", Some("09:30"), Some("America/New_York")).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2026-12-15T14:30:00+00:00");
    }

    #[test]
    fn missing_or_malformed_defaults_are_refused_not_guessed() {
        let e = leave_due("2026-12-15", None, Some("Europe/Berlin")).unwrap_err();
        assert!(e.contains("leave_time") && e.contains("not guessed"), "{e}");
        let e = leave_due("2026-12-15", Some("17:00"), Some(" ")).unwrap_err();
        assert!(e.contains("time_zone") && e.contains("not guessed"), "{e}");
        let e = leave_due("2026-12-15", Some("17:00"), Some("Europe/Berln")).unwrap_err();
        assert!(e.contains("not an IANA time zone"), "{e}");
        let e = leave_due("2026-12-15", Some("5pm"), Some("Europe/Berlin")).unwrap_err();
        assert!(e.contains("expected a time of day"), "{e}");
        let e = leave_due("15.12.2026", Some("17:00"), Some("Europe/Berlin")).unwrap_err();
        assert!(e.contains("expected a date"), "{e}");
        assert!(leave_due("2026-02-30", Some("17:00"), Some("Europe/Berlin")).is_err());
    }

    #[test]
    fn a_daylight_saving_gap_is_refused_and_an_overlap_takes_the_first() {
        // 2026-03-29 in Berlin: 02:00 → 03:00, so 02:30 never happens.
        let e = leave_due("2026-03-29", Some("02:30"), Some("Europe/Berlin")).unwrap_err();
        assert!(e.contains("does not exist") && e.contains("nothing was scheduled"), "{e}");
        // 2026-10-25: 03:00 → 02:00, so 02:30 happens at +02:00, then at +01:00.
        let d = leave_due("2026-10-25", Some("02:30"), Some("Europe/Berlin")).unwrap();
        assert_eq!(d.at.to_rfc3339(), "2026-10-25T00:30:00+00:00");
        let note = d.note.expect("the ambiguity is told");
        assert!(note.contains("happens twice") && note.contains("2026-10-25T02:30:00+01:00"), "{note}");
    }
}
