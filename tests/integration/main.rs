//! Integration tests: the `offboard-host` binary against its built-in demo tenant.
//!
//! Every test runs the real binary with its own `OFFBOARD_HOME` (temp dir), so tests run in
//! parallel and share nothing.

mod helpers;

mod bad_input;
mod broken_pipe;
mod clients;
mod confirm;
mod exit_codes;
mod faults;
mod interrupted;
mod intune;
mod journal;
mod journal_integrity;
mod overrides;
mod plan_apply;
mod protected;
mod reference;
mod run_ids;
mod secrets;
mod synced;
mod transport;
