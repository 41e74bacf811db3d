//! Approval: `run` stops after the plan for tenants with `[approval]`; `approve` / `reject`
//! record the decision; `apply <RUN_ID>` carries out an approved run.
//!
//! The rules, enforced in `service::approval` (shared with the console) and none switchable
//! (no flag or variable; `--yes` only skips the terminal question of `apply`):
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
use crate::config::Config;
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{Mode, OutboxKind, StepStatus, WorkItem, WorkKind};
use crate::run::outcome_error;
use crate::service::{approval, Session};
use crate::workflow::binding::os_identity;
use crate::workflow::{clock, planned_steps};

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
            policy: Some(approval::policy_of(&session.tenant_name, &session.tenant, &settings)),
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
            // With a console, the mail links to the request's page there (sign-in first).
            let console =
                approval::link(config, &plan.run_id).map(|l| format!("In the console (sign in first): {l}\n")).unwrap_or_default();
            let body = format!(
                "offboard-host run {id} waits for your approval.\n\nUser: {user}\nTenant: {tenant}\nScript: {script} (sha256 {hash})\n\nPlanned changes:\n{steps}\n\nThe request expires at {exp}.\n{console}To approve: offboard-host approve {id} --by <your name>\nTo reject:  offboard-host reject {id} --by <your name> --reason <why>\n",
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

/// `approve` / `reject`.
pub(super) fn cmd_decide(ctx: &Ctx, a: DecideArgs, approve: bool) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    let journal = open_journal(ctx)?;
    let run_id = super::run_id::resolve(&*journal, &a.run_id, super::run_id::Kind::Approval)?;
    let me = os_identity();
    let called = format!("this OS account ({me})");
    let who = approval::Decider { name: &a.by, principal: &me, called: &called };
    for w in approval::decide(&ctx.home, &config, &*journal, &run_id, &who, approve, a.reason.as_deref())? {
        eprintln!("warning: {w}");
    }
    if approve {
        outln!("run {} approved by {} ({me}): apply it with `offboard-host apply {}`", run_id, a.by.trim(), run_id);
    } else {
        outln!("run {} rejected by {}: it will not be applied", run_id, a.by.trim());
    }
    Ok(0)
}

/// What `apply` shows on the terminal: the fresh plan, what changed, the question.
struct Terminal<'a> {
    ctx: &'a Ctx,
    json: bool,
    yes: bool,
}

impl approval::ApplyView for Terminal<'_> {
    fn planned(&mut self, plan: &Report) {
        if !self.json {
            out!("{}", render::report(plan, self.ctx.color));
        }
    }
    fn changed(&mut self, item: &WorkItem, changes: &[String]) {
        eprintln!("the plan is not the one approved in run {} (step by step: action, target, parameters):", item.id);
        for c in changes {
            eprintln!("  {c}");
        }
    }
    fn confirm(&mut self, plan: &Report) -> Result<()> {
        if self.yes {
            return Ok(());
        }
        confirm(plan.count(StepStatus::Planned), &plan.user, &plan.tenant)
    }
}

/// `apply <RUN_ID>`: re-plan, compare with the approved plan, apply once.
pub(super) fn cmd_apply(ctx: &Ctx, a: ApplyArgs) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    let journal = open_journal(ctx)?;
    let run_id = super::run_id::resolve(&*journal, &a.run_id, super::run_id::Kind::Approval)?;
    let report = approval::apply(&ctx.home, &config, &*journal, &run_id, &mut Terminal { ctx, json: a.json, yes: a.yes })?;
    print_report(ctx, a.json, &report);
    Ok(match outcome_error(&report) {
        Some(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
        None => 0,
    })
}
