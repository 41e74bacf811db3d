//! offboard-host: offboards departing employees for managed-service providers.
//!
//! A technician runs a Rhai script (`scripts/default.rhai` or a client's own) against one client
//! tenant. Reads go to the live directory; every write is an *action* with a precondition check,
//! recorded in the journal before and after it runs. `plan` runs the same script and sends no write.
//!
//! # Layout
//!
//! Read in this order: the op table and the engine are the security boundary; the executor is
//! where a write becomes a journalled step; providers are plain HTTP clients behind traits.
//! Modules import only downwards (the layers and the reason for each arrow are in
//! `src/README.md`, and `tests/layers.rs` enforces them): the executor knows no provider, the
//! providers plug into it, the op table calls the providers, the engine registers the op table,
//! a run drives the engine, and the CLI sits on top.
//!
//! | module | what it holds |
//! |---|---|
//! | [`ops`] | the op table: every script function with its capability, read/write, idempotence and plan behaviour |
//! | [`engine`] | [`engine::build_engine`], the one place the hardened Rhai engine is built; the import sandbox |
//! | [`action_error`] | the error actions return: below the executor and the providers, so neither knows the other |
//! | [`exec`] | actions, phases, the executor (observe → intent → write → outcome), the host and the run report; provider-neutral |
//! | [`run`] | one run of a script for one user: lock, journal, engine, observers (ticketing), report |
//! | [`authoring`] | `check` and the generated reference |
//! | [`service`] | what the CLI and the console share: a tenant's [`service::Connection`] (demo or configured APIs) and a [`service::Session`] that plans and applies for any number of users; [`service::request`]: a plan, then apply, schedule or send for approval |
//! | [`console`] | the web console (`serve`): OpenID Connect sign-in, sessions and CSRF, roles from `[console]`, the runs pages, the offboarding form, the JSON API (`console::api`: API tokens, request keys, OpenAPI) |
//! | [`entra`] | the Entra ID provider trait, its Graph implementation, and one action per primitive |
//! | [`exchange`] | the Exchange Online provider trait, its InvokeCommand implementation, and one action per mailbox primitive |
//! | [`psa`] | PSA ticketing (ConnectWise Manage, Autotask, HaloPSA): the trait, the outbox, `disable_psa_contact` |
//! | [`ad`] | on-premises Active Directory: the provider trait, its LDAP (ldap3) implementation, one action per primitive |
//! | [`graph`] | our typed Microsoft Graph client: token cache, bounded retries, `$batch` coalescing, paging |
//! | [`journal`] | the [`journal::Journal`] trait and its SQLite implementation: runs, steps, prior state, locks |
//! | [`workflow`] | workflow control: approvals, scheduled runs (the worker), bulk runs; the injectable clock |
//! | [`demo`] | the simulated Microsoft 365 tenant served on loopback, for the demo and the tests |
//! | [`cli`] | clap arguments, the subcommands, confirmation, report rendering |
//! | [`config`] | `offboard-host.toml`: one entry per client tenant, its directory mode, defaults and denials |
//! | [`settings`] | the settings schema, and the client's `[defaults]` and `--set` checked against it as the script's `ORG` map |
//! | [`input`] | validation of user names before anything is sent |
//! | [`error`] | the one error enum and the exit codes |
//! | [`secret`] | a string that never prints itself |
//!
//! Rhai sources shipped with the binary: `stdlib/` (importable modules) and `scripts/default.rhai`.

pub mod action_error;
pub mod ad;
pub mod authoring;
pub mod cli;
pub mod config;
pub mod console;
pub mod demo;
pub mod engine;
pub mod entra;
pub mod error;
pub mod exchange;
pub mod exec;
pub mod graph;
pub mod input;
pub mod journal;
pub mod ops;
pub mod psa;
pub mod run;
pub mod secret;
pub mod service;
pub mod settings;
pub mod workflow;
