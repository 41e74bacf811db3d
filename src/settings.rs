//! Org variables: the client's `[defaults]` from the TOML and `--set key=value`, as the script's
//! `ORG` map.

use rhai::{Dynamic, Map};

use crate::error::{Error, Result};

/// Parse `--set key=value`: `true`/`false` are booleans, integers are integers, the rest strings.
pub fn parse_set(s: &str) -> Result<(String, Dynamic)> {
    let (k, v) = s.split_once('=').ok_or_else(|| Error::Usage(format!("--set '{s}': expected key=value")))?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(Error::Usage(format!("--set '{s}': keys are lower_snake_case")));
    }
    let v = v.trim();
    let value = match v {
        "true" => Dynamic::from(true),
        "false" => Dynamic::from(false),
        _ => match v.parse::<i64>() {
            Ok(i) => Dynamic::from(i),
            Err(_) => Dynamic::from(v.to_string()),
        },
    };
    Ok((k.to_string(), value))
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

/// Convert the client's `[defaults]` TOML table into the script's `ORG` map.
pub fn org_from_toml(t: &toml::Table) -> Result<Map> {
    let mut m = Map::new();
    for (k, v) in t {
        m.insert(k.as_str().into(), toml_to_dynamic(v).ok_or_else(|| Error::Usage(format!("default '{k}': unsupported value type")))?);
    }
    Ok(m)
}

fn toml_to_dynamic(v: &toml::Value) -> Option<Dynamic> {
    Some(match v {
        toml::Value::String(s) => Dynamic::from(s.clone()),
        toml::Value::Integer(i) => Dynamic::from(*i),
        toml::Value::Float(f) => Dynamic::from(*f),
        toml::Value::Boolean(b) => Dynamic::from(*b),
        toml::Value::Array(a) => Dynamic::from_array(a.iter().map(toml_to_dynamic).collect::<Option<Vec<_>>>()?),
        toml::Value::Table(t) => {
            let mut m = Map::new();
            for (k, v) in t {
                m.insert(k.as_str().into(), toml_to_dynamic(v)?);
            }
            Dynamic::from_map(m)
        }
        toml::Value::Datetime(d) => Dynamic::from(d.to_string()),
    })
}
