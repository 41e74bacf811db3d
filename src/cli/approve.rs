//! Approval: `run` stops after the plan for tenants with `[approval]`; `approve` / `reject`
//! record the decision; `apply <RUN_ID>` carries out an approved run.
//!
//! The rules, all enforced here and none switchable (no flag or variable; `--yes` only skips the
//! terminal question of `apply`):
//! - no write is sent before an approval: `run` only plans, and records the plan;
//! - only a listed approver decides, and only while the request has not expired;
//! - the request keeps the digest of the policy it was made under (Graph tenant id, approvers,
//!   expiry: `workflow::binding`); `approve` and `apply` refuse under a configuration whose
//!   policy differs, or that has no `[approval]` at all (another `--config` is another policy);
//! - the approver's OS account and host are recorded next to `--by`, and may not be the
//!   requester's (four eyes, as far as a local tool can tell them apart);
//! - `apply` re-plans first and applies only when the script hash and the steps (action, target,
//!   every parameter) are the ones approved, and the request has not expired; otherwise it shows
//!   what changed and a new approval is needed;
//! - an approved run is applied once (`approved` → `applying` is a conditional update).

use super::args::{ApplyArgs, DecideArgs, RunArgs};
use super::open_journal;
use super::out::{out, outln};
use super::{confirm, render, Ctx};
use crate::config::{ApprovalSettings, Config, TenantConfig};
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{Journal, Mode, OutboxKind, StepStatus, Transition, WorkItem, WorkKind};
use crate::run::outcome_error;
use crate::service::request::{self, policy_of, Notice};
use crate::service::{RunSpec, Session};
use crate::workflow::binding::os_identity;
use crate::workflow::{clock, plan_changes, planned_steps};

/// The approval settings the item was requested under, or why this configuration may not act
/// on it: no `[approval]` any more, another policy, or an item recorded before policies were kept.
fn bound_settings<'a>(item: &WorkItem, tenant: &'a TenantConfig, what: &str) -> Result<&'a ApprovalSettings> {
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

fn print_report(ctx: &Ctx, json: bool, r: &Report) {
    if json {
        outln!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
    } else {
        out!("{}", render::report(r, ctx.color));
    }
}

/// `run` for a tenant that requires approval: plan, record, stop. Exit 6: nothing was written.
pub(super) fn request_approval(ctx: &Ctx, config: &Config, a: &RunArgs) -> Result<u8> {
    let session = Session::open(&ctx.home, config, &a.spec())?;
    let result = (|| {
        let plan = request::plan(&session, &a.user)?;
        print_report(ctx, a.json, &plan);
        match request::plan_requestable(&plan) {
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(e.exit_code());
            }
            Ok(false) => {
                eprintln!("nothing to change: {} is already offboarded as far as this script goes (no approval needed)", a.user);
                return Ok(0);
            }
            Ok(true) => {}
        }
        let sent = request::send_for_approval(&session, &plan, a.spec().options(), a.ticket.as_deref(), &request::os_requester())?;
        print_notices(&sent.notices);
        eprintln!(
            "awaiting approval: run {id} ({n} change(s) to {user}) needs a yes from one of: {who} (expires {exp}).\n  offboard-host approve {id} --by NAME   then   offboard-host apply {id}\nnothing was written",
            id = plan.run_id,
            n = sent.changes,
            user = a.user,
            who = sent.approvers.join(", "),
            exp = sent.expires.to_rfc3339(),
        );
        Ok(Error::NotConfirmed { reason: String::new() }.exit_code())
    })();
    session.close();
    result
}

/// What the service had to say beside its result, on stderr.
pub(super) fn print_notices(notices: &[Notice]) {
    for n in notices {
        match n {
            Notice::Info(m) => eprintln!("{m}"),
            Notice::Warning(m) => eprintln!("warning: {m}"),
        }
    }
}

fn approval(journal: &dyn Journal, id: &str) -> Result<WorkItem> {
    match journal.work_get(id)? {
        Some(i) if i.kind == WorkKind::Approval => Ok(i),
        _ => Err(Error::Usage(format!("no run awaiting approval has id '{id}'"))),
    }
}

fn refuse(reason: String) -> Error {
    Error::NotConfirmed { reason }
}

/// `approve` / `reject`.
pub(super) fn cmd_decide(ctx: &Ctx, a: DecideArgs, approve: bool) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    let journal = open_journal(ctx)?;
    let run_id = super::run_id::resolve(&*journal, &a.run_id, super::run_id::Kind::Approval)?;
    let item = approval(&*journal, &run_id)?;
    let (_, tenant) = config.tenant(Some(&item.tenant))?;
    let settings = bound_settings(&item, tenant, "decide on")?;
    if !settings.is_approver(&a.by) {
        return Err(refuse(format!(
            "'{}' is not an approver for tenant '{}' (approvers: {})",
            a.by,
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
    let now = clock::now();
    if now >= item.at {
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
    let me = os_identity();
    // Four eyes: a requester may withdraw (reject) their own request, never approve it.
    if approve && item.requested_by.as_deref() == Some(me.as_str()) {
        return Err(refuse(format!(
            "run {} was requested by this OS account ({me}): someone else must approve it, under their own account",
            item.id
        )));
    }
    let to = if approve { "approved" } else { "rejected" };
    let t = Transition { decided_by: Some(a.by.trim()), reason: a.reason.as_deref(), decided_os: Some(&me), ..Default::default() };
    if !journal.work_transition(&item.id, "pending", to, &t)? {
        return Err(refuse(format!("run {} was decided by someone else meanwhile", item.id)));
    }
    if tenant.psa.is_some() {
        let text = format!(
            "Approval {} by {}{} (run {}).",
            to,
            a.by.trim(),
            a.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
            item.id
        );
        match Session::open(&ctx.home, &config, &RunSpec::from_stored(&item.tenant, &item.script, &item.options)) {
            Ok(session) => {
                match session.psa_items(&item.id, vec![(OutboxKind::Note, format!("approval {to}"), serde_json::json!({"text": text}))]) {
                    Ok(Some((_, Some(w)))) => eprintln!("warning: {w}"),
                    Ok(_) => {}
                    Err(e) => eprintln!("warning: psa: the decision could not be noted: {e}"),
                }
                session.close();
            }
            Err(e) => eprintln!("warning: psa: the decision could not be noted: {e}"),
        }
    }
    if approve {
        outln!("run {} approved by {} ({me}): apply it with `offboard-host apply {}`", item.id, a.by.trim(), item.id);
    } else {
        outln!("run {} rejected by {}: it will not be applied", item.id, a.by.trim());
    }
    Ok(0)
}

/// `apply <RUN_ID>`: re-plan, compare with the approved plan, apply once.
pub(super) fn cmd_apply(ctx: &Ctx, a: ApplyArgs) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    let journal = open_journal(ctx)?;
    let run_id = super::run_id::resolve(&*journal, &a.run_id, super::run_id::Kind::Approval)?;
    let item = approval(&*journal, &run_id)?;
    match item.status.as_str() {
        "approved" => {}
        "pending" => return Err(refuse(format!("run {} is awaiting approval (`offboard-host approve {} --by NAME`)", item.id, item.id))),
        "applied" | "applying" => {
            return Err(refuse(format!(
                "run {} was already applied (run {})",
                item.id,
                item.applied_run_id.as_deref().unwrap_or("in progress")
            )))
        }
        other => return Err(refuse(format!("run {} is {other}: it cannot be applied", item.id))),
    }
    let (_, tenant) = config.tenant(Some(&item.tenant))?;
    bound_settings(&item, tenant, "apply")?;
    // The approval covers the time it was asked for, not later: an approved request expires too.
    if clock::now() >= item.at {
        let t = Transition { note: Some("expired before it was applied"), ..Default::default() };
        open_journal(ctx)?.work_transition(&item.id, "approved", "expired", &t)?;
        return Err(refuse(format!(
            "the approval of run {} expired at {}; run it again to ask for a new one",
            item.id,
            item.at.to_rfc3339()
        )));
    }
    let mut spec = RunSpec::from_stored(&item.tenant, &item.script, &item.options);
    // The apply run continues the ticket the request was noted on.
    if let Some(t) = open_journal(ctx)?.run_ticket(&item.id)? {
        spec.ticket = Some(t);
    }
    let session = Session::open(&ctx.home, &config, &spec)?;
    let result = (|| {
        let plan = session.run(&item.user, Mode::Plan)?;
        if !a.json {
            out!("{}", render::report(&plan, ctx.color));
        }
        if let Some(e) = outcome_error(&plan) {
            return Err(e);
        }
        let changes = plan_changes(&item.script_hash, &item.plan, &session.script.hash(), &planned_steps(&plan, &*session.journal)?);
        if !changes.is_empty() {
            eprintln!("the plan is not the one approved in run {} (step by step: action, target, parameters):", item.id);
            for c in &changes {
                eprintln!("  {c}");
            }
            return Err(refuse(format!(
                "the plan changed since it was approved; run it again to ask for a new approval (new plan: run {})",
                plan.run_id
            )));
        }
        if !a.yes {
            confirm(plan.count(StepStatus::Planned), &item.user, &item.tenant)?;
        }
        if !session.journal.work_transition(&item.id, "approved", "applying", &Transition::default())? {
            return Err(refuse(format!("run {} is being applied by another process", item.id)));
        }
        let report = session.run(&item.user, Mode::Apply);
        let (applied, note) = match &report {
            Ok(r) => (Some(r.run_id.as_str()), format!("applied: {}", r.status)),
            Err(e) => (None, format!("apply did not start: {e}")),
        };
        let t = Transition { applied_run_id: applied, note: Some(&note), ..Default::default() };
        // A run that never started (the user's lock was held) leaves the approval usable.
        let to = if applied.is_some() { "applied" } else { "approved" };
        session.journal.work_transition(&item.id, "applying", to, &t)?;
        let report = report?;
        print_report(ctx, a.json, &report);
        Ok(match outcome_error(&report) {
            Some(e) => {
                eprintln!("error: {e}");
                e.exit_code()
            }
            None => 0,
        })
    })();
    session.close();
    result
}
