//! Workflow control around runs: approval, scheduled runs, bulk runs.
//!
//! None of this changes how a run works: an approval or a schedule is a *plan run* kept in the
//! journal (`journal::workflow`), and carrying it out is a new plan compared with the kept one,
//! then an ordinary apply run. The comparison ([`plan_changes`]) is what binds an approval to the
//! plan that was approved: same script hash (script + stdlib), same steps (action, target id,
//! status).

pub mod bulk;
pub mod clock;
pub mod restore;
pub mod restore_ad;

use crate::exec::report::Report;
use crate::journal::PlannedStep;

/// The steps of a plan report, as kept with an approval or a schedule.
pub fn planned_steps(report: &Report) -> Vec<PlannedStep> {
    report
        .steps
        .iter()
        .map(|s| PlannedStep {
            action: s.action.clone(),
            target_id: s.target_id.clone(),
            target: s.target.clone(),
            status: s.status.as_str().to_string(),
        })
        .collect()
}

/// What differs between the kept plan and a new one, one line each (empty: the same plan).
/// Steps are compared as a multiset: the order of actions inside a phase is not part of a plan.
pub fn plan_changes(old_hash: &str, old: &[PlannedStep], new_hash: &str, new: &[PlannedStep]) -> Vec<String> {
    let mut out = Vec::new();
    if old_hash != new_hash {
        out.push(format!("the script or its stdlib changed (hash {} → {})", short(old_hash), short(new_hash)));
    }
    let key = |s: &PlannedStep| (s.action.clone(), s.target_id.clone(), s.status.clone());
    let mut rest: Vec<_> = new.iter().collect();
    for s in old {
        match rest.iter().position(|n| key(n) == key(s)) {
            Some(i) => {
                rest.remove(i);
            }
            None => out.push(format!("- {} {} ({}) was {}", s.action, display(s), s.target_id, s.status)),
        }
    }
    for s in rest {
        out.push(format!("+ {} {} ({}) is now {}", s.action, display(s), s.target_id, s.status));
    }
    out
}

fn display(s: &PlannedStep) -> &str {
    if s.target.is_empty() {
        &s.target_id
    } else {
        &s.target
    }
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(a: &str, t: &str, s: &str) -> PlannedStep {
        PlannedStep { action: a.into(), target_id: t.into(), target: String::new(), status: s.into() }
    }

    #[test]
    fn same_steps_in_another_order_are_the_same_plan() {
        let a = [st("x", "1", "planned"), st("y", "2", "planned")];
        let b = [st("y", "2", "planned"), st("x", "1", "planned")];
        assert!(plan_changes("h", &a, "h", &b).is_empty());
        let c = [st("x", "1", "already_done"), st("y", "2", "planned")];
        assert_eq!(plan_changes("h", &a, "h", &c).len(), 2);
        assert_eq!(plan_changes("h", &a, "g", &a).len(), 1);
    }
}
