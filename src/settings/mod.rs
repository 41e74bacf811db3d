//! Org variables: the client's `[defaults]` from the TOML and `--set key=value`, as the script's
//! `ORG` map, each checked against the [`schema`]: an unknown key or a value of the wrong type is
//! refused here (exit 2), before any engine or tenant exists, rather than ignored by the script.
//!
//! A client script cannot add settings of its own through `[defaults]` or `--set`: a key the
//! schema does not know is a typo until proven otherwise, and the schema is the proof. A setting
//! every client may want belongs in the schema; a value one client script alone needs belongs in
//! that script (or as a default in `ob::settings(ORG, #{ ... })`).

pub mod schema;

use rhai::{Dynamic, Map};

use crate::error::{Error, Result};
use schema::Kind;

/// The schema's names, for messages.
fn names() -> impl Iterator<Item = &'static str> {
    schema::SETTINGS.iter().map(|s| s.name)
}

/// The kind of the known setting `key`, or the "did you mean" message.
fn kind_of(key: &str) -> std::result::Result<Kind, String> {
    schema::find(key).map(|s| s.default.kind()).ok_or_else(|| schema::unknown_message(key, names()))
}

/// Parse `--set key=value` as the schema types `key`: `true`/`false` for a bool, a number for an
/// integer, the text as it is for a string (so `--set forward_to=1234` stays text).
pub fn parse_set(s: &str) -> Result<(String, Dynamic)> {
    let (k, v) = s.split_once('=').ok_or_else(|| Error::Usage(format!("--set '{s}': expected key=value")))?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(Error::Usage(format!("--set '{s}': keys are lower_snake_case")));
    }
    let value = parse_value(k, v.trim()).map_err(|m| Error::Usage(format!("--set '{s}': {m}")))?;
    Ok((k.to_string(), value))
}

/// `text` as the value of the setting `key` (for `--set` and bulk setting columns), or why not.
pub fn parse_value(key: &str, text: &str) -> std::result::Result<Dynamic, String> {
    Ok(match kind_of(key)? {
        Kind::Bool => match text {
            "true" => Dynamic::from(true),
            "false" => Dynamic::from(false),
            _ => return Err(format!("{key} is a bool: true or false, not '{text}'")),
        },
        Kind::Int => Dynamic::from(text.parse::<i64>().map_err(|_| format!("{key} is an integer, not '{text}'"))?),
        Kind::Str => Dynamic::from(text.to_string()),
    })
}

/// The script's `ORG`: the client's `[defaults]` with `--set` values over them; and the `--set`
/// values as `(key, value)` text, for the journal.
pub fn org_with_sets(defaults: &toml::Table, sets: &[String]) -> Result<(Map, Vec<(String, String)>)> {
    let mut org = org_from_toml(defaults)?;
    let mut texts = Vec::new();
    for s in sets {
        let (k, v) = parse_set(s)?;
        texts.push((k.clone(), v.to_string()));
        org.insert(k.into(), v);
    }
    Ok((org, texts))
}

/// Convert the client's `[defaults]` TOML table into the script's `ORG` map. (The configuration
/// checks the same when it is loaded, with the line: see `config::Config::parse`.)
pub fn org_from_toml(t: &toml::Table) -> Result<Map> {
    let mut m = Map::new();
    for (k, v) in t {
        m.insert(k.as_str().into(), toml_setting(k, v).map_err(|e| Error::Usage(format!("[defaults] {e}")))?);
    }
    Ok(m)
}

/// One `[defaults]` entry as the schema types it, or why it is refused.
pub fn toml_setting(key: &str, v: &toml::Value) -> std::result::Result<Dynamic, String> {
    let kind = kind_of(key)?;
    Ok(match (kind, v) {
        (Kind::Bool, toml::Value::Boolean(b)) => Dynamic::from(*b),
        (Kind::Int, toml::Value::Integer(i)) => Dynamic::from(*i),
        (Kind::Str, toml::Value::String(s)) => Dynamic::from(s.clone()),
        _ => {
            let (want, got) = (schema::with_article(kind.name()), schema::with_article(v.type_str()));
            return Err(format!("setting '{key}' must be {want}, not {got} ({v})"));
        }
    })
}

/// Check what a hook returned as the settings: a map (not unit: the hook forgot to end with `s`),
/// with exactly the keys it was given (`before`: the schema's, and any a client script declared),
/// each of the type it had. Registered for the scripts as `check_hook_settings(hook, before, after)`.
pub fn check_hook_settings(hook: &str, before: &Map, after: &Dynamic) -> std::result::Result<(), String> {
    let Some(after) = after.read_lock::<Map>() else {
        return Err(format!(
            "the hook '{hook}' must return the settings map (end it with `s`), not {}",
            if after.is_unit() { "() (nothing)".to_string() } else { after.type_name().to_string() }
        ));
    };
    for (k, v) in after.iter() {
        match before.get(k) {
            None => {
                let m = schema::unknown_message(k, before.keys().map(|k| k.as_str()));
                return Err(format!("the hook '{hook}' set an {m}"));
            }
            Some(old) if old.type_name() != v.type_name() => {
                return Err(format!("the hook '{hook}' set '{k}' to a {}, but it is a {} ({v})", v.type_name(), old.type_name()));
            }
            Some(_) => {}
        }
    }
    // A fresh map with a few keys would fail later as "Unknown property" far from the hook.
    if let Some(k) = before.keys().find(|k| !after.contains_key(*k)) {
        return Err(format!("the hook '{hook}' dropped the setting '{k}': change the map it is given and return that"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
