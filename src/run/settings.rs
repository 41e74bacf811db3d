//! The settings a run understands: the schema's (see [`crate::settings::schema`]).

use rhai::Map;

/// The settings a run understands, each with its default (a value of the type it must keep).
/// Bulk runs use it to tell setting columns from the rest and to refuse a wrongly typed cell
/// before any user runs.
pub fn known_settings() -> Map {
    crate::settings::schema::defaults_map()
}
