//! Deciding on an approval request and carrying out an approved run: what `offboard-host
//! approve` / `reject` / `apply` and the console's approval pages share, so the rules below hold
//! whoever decides, from wherever.
//!
//! - only a listed approver decides, and only while the request has not expired;
//! - the request keeps the digest of the policy it was made under (Graph tenant id, approvers,
//!   expiry: `workflow::binding`); deciding and applying are refused under a configuration
//!   whose policy differs, or that has no `[approval]` at all;
//! - four eyes: the principal that decides (an OS account and host, or `console:<e-mail>`) is
//!   recorded, and may not be the one that requested an approval;
//! - applying re-plans first and applies only when the script hash and the steps (action,
//!   target, every parameter) are the ones approved, and the request has not expired;
//! - an approved run is applied once (`approved` → `applying` is a conditional update).

use std::path::Path;

use super::{RunSpec, Session};
use crate::config::{ApprovalSettings, Config, TenantConfig};
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{Journal, Mode, OutboxKind, RunStatus, Transition, WorkItem, WorkKind};
use crate::run::outcome_error;
use crate::workflow::binding::policy_digest;
use crate::workflow::{apply_run_of, clock, plan_beyond, plan_changes, planned_steps};

/// The digest of the approval policy a tenant's configuration states. A tenant without Graph
/// settings (the demo one, AD only) is named by its configuration name instead of a tenant id.
pub fn policy_of(name: &str, tenant: &TenantConfig, settings: &ApprovalSettings) -> String {
    let id = tenant.graph.as_ref().map(|g| g.tenant_id.clone()).unwrap_or_else(|| format!("config:{name}"));
    policy_digest(&id, &settings.approvers, settings.expiry_hours)
}

/// The approval settings the item was requested under, or why this configuration may not act
/// on it: no `[approval]` any more, another policy, or an item recorded before policies were kept.
pub fn bound_settings<'a>(item: &WorkItem, tenant: &'a TenantConfig, what: &str) -> Result<&'a ApprovalSettings> {
    let settings = tenant.approval.as_ref().ok_or_else(|| {
        refuse(format!(
            "run {} was requested under an approval policy, but this configuration's tenant '{}' has no [approval] section: it cannot {what} it",
            item.id, item.tenant
        ))
    })?;
    match &item.policy {
        Some(p) if *p == policy_of(&item.tenant, tenant, settings) => Ok(settings),
        Some(_) => Err(refuse(format!(
            "the approval policy of tenant '{}' in this configuration (tenant id, approvers or expiry) is not the one run {} was requested under: it cannot {what} it here",
            item.tenant, item.id
        ))),
        None => Err(refuse(format!(
            "run {} was requested before approvals were bound to their policy: run it again to ask for a new approval",
            item.id
        ))),
    }
}

/// The console's page for the approval request `run_id` (`[console] public_url`), for the
/// approval e-mail; None without a console. The link alone grants nothing: the page asks the
/// approver to sign in first, and returns to it after.
pub fn link(public_url: Option<&str>, run_id: &str) -> Option<String> {
    let public_url = public_url?;
    // A run id is letters, digits and `-`; anything else is escaped rather than trusted.
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-');
    let id = percent_encoding::utf8_percent_encode(run_id, SEGMENT);
    Some(format!("{}/approvals/{id}", public_url.trim_end_matches('/')))
}

/// The approval request `id`.
pub fn approval(journal: &dyn Journal, id: &str) -> Result<WorkItem> {
    match journal.work_get(id)? {
        Some(i) if i.kind == WorkKind::Approval => Ok(i),
        _ => Err(Error::Usage(format!("no run awaiting approval has id '{id}'"))),
    }
}

fn refuse(reason: String) -> Error {
    Error::NotConfirmed { reason }
}

/// Whether the request has expired by now (an approved one too: the approval covers the time
/// it was asked for, not later).
pub fn expired(item: &WorkItem) -> bool {
    clock::now() >= item.at
}

/// Who decides: the name recorded as the decision's author (`--by`, or the console's
/// signed-in e-mail) and the principal compared with the requester's for four eyes.
pub struct Decider<'a> {
    pub name: &'a str,
    pub principal: &'a str,
    /// How a refusal names the principal to the person ("this OS account (…)", "you (…)").
    pub called: &'a str,
}

/// Approve (or reject, with an optional reason) the request `id`. Returns the warnings of
/// noting the decision on the PSA ticket (the decision stands without the note).
pub fn decide(
    home: &Path,
    config: &Config,
    journal: &dyn Journal,
    id: &str,
    who: &Decider<'_>,
    approve: bool,
    reason: Option<&str>,
) -> Result<Vec<String>> {
    let item = approval(journal, id)?;
    let (_, tenant) = config.tenant(Some(&item.tenant))?;
    let settings = bound_settings(&item, tenant, "decide on")?;
    if !settings.is_approver(who.name) {
        return Err(refuse(format!(
            "'{}' is not an approver for tenant '{}' (approvers: {})",
            who.name,
            item.tenant,
            settings.approvers.join(", ")
        )));
    }
    if item.status != "pending" {
        return Err(refuse(format!(
            "run {} is {} (decided by {}), not pending",
            item.id,
            item.status,
            item.decided_by.as_deref().unwrap_or("nobody")
        )));
    }
    if expired(&item) {
        journal.work_transition(
            &item.id,
            "pending",
            "expired",
            &Transition { note: Some("expired before a decision"), ..Default::default() },
        )?;
        return Err(refuse(format!(
            "the approval request for run {} expired at {}; run it again to ask for a new one",
            item.id,
            item.at.to_rfc3339()
        )));
    }
    // Four eyes: a requester may withdraw (reject) their own request, never approve it.
    if approve && item.requested_by.as_deref() == Some(who.principal) {
        return Err(refuse(format!(
            "run {} was requested by {}: someone else must approve it, under their own account",
            item.id, who.called
        )));
    }
    let to = if approve { "approved" } else { "rejected" };
    let t = Transition { decided_by: Some(who.name.trim()), reason, decided_os: Some(who.principal), ..Default::default() };
    if !journal.work_transition(&item.id, "pending", to, &t)? {
        return Err(refuse(format!("run {} was decided by someone else meanwhile", item.id)));
    }
    let mut warnings = Vec::new();
    if tenant.psa.is_some() {
        let text =
            format!("Approval {} by {}{} (run {}).", to, who.name.trim(), reason.map(|r| format!(": {r}")).unwrap_or_default(), item.id);
        match Session::open(home, config, &RunSpec::from_stored(&item.tenant, &item.script, &item.options)) {
            Ok(session) => {
                match session.psa_items(&item.id, vec![(OutboxKind::Note, format!("approval {to}"), serde_json::json!({"text": text}))]) {
                    Ok(Some((_, Some(w)))) => warnings.push(w),
                    Ok(_) => {}
                    Err(e) => warnings.push(format!("psa: the decision could not be noted: {e}")),
                }
                session.close();
            }
            Err(e) => warnings.push(format!("psa: the decision could not be noted: {e}")),
        }
    }
    Ok(warnings)
}

/// What the caller of [`apply`] sees on the way: the CLI prints and asks, the console records.
pub trait ApplyView {
    /// The fresh plan, before it is compared with the approved one.
    fn planned(&mut self, _plan: &Report) {}
    /// The plan differs from the approved one: one line per difference.
    fn changed(&mut self, _item: &WorkItem, _changes: &[String]) {}
    /// The item's apply was interrupted (its process died) in `run`, and is continued.
    fn continuing(&mut self, _item: &WorkItem, _run: &str) {}
    /// The last word before the writes (the CLI's terminal question); an error stops the apply.
    fn confirm(&mut self, _plan: &Report) -> Result<()> {
        Ok(())
    }
}

/// Carry out the approved run `id`: re-plan, compare with the approved plan, apply once.
/// Returns the apply run's report (its outcome, failed steps included, is the caller's to tell).
pub fn apply(home: &Path, config: &Config, journal: &dyn Journal, id: &str, view: &mut dyn ApplyView) -> Result<Report> {
    let item = approval(journal, id)?;
    // An apply whose process died part-way (`applying`, its run interrupted) is continued.
    let mut interrupted = None;
    match item.status.as_str() {
        "approved" => {}
        "pending" => return Err(refuse(format!("run {} is awaiting approval (`offboard-host approve {} --by NAME`)", item.id, item.id))),
        "applied" => {
            return Err(refuse(format!("run {} was already applied (run {})", item.id, item.applied_run_id.as_deref().unwrap_or("?"))))
        }
        "applying" => match apply_run_of(journal, &item)? {
            Some(r) if r.status == RunStatus::Interrupted => interrupted = Some(r.run_id),
            Some(r) if r.status == RunStatus::Running => {
                return Err(refuse(format!("run {} is being applied by another process (run {})", item.id, r.run_id)))
            }
            Some(r) => {
                // Its process ended after the run and before it said so: the run is the item's.
                let note = format!("applied: {} (recorded after its process had stopped)", r.status.as_str());
                let t = Transition { applied_run_id: Some(&r.run_id), note: Some(&note), ..Default::default() };
                journal.work_transition(&item.id, "applying", "applied", &t)?;
                return Err(refuse(format!("run {} was already applied (run {}, {})", item.id, r.run_id, r.status.as_str())));
            }
            None => {
                return Err(refuse(format!(
                    "run {} is being applied, and its apply run has not begun: if no process is applying it, its process stopped before writing anything; ask for a new approval",
                    item.id
                )))
            }
        },
        other => return Err(refuse(format!("run {} is {other}: it cannot be applied", item.id))),
    }
    let (_, tenant) = config.tenant(Some(&item.tenant))?;
    bound_settings(&item, tenant, "apply")?;
    if expired(&item) {
        let t = Transition { note: Some("expired before it was applied"), ..Default::default() };
        journal.work_transition(&item.id, "approved", "expired", &t)?;
        return Err(refuse(format!(
            "the approval of run {} expired at {}; run it again to ask for a new one",
            item.id,
            item.at.to_rfc3339()
        )));
    }
    let mut spec = RunSpec::from_stored(&item.tenant, &item.script, &item.options);
    // The apply run continues the ticket the request was noted on.
    if let Some(t) = journal.run_ticket(&item.id)? {
        spec.ticket = Some(t);
    }
    let session = Session::open(home, config, &spec)?;
    let result = (|| {
        let plan = session.run(&item.user, Mode::Plan)?;
        view.planned(&plan);
        if let Some(e) = outcome_error(&plan) {
            return Err(e);
        }
        let steps = planned_steps(&plan, &*session.journal)?;
        // Continuing: what the interrupted run did is done now; only what is left must be approved.
        let changes = match &interrupted {
            None => plan_changes(&item.script_hash, &item.plan, &session.script.hash(), &steps),
            Some(_) => plan_beyond(&item.script_hash, &item.plan, &session.script.hash(), &steps),
        };
        if !changes.is_empty() {
            view.changed(&item, &changes);
            return Err(refuse(format!(
                "the plan changed since it was approved; run it again to ask for a new approval (new plan: run {})",
                plan.run_id
            )));
        }
        if let Some(run) = &interrupted {
            view.continuing(&item, run);
        }
        view.confirm(&plan)?;
        // Continued, it is still `applying` from the dead process's claim: this process carries it on.
        if interrupted.is_none() && !session.journal.work_transition(&item.id, "approved", "applying", &Transition::default())? {
            return Err(refuse(format!("run {} is being applied by another process", item.id)));
        }
        let report = session.apply_item(&item.user, &item.id);
        let (applied, note) = match &report {
            Ok(r) => (Some(r.run_id.as_str()), format!("applied: {}", r.status)),
            Err(e) => (None, format!("apply did not start: {e}")),
        };
        let t = Transition { applied_run_id: applied, note: Some(&note), ..Default::default() };
        // A run that never started (the user's lock was held) leaves the approval usable (a
        // continued one stays `applying`: what its first run wrote is not undone).
        let to = match (applied, &interrupted) {
            (Some(_), _) => "applied",
            (None, Some(_)) => "applying",
            (None, None) => "approved",
        };
        session.journal.work_transition(&item.id, "applying", to, &t)?;
        report
    })();
    session.close();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_links_to_the_request_page_of_the_configured_console() {
        assert_eq!(link(None, "20261202-1"), None, "no console, no link");
        let url = Some("https://c.example/");
        assert_eq!(link(url, "20261202-1").as_deref(), Some("https://c.example/approvals/20261202-1"));
        assert_eq!(link(url, "a/../b").as_deref(), Some("https://c.example/approvals/a%2F%2E%2E%2Fb"));
    }
}
