//! Reading the maps scripts pass: options, and the items of `user.groups` / `user.licenses`.
//!
//! Every reader fails with a catchable `invalid_argument` error rather than guessing: an unknown
//! option key or a value of the wrong type is a script bug that must not silently change what a
//! write does.

use rhai::{EvalAltResult, Map, Position};

use super::script_error;

/// A string field of an item map the script got from `user.<what>s`.
pub(super) fn map_str(m: &Map, key: &str, what: &str, pos: Position) -> Result<String, Box<EvalAltResult>> {
    m.get(key)
        .and_then(|v| v.clone().into_string().ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| script_error("invalid_argument", format!("the {what} map has no '{key}' (pass an item of user.{what}s)"), pos))
}

/// Unknown option keys are errors: a typo must not silently change behaviour.
pub(super) fn check_keys(m: &Map, allowed: &[&str], pos: Position) -> Result<(), Box<EvalAltResult>> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(script_error("invalid_argument", format!("unknown option '{k}' (allowed: {})", allowed.join(", ")), pos)),
        None => Ok(()),
    }
}

/// Read a boolean option (after [`check_keys`] with `allowed`).
pub(crate) fn opt_bool(m: &Map, key: &str, default: bool, allowed: &[&str], pos: Position) -> Result<bool, Box<EvalAltResult>> {
    check_keys(m, allowed, pos)?;
    match m.get(key) {
        None => Ok(default),
        Some(v) => v.as_bool().map_err(|t| script_error("invalid_argument", format!("option '{key}' must be true or false, not {t}"), pos)),
    }
}

/// Read a string option; absent and `()` are both `None`.
pub(super) fn opt_string(m: &Map, key: &str, pos: Position) -> Result<Option<String>, Box<EvalAltResult>> {
    match m.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => v
            .clone()
            .into_string()
            .map(Some)
            .map_err(|t| script_error("invalid_argument", format!("option '{key}' must be a string, not {t}"), pos)),
    }
}
