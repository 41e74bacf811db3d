//! `offboard-host check <SCRIPT>...`: report a script's mistakes without running it.
//!
//! The work is in [`crate::authoring::check`]; here the scripts are found as `run` finds them and the
//! tenant's denials are read from the configuration. No tenant is contacted.

use super::args::CheckArgs;
use super::out::outln;
use super::Ctx;
use crate::authoring::check::{check_script, CheckOptions};
use crate::config::Config;
use crate::error::Result;
use crate::run::Script;

pub(super) fn cmd_check(ctx: &Ctx, a: CheckArgs) -> Result<u8> {
    let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
    // With a tenant, its overrides (MSP-wide, then the client's) are layered on each script as
    // `run` layers them, so a misspelt hook or a wrong arity is found here too.
    let (opts, layers) = match a.tenant.as_deref() {
        Some(name) => {
            let (name, tenant) = config.tenant(Some(name))?;
            let layers: Vec<String> = config.msp_overrides.iter().chain(tenant.overrides.iter()).cloned().collect();
            (CheckOptions { tenant: Some(name.to_string()), denied: tenant.deny.clone() }, layers)
        }
        None => (CheckOptions::default(), vec![]),
    };
    let (mut problems, mut missing) = (0usize, 0usize);
    for spec in &a.scripts {
        let loaded = Script::load(spec, &config.scripts_dir()).and_then(|mut s| {
            for layer in layers.iter().filter(|l| *l != spec) {
                s.overlays.push(Script::load(layer, &config.scripts_dir())?);
            }
            Ok(s)
        });
        let script = match loaded {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                missing += 1;
                continue;
            }
        };
        let found = check_script(&script, &opts);
        if found.is_empty() {
            outln!("ok: {}", script.name);
        }
        for d in &found {
            outln!("{}: error: {}", d.location, d.message);
        }
        problems += found.len();
    }
    if problems > 0 {
        eprintln!("{problems} problem(s) found");
        return Ok(3);
    }
    Ok(if missing > 0 { 2 } else { 0 })
}
