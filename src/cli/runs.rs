//! `runs list` (with its filters) and `runs show`.

use super::out::outln;
use chrono::{DateTime, Duration, Local, NaiveDate, Utc};

use super::args::RunsCommand;
use super::{open_journal, render, run_id, Ctx};
use crate::error::{Error, Result};
use crate::journal::{RunQuery, RunStatus};
use crate::workflow::clock;

pub(super) fn cmd_runs(ctx: &Ctx, command: RunsCommand) -> Result<u8> {
    let journal = open_journal(ctx)?;
    match command {
        RunsCommand::List { json, limit, user, tenant, status, since } => {
            let status = status
                .map(|s| {
                    RunStatus::parse(&s).ok_or_else(|| {
                        Error::Usage(format!(
                            "unknown run status '{s}' (planned, running, succeeded, failed, aborted, interrupted, not_confirmed)"
                        ))
                    })
                })
                .transpose()?;
            let since = since.as_deref().map(|s| parse_since(s, clock::now())).transpose()?;
            let q = RunQuery { user, tenant, status, since, limit, ..RunQuery::default() };
            let runs = journal.find_runs(&q)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&runs).unwrap_or_default());
            } else {
                super::pager::print_paged(&render::runs(&runs, ctx.color));
            }
        }
        RunsCommand::Show { run_id, json } => {
            let run_id = run_id::resolve(journal.as_ref(), &run_id, run_id::Kind::Any)?;
            let run = journal
                .get_run(&run_id)?
                .ok_or_else(|| Error::Usage(format!("no run with id '{run_id}' (see `offboard-host runs list`)")))?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&run).unwrap_or_default());
            } else {
                super::pager::print_paged(&render::run_detail(&run, ctx.color));
            }
        }
    }
    Ok(0)
}

/// `--since`: a date-time with its offset, a local date (from its midnight), or an age before `now`.
fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(Local).earliest());
        return midnight.map(|t| t.with_timezone(&Utc)).ok_or_else(|| Error::Usage(format!("--since {s}: no such local time")));
    }
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let age = n.parse::<i64>().ok().and_then(|n| match unit {
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => None,
    });
    age.map(|a| now - a).ok_or_else(|| {
        Error::Usage(format!("--since '{s}': give a date-time (2026-12-18T17:00:00+01:00), a date (2026-12-18) or an age (90m, 12h, 7d)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_time_a_date_or_an_age() {
        let now = DateTime::parse_from_rfc3339("2026-12-18T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_since("2026-12-18T17:00:00+01:00", now).unwrap().to_rfc3339(), "2026-12-18T16:00:00+00:00");
        assert_eq!(parse_since("12h", now).unwrap().to_rfc3339(), "2026-12-18T00:00:00+00:00");
        assert_eq!(parse_since("7d", now).unwrap().to_rfc3339(), "2026-12-11T12:00:00+00:00");
        assert_eq!(parse_since("90m", now).unwrap().to_rfc3339(), "2026-12-18T10:30:00+00:00");
        let local = parse_since("2026-12-18", now).unwrap().with_timezone(&Local);
        assert_eq!(local.format("%Y-%m-%d %H:%M").to_string(), "2026-12-18 00:00");
        for bad in ["yesterday", "7w", "", "d"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }
}
