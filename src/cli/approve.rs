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

use super::args::{ApplyArgs, DecideArgs, RunArgs};
use super::open_journal;
use super::out::{out, outln};
use super::{confirm, render, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{StepStatus, WorkItem};
use crate::run::outcome_error;
use crate::service::request::{self, Notice};
use crate::service::{approval, Session};
use crate::workflow::binding::os_identity;

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
    fn continuing(&mut self, item: &WorkItem, run: &str) {
        eprintln!(
            "note: the apply of run {} was interrupted (run {run}, its process gone): continuing it; what it wrote is done, the rest is as approved",
            item.id
        );
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
