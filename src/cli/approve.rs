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

use super::out::{out, outln};
use chrono::Duration;

use super::args::{ApplyArgs, DecideArgs, RunArgs};
use super::open_journal;
use super::{confirm, render, Ctx};
use crate::config::{ApprovalSettings, Config, TenantConfig};
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{Journal, Mode, OutboxKind, StepStatus, Transition, WorkItem, WorkKind};
use crate::run::outcome_error;
use crate::service::{RunSpec, Session};
use crate::workflow::binding::{os_identity, policy_digest};
use crate::workflow::{clock, plan_changes, planned_steps};

/// The digest of the approval policy a tenant's configuration states. A tenant without Graph
/// settings (the demo one, AD only) is named by its configuration name instead of a tenant id.
fn policy_of(name: &str, tenant: &TenantConfig, settings: &ApprovalSettings) -> String {
    let id = tenant.graph.as_ref().map(|g| g.tenant_id.clone()).unwrap_or_else(|| format!("config:{name}"));
    policy_digest(&id, &settings.approvers, settings.expiry_hours)
}

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
        session.validate_user(&a.user)?;
        let settings = session.tenant.approval.clone().expect("approval settings");
        let plan = session.run(&a.user, Mode::Plan)?;
        print_report(ctx, a.json, &plan);
        if let Some(e) = outcome_error(&plan) {
            eprintln!("error: {e}");
            return Ok(e.exit_code());
        }
        if plan.count(StepStatus::Planned) == 0 {
            eprintln!("nothing to change: {} is already offboarded as far as this script goes (no approval needed)", a.user);
            return Ok(0);
        }
        let now = clock::now();
        let expires = now + Duration::hours(i64::from(settings.expiry_hours));
        session.journal.work_add(&WorkItem {
            policy: Some(policy_of(&session.tenant_name, &session.tenant, &settings)),
            ..session.pending_item(
                WorkKind::Approval,
                &plan.run_id,
                &a.user,
                a.spec().options(),
                planned_steps(&plan, &*session.journal)?,
                expires,
            )
        })?;
        // With a PSA: the request goes on the ticket (`--ticket N`, else a new ticket for this
        // offboarding that the apply run continues).
        let mut psa_items = Vec::new();
        match &a.ticket {
            Some(t) => session.journal.set_run_ticket(&plan.run_id, t)?,
            None => psa_items.push((
                OutboxKind::CreateTicket,
                "ticket".to_string(),
                serde_json::to_value(crate::psa::NewTicket {
                    summary: format!("Offboarding: {}", a.user),
                    details: format!(
                        "{}\noffboard-host will offboard {} in tenant {} once approved (run {}).",
                        crate::psa::ticketing::marker(&plan.run_id, "ticket"),
                        a.user,
                        session.tenant_name,
                        plan.run_id
                    ),
                    contact_id: None,
                })
                .unwrap_or_default(),
            )),
        }
        let request = format!(
            "Approval requested (run {}): {} change(s) to {} need a yes from one of: {}. Expires {}.",
            plan.run_id,
            plan.count(StepStatus::Planned),
            a.user,
            settings.approvers.join(", "),
            expires.to_rfc3339()
        );
        psa_items.push((OutboxKind::Note, "approval request".to_string(), serde_json::json!({"text": request})));
        if let Some((ticket, warning)) = session.psa_items(&plan.run_id, psa_items)? {
            if let Some(t) = ticket {
                eprintln!("psa: approval request noted on ticket {t}");
            }
            if let Some(w) = warning {
                eprintln!("warning: {w}");
            }
        }
        if settings.email {
            let subject = format!("Approval needed: offboard {} in {}", a.user, session.tenant_name);
            let lines: Vec<String> = plan
                .steps
                .iter()
                .filter(|s| s.status == StepStatus::Planned)
                .map(|s| format!("- {} {}", s.action.replace('_', " "), s.target))
                .collect();
            let body = format!(
                "offboard-host run {id} waits for your approval.\n\nUser: {user}\nTenant: {tenant}\nScript: {script} (sha256 {hash})\n\nPlanned changes:\n{steps}\n\nThe request expires at {exp}.\nTo approve: offboard-host approve {id} --by <your name>\nTo reject:  offboard-host reject {id} --by <your name> --reason <why>\n",
                id = plan.run_id,
                user = a.user,
                tenant = session.tenant_name,
                script = session.script.name,
                hash = session.script.hash(),
                steps = lines.join("\n"),
                exp = expires.to_rfc3339(),
            );
            for to in settings.approvers.iter().filter(|x| x.contains('@')) {
                match session.send_mail(to.trim(), &subject, &body) {
                    Ok(()) => eprintln!("approval request e-mailed to {to}"),
                    Err(e) => eprintln!("warning: the approval request could not be e-mailed to {to}: {e}"),
                }
            }
        }
        eprintln!(
            "awaiting approval: run {id} ({n} change(s) to {user}) needs a yes from one of: {who} (expires {exp}).\n  offboard-host approve {id} --by NAME   then   offboard-host apply {id}\nnothing was written",
            id = plan.run_id,
            n = plan.count(StepStatus::Planned),
            user = a.user,
            who = settings.approvers.join(", "),
            exp = expires.to_rfc3339(),
        );
        Ok(Error::NotConfirmed { reason: String::new() }.exit_code())
    })();
    session.close();
    result
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
