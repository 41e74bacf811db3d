//! Script authoring: what helps a person write a script, above the engine and the op table.
//!
//! | file | what it holds |
//! |---|---|
//! | `check.rs` | `check`: compile, imports through the sandbox, calls (plain, namespaced, methods, `Fn` pointers, closures) and literal argument types against the op table, denied capabilities, on Rhai's AST; contacts nothing |
//! | `script_docs.rs` | the documented Rhai functions: stdlib modules and the default script's hooks, from their `///` comments |
//! | `help.rs` | the REPL's `help` for those (stdlib modules, functions, hooks) and whole-paragraph op summaries |
//! | `docs.rs` | the script reference and `.d.rhai` definitions generated from the op table (committed in `docs/reference/`) |

pub mod check;
pub mod docs;
pub mod help;
pub mod script_docs;
