//! A run named the short way: a unique prefix of its id, or `last`, wherever a run id is taken.
//!
//! Run ids are `YYYYMMDD-HHMMSS-xxxxxx`, too long to type and wider than a narrow terminal's
//! column. A prefix that is not in the journal is passed on unchanged, so each command still says
//! in its own words that there is no such run.

use crate::error::{Error, Result};
use crate::journal::{Journal, Mode, RunQuery, WorkKind};

/// What `last` means for a command: the newest run of the kind it acts on.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// `runs show`: any run.
    Any,
    /// `restore`: an apply run (a plan changed nothing).
    Apply,
    /// `approve`, `reject`, `apply`: a plan kept for approval.
    Approval,
    /// `schedule cancel`: a plan kept for a schedule.
    Schedule,
}

impl Kind {
    fn query(self) -> RunQuery {
        let mut q = RunQuery::default();
        match self {
            Kind::Any => {}
            Kind::Apply => q.mode = Some(Mode::Apply),
            Kind::Approval => q.workflow = Some(WorkKind::Approval),
            Kind::Schedule => q.workflow = Some(WorkKind::Schedule),
        }
        q
    }
}

/// How many candidates an ambiguous prefix lists.
const SHOWN: usize = 10;

/// The full run id `spec` names. An ambiguous prefix is an error listing the candidates (exit 2);
/// among them, the ones of the command's kind decide if only one is.
pub(super) fn resolve(journal: &dyn Journal, spec: &str, kind: Kind) -> Result<String> {
    let spec = spec.trim();
    let resolved = if spec.eq_ignore_ascii_case("last") {
        let q = RunQuery { limit: 1, ..kind.query() };
        let newest = journal.find_runs(&q)?.into_iter().next();
        newest
            .map(|r| r.run_id)
            .ok_or_else(|| Error::Usage(format!("no run for `last` yet (see `offboard-host runs list`){}", kind.what())))?
    } else {
        let all = journal.find_runs(&RunQuery { id_prefix: Some(spec.to_string()), limit: usize::MAX, ..RunQuery::default() })?;
        if all.is_empty() || all.iter().any(|r| r.run_id == spec) {
            return Ok(spec.to_string());
        }
        if all.len() == 1 {
            all[0].run_id.clone()
        } else {
            let of_kind = journal.find_runs(&RunQuery { id_prefix: Some(spec.to_string()), limit: 2, ..kind.query() })?;
            match of_kind.as_slice() {
                [only] => only.run_id.clone(),
                _ => {
                    let mut lines: Vec<String> = all
                        .iter()
                        .take(SHOWN)
                        .map(|r| format!("  {}  {} {} {} {}", r.run_id, r.mode.as_str(), r.status.as_str(), r.tenant, r.user))
                        .collect();
                    if all.len() > SHOWN {
                        lines.push(format!("  ... and {} more", all.len() - SHOWN));
                    }
                    return Err(Error::Usage(format!(
                        "run id prefix '{spec}' is ambiguous: {} runs match; give more of the id:\n{}",
                        all.len(),
                        lines.join("\n")
                    )));
                }
            }
        }
    };
    // Say which run a short name chose, before anything is done to it.
    eprintln!("run {resolved}");
    Ok(resolved)
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Any => "",
            Kind::Apply => ": no apply run",
            Kind::Approval => ": no run awaits or had an approval",
            Kind::Schedule => ": no run was scheduled",
        }
    }
}
