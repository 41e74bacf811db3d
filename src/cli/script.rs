//! `offboard-host script show [NAME]`: the scripts built into the binary, verbatim.
//!
//! Why: `default.rhai` and the stdlib modules are compiled in (`include_str!`), so a client whose
//! overrides hook into them has no file to read on the host. This prints exactly the text the
//! engine runs, from the same tables the engine uses (`run::DEFAULT_SCRIPT`, `engine::STDLIB`),
//! so it cannot drift from what a run imports.

use super::args::ScriptCommand;
use super::out::outln;
use crate::engine::STDLIB;
use crate::error::{Error, Result};
use crate::run::DEFAULT_SCRIPT;

/// Every built-in script as (file name, text): the default script first, then the stdlib.
fn builtins() -> Vec<(String, &'static str)> {
    std::iter::once(("default.rhai".to_string(), DEFAULT_SCRIPT))
        .chain(STDLIB.iter().map(|(name, text)| (format!("{name}.rhai"), *text)))
        .collect()
}

pub(super) fn cmd_script(command: ScriptCommand) -> Result<u8> {
    let ScriptCommand::Show { name } = command;
    let all = builtins();
    let Some(name) = name else {
        for (n, _) in &all {
            outln!("{n}");
        }
        return Ok(0);
    };
    // `offboard` and `offboard.rhai` alike: the stdlib is imported without the extension.
    let want = if name.ends_with(".rhai") { name.clone() } else { format!("{name}.rhai") };
    match all.iter().find(|(n, _)| *n == want) {
        Some((_, text)) => {
            // Through the pager on a terminal (a script is hundreds of lines); verbatim in a pipe.
            super::pager::print_paged(text);
            Ok(0)
        }
        None => {
            let known = all.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
            Err(Error::Usage(format!("no built-in script '{name}' (built in: {known})")))
        }
    }
}
