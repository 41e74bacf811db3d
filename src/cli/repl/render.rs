//! How the REPL prints a result: a user as tables of its properties, groups and licences; an
//! array of maps as one table with a column per key; a map as a key/value table (its lists of
//! maps, such as a mailbox's devices and rules, as tables of their own below it); the rest as
//! Rhai prints it. Tables fit the terminal's width (or `$COLUMNS`, or 80: see
//! `render::text::width`), and sizes in bytes (`size_bytes`) read in KiB, MiB, GiB.

use std::collections::BTreeSet;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use rhai::{Dynamic, Map};

use crate::cli::render::text;
use crate::ops::user::User;

fn new_table(header: Vec<String>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).force_no_tty();
    t.set_width(u16::try_from(crate::cli::render::text::width()).unwrap_or(u16::MAX));
    if !header.is_empty() {
        t.set_header(header);
    }
    t
}

/// A size in bytes as a person reads it: `512 B`, `1.5 KiB`, `51.2 GiB` (binary units, as
/// Exchange counts its quotas). Ten lines, so no crate for it.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A value under `key`: a byte count (`*_bytes`) in human units, the rest as [`cell`].
fn keyed_cell(key: &str, v: &Dynamic) -> String {
    match v.as_int() {
        Ok(n) if key.ends_with("_bytes") && n >= 0 => human_bytes(n as u64),
        _ => cell(v),
    }
}

/// A non-empty array whose items are all maps.
fn maps_of(v: &Dynamic) -> Option<Vec<Map>> {
    let a = v.read_lock::<rhai::Array>()?;
    (!a.is_empty() && a.iter().all(|x| x.is_map())).then(|| a.iter().map(|x| x.clone().cast::<Map>()).collect())
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
    "department",
    "licenses",
    "account_enabled",
    "device_name",
    "friendly_name",
    "operating_system",
    "os",
    "model",
    "owner",
    "management_state",
    "compliance_state",
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

/// Columns left out first when a table is too wide for the screen: ids and detail a technician
/// rarely needs at a glance (they stay in the value: `x.id`, `x.mail`).
const DROP_FIRST: &[&str] = &[
    "id",
    "directory",
    "target_id",
    "device_id",
    "identity",
    "mail",
    "job_title",
    "os_version",
    "last_sync",
    "dynamic",
    "synced",
    "mail_enabled",
    "license_group",
    "via_groups",
];

/// A column narrower than this is not wrapped: its cells stay on one line.
const WRAP_ABOVE: usize = 24;

/// The columns of `cols` that fit `width` with their cells on one line (up to [`WRAP_ABOVE`]
/// columns; wider cells wrap), leaving out [`DROP_FIRST`] and then the last ones.
fn fitting(cols: &[String], rows: &[Vec<String>], width: usize) -> Vec<usize> {
    let natural: Vec<usize> = (0..cols.len())
        .map(|i| {
            let cells = rows.iter().map(|r| text::cols(&r[i]));
            cells.chain(std::iter::once(text::cols(&cols[i]))).max().unwrap_or(0).min(WRAP_ABOVE)
        })
        .collect();
    let mut keep: Vec<usize> = (0..cols.len()).collect();
    // Borders: one column before each cell, one after the last, and a space each side of a cell.
    let needed = |keep: &[usize]| keep.iter().map(|&i| natural[i] + 3).sum::<usize>() + 1;
    let mut drop_order: Vec<usize> = DROP_FIRST.iter().filter_map(|d| cols.iter().position(|c| c == d)).collect();
    drop_order.extend((0..cols.len()).rev().filter(|i| !DROP_FIRST.contains(&cols[*i].as_str())));
    for i in drop_order {
        if needed(&keep) <= width || keep.len() <= 2 {
            break;
        }
        keep.retain(|&k| k != i);
    }
    keep
}

fn maps_table(maps: &[Map]) -> String {
    let cols = columns(maps.iter());
    let rows: Vec<Vec<String>> =
        maps.iter().map(|m| cols.iter().map(|c| m.get(c.as_str()).map(|v| keyed_cell(c, v)).unwrap_or_default()).collect()).collect();
    let width = text::width();
    let keep = fitting(&cols, &rows, width);
    let mut t = new_table(keep.iter().map(|&i| cols[i].clone()).collect());
    for r in &rows {
        t.add_row(keep.iter().map(|&i| r[i].clone()).collect::<Vec<_>>());
    }
    let left_out: Vec<&str> = (0..cols.len()).filter(|i| !keep.contains(i)).map(|i| cols[i].as_str()).collect();
    if left_out.is_empty() {
        format!("{t}\n")
    } else {
        let note = format!("(not shown at this width: {}; they are in the value)", left_out.join(", "));
        format!("{t}\n{}\n", text::wrap(&note, width, "", " ").join("\n"))
    }
}

fn map_table(m: &Map) -> String {
    let mut t = new_table(vec!["key".into(), "value".into()]);
    let mut below = String::new();
    for k in columns(std::iter::once(m)) {
        let v = m.get(k.as_str()).cloned().unwrap_or(Dynamic::UNIT);
        // A list of maps in one cell would wrap into noise: it gets a table of its own.
        if let Some(items) = maps_of(&v) {
            t.add_row(vec![k.clone(), format!("{} (below)", items.len())]);
            below.push_str(&format!("{k} ({})\n{}", items.len(), maps_table(&items)));
        } else {
            t.add_row(vec![k.clone(), keyed_cell(&k, &v)]);
        }
    }
    format!("{t}\n{below}")
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
