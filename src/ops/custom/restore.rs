//! An action's `restore` function: given the prior state `observe` found, it returns the calls
//! that put it back — `#{graph: "PATCH", path, body}`, `#{exo: "Set-Mailbox", params}`,
//! `#{ad: dn, changes}`, or a list of them. It runs while observing (no write is allowed there),
//! and the calls, checked like the generic calls themselves, are kept in the journal with the
//! prior state (`script_restore`), so `restore RUN_ID` can replay them without the script.

use rhai::{Array, Dynamic, EvalAltResult, Map, Position};
use serde_json::{json, Value};

use super::ad::mods;
use super::exo::valid_cmdlet;
use super::graph::checked_path;
use super::value::json;

pub use crate::exec::SCRIPT_RESTORE_KEY as KEY;

/// The calls a restore function returned, as the journal keeps them.
pub fn calls(name: &str, v: Dynamic) -> Result<Value, String> {
    let items: Array = if v.is_map() {
        vec![v]
    } else {
        v.try_cast::<Array>().ok_or_else(|| format!("the restore function of {name} must return a map or a list of maps"))?
    };
    let pos = Position::NONE;
    let msg = |e: Box<EvalAltResult>| format!("the restore function of {name}: {e}");
    let mut out = Vec::new();
    for item in items {
        let m = item.read_lock::<Map>().map(|m| m.clone()).ok_or_else(|| format!("the restore function of {name} must return maps"))?;
        let text = |k: &str| m.get(k).and_then(|v| v.clone().into_string().ok());
        let call = if let Some(method) = text("graph") {
            let method = method.to_ascii_uppercase();
            if !["POST", "PATCH", "PUT", "DELETE"].contains(&method.as_str()) {
                return Err(format!("the restore function of {name}: '{method}' is not a Graph write"));
            }
            let path = checked_path(&text("path").unwrap_or_default(), pos).map_err(msg)?;
            let body = m.get("body").filter(|b| !b.is_unit()).map(json).transpose()?;
            json!({"kind": "graph", "method": method, "path": path, "body": body})
        } else if let Some(cmdlet) = text("exo") {
            if !valid_cmdlet(&cmdlet) {
                return Err(format!("the restore function of {name}: {cmdlet:?} is not a cmdlet name"));
            }
            let params = m.get("params").map(json).transpose()?.unwrap_or_else(|| json!({}));
            json!({"kind": "exo", "cmdlet": cmdlet, "params": params})
        } else if let Some(dn) = text("ad") {
            let changes = m.get("changes").and_then(|c| c.read_lock::<Map>().map(|c| c.clone())).unwrap_or_default();
            let mods = serde_json::to_value(mods(&changes, pos).map_err(msg)?).map_err(|e| e.to_string())?;
            json!({"kind": "ad", "dn": dn, "mods": mods})
        } else {
            return Err(format!("the restore function of {name}: each call is #{{graph: method, path, body}}, #{{exo: cmdlet, params}} or #{{ad: dn, changes}}"));
        };
        out.push(call);
    }
    Ok(Value::Array(out))
}
