//! How the REPL prints a result: a user as tables of its properties, groups and licences; an
//! array of maps as one table with a column per key; a map as a key/value table; the rest as Rhai
//! prints it. Tables take the terminal's width from `COLUMNS` when it is set.

use std::collections::BTreeSet;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use rhai::{Dynamic, Map};

use crate::ops::user::User;

fn new_table(header: Vec<String>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).force_no_tty();
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        t.set_width(w);
    }
    if !header.is_empty() {
        t.set_header(header);
    }
    t
}

/// A value in a table cell: strings without quotes, `()` empty, arrays joined.
fn cell(v: &Dynamic) -> String {
    if v.is_unit() {
        String::new()
    } else if v.is_string() {
        v.clone().into_string().unwrap_or_default()
    } else if v.is_array() {
        v.clone().into_array().unwrap_or_default().iter().map(cell).collect::<Vec<_>>().join(", ")
    } else if let Some(u) = v.read_lock::<User>() {
        format!("{} <{}>", u.0.display_name, u.0.upn)
    } else {
        v.to_string()
    }
}

const COLUMN_ORDER: &[&str] = &[
    "phase",
    "id",
    "action",
    "name",
    "display_name",
    "upn",
    "sku",
    "kind",
    "direct",
    "via_groups",
    "removable",
    "reason",
    "target",
    "status",
    "detail",
];

fn columns<'a>(maps: impl Iterator<Item = &'a Map>) -> Vec<String> {
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for m in maps {
        keys.extend(m.keys().map(|k| k.to_string()));
    }
    let mut cols: Vec<String> = COLUMN_ORDER.iter().filter(|k| keys.contains(**k)).map(|k| k.to_string()).collect();
    cols.extend(keys.into_iter().filter(|k| !COLUMN_ORDER.contains(&k.as_str())));
    cols
}

fn maps_table(maps: &[Map]) -> String {
    let cols = columns(maps.iter());
    let mut t = new_table(cols.clone());
    for m in maps {
        t.add_row(cols.iter().map(|c| m.get(c.as_str()).map(cell).unwrap_or_default()).collect::<Vec<_>>());
    }
    format!("{t}\n")
}

fn map_table(m: &Map) -> String {
    let mut t = new_table(vec!["key".into(), "value".into()]);
    for k in columns(std::iter::once(m)) {
        t.add_row(vec![k.clone(), m.get(k.as_str()).map(cell).unwrap_or_default()]);
    }
    format!("{t}\n")
}

fn user_table(u: &User) -> String {
    let c = &u.0;
    let mut out = String::new();
    let mut t = new_table(vec!["user".into(), c.upn.clone()]);
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    let manager = c.manager.as_ref().map(|m| format!("{} <{}>", m.display_name, m.upn)).unwrap_or_else(|| "none".into());
    for (k, v) in [
        ("display_name", c.display_name.clone()),
        ("id", c.id.clone()),
        ("mail", opt(&c.mail)),
        ("account_enabled", c.account_enabled.to_string()),
        ("synced", c.synced.to_string()),
        ("employee_id", opt(&c.employee_id)),
        ("job_title", opt(&c.job_title)),
        ("department", opt(&c.department)),
        ("manager", manager),
    ] {
        t.add_row(vec![k.to_string(), v]);
    }
    out.push_str(&format!("{t}\n"));
    let groups: Vec<Map> = u.groups().into_iter().filter_map(|g| g.try_cast::<Map>()).collect();
    out.push_str(&format!("groups ({})\n", groups.len()));
    if !groups.is_empty() {
        let mut t = new_table(["name", "kind", "removable", "reason", "license group"].iter().map(|s| s.to_string()).collect());
        for g in &groups {
            let get = |k: &str| g.get(k).map(cell).unwrap_or_default();
            t.add_row(vec![get("name"), get("kind"), get("removable"), get("reason"), get("license_group")]);
        }
        out.push_str(&format!("{t}\n"));
    }
    let licenses: Vec<Map> = u.licenses().into_iter().filter_map(|l| l.try_cast::<Map>()).collect();
    out.push_str(&format!("licences ({})\n", licenses.len()));
    if !licenses.is_empty() {
        let mut t = new_table(["sku", "direct", "via groups"].iter().map(|s| s.to_string()).collect());
        for l in &licenses {
            let get = |k: &str| l.get(k).map(cell).unwrap_or_default();
            t.add_row(vec![get("sku"), get("direct"), get("via_groups")]);
        }
        out.push_str(&format!("{t}\n"));
    }
    out
}

/// A result, readably: a user as tables, arrays of maps and maps as tables, the rest as Rhai
/// prints it. `()` prints nothing.
pub fn render(v: &Dynamic) -> String {
    if v.is_unit() {
        return String::new();
    }
    if let Some(u) = v.read_lock::<User>() {
        return user_table(&u);
    }
    if v.is_map() {
        let m = v.clone().cast::<Map>();
        return if m.is_empty() { "#{}\n".into() } else { map_table(&m) };
    }
    if v.is_array() {
        let a = v.clone().cast::<rhai::Array>();
        if !a.is_empty() && a.iter().all(|x| x.is_map()) {
            let maps: Vec<Map> = a.into_iter().map(|x| x.cast::<Map>()).collect();
            return maps_table(&maps);
        }
        if !a.is_empty() && a.iter().all(|x| x.is::<User>()) {
            return a.iter().map(render).collect();
        }
        return format!("{v:?}\n");
    }
    if v.is_string() {
        return format!("{}\n", v.clone().into_string().unwrap_or_default());
    }
    format!("{v}\n")
}
