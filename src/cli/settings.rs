//! `offboard-host settings [--tenant T] [--json]`: the settings reference, from the schema.
//!
//! Why a command: the schema (`settings::schema::SETTINGS`) is the one list of what `[defaults]`
//! and `--set` accept, and it lives in the binary; an MSP writing a client's TOML should not have
//! to read Rust or the generated docs to learn a name, its type or its default. With `--tenant`
//! the client's value is read the way a run reads it (`Config::tenant`, `settings::org_from_toml`),
//! so what is shown is what a run would get.

use super::out::outln;
use rhai::{Dynamic, Map};
use serde_json::{json, Value as Json};

use super::args::SettingsArgs;
use super::render::text::{cols, fit, truncate, width};
use super::Ctx;
use crate::config::Config;
use crate::error::Result;
use crate::settings::org_from_toml;
use crate::settings::schema::{Setting, SETTINGS};

pub(super) fn cmd_settings(ctx: &Ctx, a: SettingsArgs) -> Result<u8> {
    let client = match &a.tenant {
        Some(t) => {
            let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
            let (name, tenant) = config.tenant(Some(t))?;
            Some((name.to_string(), org_from_toml(&tenant.defaults)?))
        }
        None => None,
    };
    let org = client.as_ref().map(|(_, m)| m);
    if a.json {
        let rows: Vec<Json> = SETTINGS.iter().map(|s| row_json(s, org)).collect();
        outln!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else {
        // Longer than a screen: through the pager on a terminal, like `runs list`.
        super::pager::print_paged(&table(org, width()));
    }
    Ok(0)
}

/// A value as the TOML would spell it: strings quoted, so an empty default reads `""`.
fn show(v: &Dynamic) -> String {
    match v.clone().into_immutable_string() {
        Ok(s) => format!("{:?}", s.as_str()),
        Err(_) => v.to_string(),
    }
}

fn to_json(v: &Dynamic) -> Json {
    if let Ok(b) = v.as_bool() {
        json!(b)
    } else if let Ok(i) = v.as_int() {
        json!(i)
    } else {
        json!(v.to_string())
    }
}

fn row_json(s: &Setting, org: Option<&Map>) -> Json {
    let mut o = json!({
        "name": s.name,
        "type": s.default.kind().name(),
        "default": to_json(&s.default.to_dynamic()),
        "description": s.description,
    });
    if let Some(org) = org {
        // null: the client does not set it, so a run gets the default.
        o["value"] = org.get(s.name).map(to_json).unwrap_or(Json::Null);
    }
    o
}

/// One line a setting fitting `width`: name, type, default, [client value,] description cut to
/// what is left (the full text is in `--json` and the generated reference).
fn table(org: Option<&Map>, width: usize) -> String {
    let name_w = SETTINGS.iter().map(|s| cols(s.name)).max().unwrap_or(0).max(4);
    let kind_w = "integer".len();
    let default_of = |s: &Setting| show(&s.default.to_dynamic());
    let value_of = |s: &Setting| org.and_then(|o| o.get(s.name)).map(show).unwrap_or_else(|| "-".into());
    // Long string defaults would push every description off the line: a value column is capped.
    let value_w =
        |f: &dyn Fn(&Setting) -> String, head: &str| SETTINGS.iter().map(|s| cols(&f(s))).max().unwrap_or(0).clamp(cols(head), 16);
    let default_w = value_w(&default_of, "DEFAULT");
    let client_w = org.map(|_| value_w(&value_of, "CLIENT"));
    let used = name_w + 2 + kind_w + 2 + default_w + 2 + client_w.map(|w| w + 2).unwrap_or(0);
    // Too narrow for the description beside the values: it goes on a line of its own below.
    let desc_w = width.saturating_sub(used);
    let below = desc_w < 20;
    let line = |name: &str, kind: &str, default: &str, client: Option<String>, desc: &str| {
        let mut l = format!("{}  {}  {}  ", fit(name, name_w), fit(kind, kind_w), fit(default, default_w));
        if let (Some(w), Some(c)) = (client_w, client) {
            l.push_str(&format!("{}  ", fit(&c, w)));
        }
        if below {
            let l = truncate(l.trim_end(), width);
            return if desc == "DESCRIPTION" { format!("{l}\n") } else { format!("{l}\n    {}\n", truncate(desc, width - 4)) };
        }
        l.push_str(&truncate(desc, desc_w));
        format!("{}\n", l.trim_end())
    };
    let mut out = line("NAME", "TYPE", "DEFAULT", org.map(|_| "CLIENT".to_string()), "DESCRIPTION");
    for s in SETTINGS {
        out.push_str(&line(s.name, s.default.kind().name(), &default_of(s), org.map(|_| value_of(s)), s.description));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_fits_the_width() {
        let mut org = Map::new();
        org.insert("forward_to".into(), Dynamic::from("a.very.long.address@example.com".to_string()));
        for w in [40, 80, 120] {
            for l in table(Some(&org), w).lines() {
                assert!(cols(l) <= w.max(40), "{w}: {l}");
            }
        }
    }
}
