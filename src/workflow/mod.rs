//! Workflow control around runs: approval, scheduled runs, bulk runs.
//!
//! None of this changes how a run works: an approval or a schedule is a *plan run* kept in the
//! journal (`journal::workflow`), and carrying it out is a new plan compared with the kept one,
//! then an ordinary apply run. The comparison ([`plan_changes`]) is what binds an approval to the
//! plan that was approved: same script hash (script + stdlib), same steps (action, target id,
//! status and every parameter the step will send: trustee, forwarding address, licence, ...).
//! [`binding`] ties the approval to the tenant's policy and to the people who asked and approved.

/// The `Action` boilerplate of a reverse action: name, directory, target, and the user as the
/// subject (by object id, or in AD by objectGUID). Every reverse action observes first, so it is
/// idempotent. Defined before the modules so that all the `restore*` files can use it.
macro_rules! restore_action {
    ($name:literal, $target:expr) => {
        restore_action!($name, "cloud", $target);
    };
    ($name:literal, $dir:literal, $target:expr) => {
        restore_action!($name, $dir, $target, subject: id);
    };
    // An AD reverse action names its subject by the objectGUID (`subject: guid`).
    ($name:literal, $dir:literal, $target:expr, subject: $subject:ident) => {
        fn action(&self) -> &'static str {
            $name
        }
        fn directory(&self) -> &'static str {
            $dir
        }
        fn target(&self) -> $crate::exec::Target {
            #[allow(clippy::redundant_closure_call)]
            ($target)(self)
        }
        fn subject_id(&self) -> String {
            self.user.$subject.clone()
        }
        fn idempotent(&self) -> bool {
            true
        }
    };
}

pub mod binding;
pub mod bulk;
pub mod clock;
pub mod leave_date;
pub mod restore;
pub mod restore_ad;
pub mod restore_mailbox;
pub mod restore_script;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::exec::report::Report;
use crate::journal::{Journal, Mode, PlannedStep, RunQuery, RunSummary, WorkItem};

/// The latest apply run that carried out `item` (an approval or a schedule): the apply run keeps
/// the item's id in its journalled options (`work_item`), so a process that finds the item left
/// half-way (its process died) can tell whether its apply had begun, and how it stands.
pub fn apply_run_of(journal: &dyn Journal, item: &WorkItem) -> crate::journal::Result<Option<RunSummary>> {
    let q = RunQuery {
        tenant: Some(item.tenant.clone()),
        user: Some(item.user.clone()),
        mode: Some(Mode::Apply),
        since: Some(item.created_at),
        ..RunQuery::default()
    };
    for run in journal.find_runs(&q)? {
        // Newest first: the first that names the item is its latest.
        if journal.get_run(&run.run_id)?.is_some_and(|d| d.options["work_item"].as_str() == Some(item.id.as_str())) {
            return Ok(Some(run));
        }
    }
    Ok(None)
}

/// What a plan would write that the kept plan did not cover: the script changed, or a step to
/// be written (`planned`) that is not one of the kept plan's planned steps with every parameter
/// the same. Unlike [`plan_changes`], a step already done (or no longer there) is not a change:
/// this is what continuing an interrupted apply of an approved plan may do, and no more.
pub fn plan_beyond(old_hash: &str, old: &[PlannedStep], new_hash: &str, new: &[PlannedStep]) -> Vec<String> {
    let mut out: Vec<String> = script_changed(old_hash, new_hash).into_iter().collect();
    let mut covered: Vec<&PlannedStep> = old.iter().filter(|s| s.status == "planned").collect();
    for n in new.iter().filter(|s| s.status == "planned") {
        match covered.iter().position(|s| same_step(n, s) && n.params == s.params) {
            Some(i) => {
                covered.remove(i);
            }
            None => out.push(format!("+ {} {} ({}) was not approved", n.action, display(n), n.target_id)),
        }
    }
    out
}

/// The steps of a plan report, as kept with an approval or a schedule. The parameters come from
/// the journal (the report does not carry them): what the plan run recorded is what is compared.
pub fn planned_steps(report: &Report, journal: &dyn Journal) -> crate::journal::Result<Vec<PlannedStep>> {
    let params: BTreeMap<String, Value> = journal
        .get_run(&report.run_id)?
        .map(|d| d.steps.into_iter().map(|s| (s.step.step_id, s.step.params)).collect())
        .unwrap_or_default();
    Ok(report
        .steps
        .iter()
        .map(|s| PlannedStep {
            action: s.action.clone(),
            target_id: s.target_id.clone(),
            target: s.target.clone(),
            status: s.status.as_str().to_string(),
            params: params.get(&s.id).cloned().unwrap_or(Value::Null),
        })
        .collect())
}

/// What differs between the kept plan and a new one, one line each (empty: the same plan).
/// Steps are compared as a multiset: the order of actions inside a phase is not part of a plan.
/// A step is the same only when its action, target, status and parameters all are; a step whose
/// action and target stayed but whose parameters changed (a new manager as the trustee) is named
/// with both values, so the reviewer sees what the approval did not cover.
pub fn plan_changes(old_hash: &str, old: &[PlannedStep], new_hash: &str, new: &[PlannedStep]) -> Vec<String> {
    let mut out: Vec<String> = script_changed(old_hash, new_hash).into_iter().collect();
    let mut gone = Vec::new();
    let mut rest: Vec<_> = new.iter().collect();
    for s in old {
        match rest.iter().position(|n| same_step(n, s) && n.params == s.params && n.status == s.status) {
            Some(i) => {
                rest.remove(i);
            }
            None => gone.push(s),
        }
    }
    for s in gone {
        // The same action on the same target with other parameters or status: one line for both.
        if let Some(i) = rest.iter().position(|n| same_step(n, s)) {
            let n = rest.remove(i);
            let what = if n.params != s.params {
                format!("parameters {} → {}", params(&s.params), params(&n.params))
            } else {
                format!("was {}, is now {}", s.status, n.status)
            };
            out.push(format!("~ {} {} ({}) changed: {what}", s.action, display(s), s.target_id));
        } else {
            out.push(format!("- {} {} ({}) was {}", s.action, display(s), s.target_id, s.status));
        }
    }
    for s in rest {
        out.push(format!("+ {} {} ({}) is now {}", s.action, display(s), s.target_id, s.status));
    }
    out
}

/// The line both comparisons begin with when the script (or its stdlib) is not the same.
fn script_changed(old_hash: &str, new_hash: &str) -> Option<String> {
    (old_hash != new_hash).then(|| format!("the script or its stdlib changed (hash {} → {})", short(old_hash), short(new_hash)))
}

fn same_step(a: &PlannedStep, b: &PlannedStep) -> bool {
    a.action == b.action && a.target_id == b.target_id
}

fn params(v: &Value) -> String {
    if v.is_null() {
        "(none)".into()
    } else {
        v.to_string()
    }
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
        PlannedStep { action: a.into(), target_id: t.into(), target: String::new(), status: s.into(), params: Value::Null }
    }

    #[test]
    fn same_steps_in_another_order_are_the_same_plan() {
        let a = [st("x", "1", "planned"), st("y", "2", "planned")];
        let b = [st("y", "2", "planned"), st("x", "1", "planned")];
        assert!(plan_changes("h", &a, "h", &b).is_empty());
        let c = [st("x", "1", "already_done"), st("y", "2", "planned")];
        // One line for the one step whose status changed.
        let changed = plan_changes("h", &a, "h", &c);
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(changed[0].contains("was planned, is now already_done"), "{changed:?}");
        assert_eq!(plan_changes("h", &a, "h", &a[..1]).len(), 1);
        assert_eq!(plan_changes("h", &a, "g", &a).len(), 1);
    }

    #[test]
    fn a_changed_parameter_is_a_changed_step() {
        let grant = |who: &str| PlannedStep {
            params: serde_json::json!({"trustee": who, "access": "FullAccess"}),
            ..st("grant_mailbox_permission", "u1", "planned")
        };
        assert!(plan_changes("h", &[grant("m1@x")], "h", &[grant("m1@x")]).is_empty());
        let c = plan_changes("h", &[grant("m1@x")], "h", &[grant("m2@x")]);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].contains("grant_mailbox_permission") && c[0].contains("m1@x") && c[0].contains("m2@x"), "{c:?}");
    }

    #[test]
    fn continuing_an_approved_plan_may_skip_what_is_done_and_add_nothing() {
        let grant =
            |who: &str| PlannedStep { params: serde_json::json!({"trustee": who}), ..st("grant_mailbox_permission", "u1", "planned") };
        let approved = [st("disable", "u1", "planned"), grant("m1@x")];
        // Done by the interrupted run, or gone: nothing beyond the approval.
        assert!(plan_beyond("h", &approved, "h", &[st("disable", "u1", "already_done"), grant("m1@x")]).is_empty());
        assert!(plan_beyond("h", &approved, "h", &[]).is_empty());
        // Another trustee, a step never approved, another script: each named.
        let c = plan_beyond("h", &approved, "h", &[grant("m2@x")]);
        assert!(c.len() == 1 && c[0].contains("was not approved"), "{c:?}");
        assert_eq!(plan_beyond("h", &approved, "h", &[st("delete", "u1", "planned")]).len(), 1);
        assert_eq!(plan_beyond("h", &approved, "g", &approved).len(), 1);
        // A step approved once is covered once.
        assert_eq!(plan_beyond("h", &approved, "h", &[grant("m1@x"), grant("m1@x")]).len(), 1);
    }
}
