//! `offboard-host restore <RUN_ID>`: put back what an apply run changed (see
//! `service::restore`). Shown as a plan, confirmed like `run` (a terminal, or `--yes`), and
//! journalled as a run of its own (script `restore <RUN_ID>`), under the user's writer lock.

use super::out::{out, outln};

use super::args::RestoreArgs;
use super::{confirm, render, Ctx};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{Mode, StepStatus};
use crate::run::outcome_error;
use crate::service::restore::Restore;
use crate::workflow::restore::RestoreOptions;

fn emit(ctx: &Ctx, json: bool, r: &Report) {
    if json {
        outln!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
    } else {
        out!("{}", render::report(r, ctx.color));
    }
}

pub(super) fn cmd_restore(ctx: &Ctx, mut a: RestoreArgs) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    std::fs::create_dir_all(&ctx.home).map_err(|e| Error::io(format!("creating {}", ctx.home.display()), e))?;
    let journal = crate::service::open_journal(&ctx.home, config.journal.as_deref())?;
    a.run_id = super::run_id::resolve(journal.as_ref(), &a.run_id, super::run_id::Kind::Apply)?;
    let opts = RestoreOptions { include_external_forwarding: a.include_external_forwarding };
    let restore = Restore::open(&ctx.home, &config, journal, &a.run_id, opts)?;
    let result = (|| {
        let plan = restore.run(Mode::Plan)?;
        if !(a.yes && a.json) {
            emit(ctx, a.json, &plan);
            if !a.json {
                for m in &plan.messages {
                    eprintln!("{m}");
                }
            }
        }
        let changes = plan.count(StepStatus::Planned);
        if changes == 0 {
            if a.json && a.yes {
                emit(ctx, true, &plan);
            }
            eprintln!("nothing to restore: what run {} changed is already back (or cannot be put back)", a.run_id);
            return Ok(0);
        }
        if !a.yes {
            confirm(changes, &restore.original.summary.user, &restore.tenant_name)?;
        }
        let report = restore.run(Mode::Apply)?;
        emit(ctx, a.json, &report);
        Ok(match outcome_error(&report) {
            Some(e) => {
                eprintln!("error: {e}");
                e.exit_code()
            }
            None => 0,
        })
    })();
    restore.close();
    result
}
