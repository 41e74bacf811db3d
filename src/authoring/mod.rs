//! Script authoring: what helps a person write a script, above the engine and the op table.
//!
//! | file | what it holds |
//! |---|---|
//! | `check.rs` | `check`: compile, imports through the sandbox, calls against the op table, denied capabilities; contacts nothing |
//! | `docs.rs` | the script reference and `.d.rhai` definitions generated from the op table (committed in `docs/reference/`) |

pub mod check;
pub mod docs;
pub mod script_docs;
