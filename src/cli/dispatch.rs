//! The dispatcher of `run` and `plan`: an ordinary run goes on in `cmd_run`; a bulk run, a
//! scheduled run or a run that needs an approval is handed to its subcommand. The arrows run one
//! way: dispatch → bulk, bulk_schedule, schedule, approve → session.

use super::args::RunArgs;
use super::{approve, bulk, bulk_schedule, schedule, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};

/// Take over `run`/`plan` when it is a bulk run, a scheduled run or needs an approval;
/// `None`: an ordinary run, which `cmd_run` carries on with.
pub(super) fn workflow_run(ctx: &Ctx, a: &RunArgs, force_plan: bool) -> Result<Option<u8>> {
    let plan_only = force_plan || a.plan;
    if a.users_file.is_none() && a.user.is_empty() {
        return Err(Error::Usage("--user is required (or --users-file for many users)".into()));
    }
    let scheduled = a.at.is_some() || a.last_day.is_some();
    if scheduled && plan_only {
        return Err(Error::Usage("--at and --last-day schedule an apply; they cannot be combined with plan".into()));
    }
    if a.users_file.is_none() && !scheduled && plan_only {
        return Ok(None);
    }
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    let (name, tenant) = config.tenant(a.tenant.as_deref())?;
    let gated = tenant.approval.is_some() && !plan_only;
    if gated && (a.users_file.is_some() || scheduled) {
        // Never a write without an approval: these paths have no approval step yet, so refuse.
        return Err(Error::Usage(format!(
            "tenant '{name}' requires approval: bulk and scheduled runs are not available for it; run each user, have it approved, then `offboard-host apply`"
        )));
    }
    if let (Some(file), true) = (&a.users_file, scheduled) {
        return bulk_schedule::cmd_bulk_schedule(ctx, &config, a, file).map(Some);
    }
    if let Some(file) = &a.users_file {
        return bulk::cmd_bulk(ctx, &config, a, file, plan_only).map(Some);
    }
    if scheduled {
        return schedule::cmd_schedule_run(ctx, &config, a).map(Some);
    }
    if gated {
        return approve::request_approval(ctx, &config, a).map(Some);
    }
    Ok(None)
}
