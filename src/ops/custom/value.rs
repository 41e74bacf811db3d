//! Script values as JSON, for the journal and for requests (a leaf of `custom/`: every other file
//! of the folder may use it).

use rhai::{Dynamic, EvalAltResult};
use serde_json::Value;

/// A script value as JSON.
pub fn json(v: &Dynamic) -> Result<Value, String> {
    rhai::serde::from_dynamic::<Value>(v).map_err(|e: Box<EvalAltResult>| format!("not representable as JSON: {e}"))
}
