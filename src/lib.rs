//! offboard-host: offboards departing employees for managed-service providers.
//!
//! A technician runs a Rhai script (`scripts/default.rhai` or a client's own) against one client
//! tenant. Reads go to the live directory; every write is an *action* with a precondition check,
//! recorded in the journal before and after it runs. `plan` runs the same script and sends no write.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`cli`] | clap arguments, the subcommands, the confirmation prompt, report rendering |
//! | [`config`] | `offboard-host.toml`: one entry per client tenant, its directory mode and defaults |
//! | [`engine`] | [`engine::build_engine`], the one place the hardened Rhai engine is built; the module resolver |
//! | [`ops`] | the op table: every script function with its capability, read/write, idempotence and plan behaviour |
//! | [`exec`] | actions, phases, the executor (observe → intent → write → outcome) and the run report |
//! | [`journal`] | the [`journal::Journal`] trait and its SQLite implementation: runs, steps, prior state |
//! | [`graph`] | our typed Microsoft Graph client: token cache, retries, `$batch` coalescing, paging |
//! | [`demo`] | the simulated Microsoft 365 tenant served on loopback, for the demo and the tests |
//! | [`error`] | the one error enum and the exit codes |
//! | [`secret`] | a string that never prints itself |

pub mod demo;
pub mod error;
pub mod graph;
pub mod journal;
pub mod secret;
pub mod cli;
pub mod config;
pub mod engine;
pub mod entra;
pub mod exec;
pub mod input;
pub mod ops;
