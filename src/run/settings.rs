//! The settings the stdlib understands, asked of the stdlib itself.

use rhai::Map;

use crate::engine::{build_engine, EngineOptions};
use crate::error::{Error, Result};

/// The settings a run understands, each with a value of the type it must keep: the stdlib's
/// (`directory::settings`, which includes `offboard::defaults()`), asked of the stdlib itself so a
/// setting added there is known here too, and the keys of `org` (the client's defaults and
/// `--set`) it lacks, for client scripts with settings of their own. Bulk runs use it to tell
/// setting columns from the rest and to refuse a wrongly typed cell before any user runs,
/// rather than when that user's script throws `invalid_setting`.
pub fn known_settings(org: &Map) -> Result<Map> {
    let engine = build_engine(None, &EngineOptions::default());
    let mut known = engine
        .eval::<Map>(r#"import "directory" as dir; dir::settings(#{})"#)
        .map_err(|e| Error::Script { location: "stdlib".into(), message: e.to_string() })?;
    for (k, v) in org {
        known.entry(k.clone()).or_insert_with(|| v.clone());
    }
    Ok(known)
}
