//! The demo tenant: a simulated Microsoft Graph and Entra ID token endpoint served over real HTTP on
//! loopback.
//!
//! It exists so the real reqwest Graph client, the CLI's demo mode, the tests and the benchmarks can
//! all run against something that answers like Graph (same paths, same error bodies, absolute
//! `@odata.nextLink`s, `$batch`, 429s with `Retry-After`) without a real tenant. Faults are injected
//! with [`Knobs`]; what happened is counted in [`SimStats`]; everything lives in one JSON state file
//! so a CLI child process and the test that spawned it can share a tenant.
//!
//! Layout: [`model`] holds the directory objects, [`seed`] builds the starting tenant (with the
//! fixed ids of its named objects in [`ids`]), `store` reads and writes the state file, `dispatch`
//! is the one Graph dispatcher that direct requests and `$batch` sub-requests (`batch`) both go
//! through (and where Graph's write quotas, [`quota`], are enforced), with the endpoints in `users`, `groups` (and their `owners`), `licences`, [`intune`]
//! (managed devices), `auth_methods` (authentication methods), `grants` (OAuth2 consents and app
//! role assignments) and `drive` (OneDrive and its sharing permissions),
//! `odata` holds the query options and paging, `token` the token endpoint, [`oidc`] the MSP staff's
//! OpenID Connect issuer for the console, and `server` the axum front end. [`psa`] holds the simulated ConnectWise Manage, Autotask and HaloPSA, served by the
//! same server.

mod auth_methods;
mod batch;
mod critical_path;
mod dispatch;
mod drive;
pub mod exchange;
mod filter;
mod grants;
mod groups;
pub mod ids;
pub mod intune;
mod licences;
pub mod mail;
pub mod model;
mod odata;
pub mod oidc;
mod owners;
pub mod psa;
pub mod quota;
mod reply;
mod roles;
pub mod seed;
mod server;
mod shared;
mod store;
mod token;
mod users;
mod write_log;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use server::{base_url, exchange_base_url, token_url, DemoServer};

/// The demo tenant's directory (tenant) GUID, as used in the token URL.
pub const DEMO_TENANT_ID: &str = "6f1c2a9e-4b7d-4c1e-9a53-2d8e0b7c4a10";
/// The demo tenant's verified domain; every seeded UPN ends with it.
pub const DEMO_DOMAIN: &str = "contoso.test";
/// The one app registration the demo token endpoint knows.
pub const DEMO_CLIENT_ID: &str = "0d3f5b1e-demo-4c0f-8e21-offboardhost";
/// The client secret of [`DEMO_CLIENT_ID`].
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";

/// Fault injection and timing. Counters are per Graph operation (a `$batch` sub-request counts on
/// its own), so a client's batch path meets the same throttling as its direct path.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Knobs {
    /// Added once to every HTTP request (token and Graph; a `$batch` is one request).
    pub latency_ms: u64,
    /// 0 = off; every Nth Graph operation answers 429.
    pub throttle_every: u64,
    /// The `Retry-After` seconds sent with a knob's 429 (a quota 429 computes its own).
    pub retry_after_secs: u64,
    /// Graph's write quota per app and tenant (see `quota.rs`); None: the documented 3,000 per
    /// 150 s. A test scales it down (`OFFBOARD_DEMO_GRAPH_WRITE_QUOTA=300/15`).
    pub graph_write_quota: Option<quota::WriteQuota>,
    /// Graph's write quota per app across tenants; None: the documented 70,000 per 300 s
    /// (`OFFBOARD_DEMO_GRAPH_APP_WRITE_QUOTA`).
    pub graph_app_write_quota: Option<quota::WriteQuota>,
    /// With a seed, the `*_rate` knobs below fault that share of Graph operations, picked at
    /// random but the same ones for the same seed (operation N is hit or not by the seed and N
    /// alone), on top of the every-Nth knobs. None: the rates are off.
    pub fault_seed: Option<u64>,
    /// 0.0..=1.0: the share of Graph operations answering 429 (with `fault_seed`).
    pub throttle_rate: f64,
    /// 0.0..=1.0: the share of Graph operations answering 503, not applied (with `fault_seed`).
    pub fault_rate: f64,
    /// 0.0..=1.0: the share of Graph operations applied and then held back `hang_ms` (with `fault_seed`).
    pub hang_rate: f64,
    /// 0 = off; every Nth Graph operation answers 503 and is not applied.
    pub fault_every: u64,
    /// 0 = off; the first N Graph operations (with `fault_match`, the first N matching ones)
    /// answer 503 and are not applied: a transient outage, then recovery.
    pub fault_first: u64,
    /// 0 = off; every Nth Graph operation is applied, then its answer is held back `hang_ms`.
    pub hang_every: u64,
    pub hang_ms: u64,
    /// If set, the fault knobs above apply only to operations whose `METHOD path body`
    /// contains this text, counted among themselves (e.g. `passwordProfile` with
    /// `hang_every = 1` holds back every password write and nothing else).
    pub fault_match: Option<String>,
    /// If set, every password received in a `passwordProfile` is appended here, one a line, so a
    /// test can look for the canary anywhere else (logs, journal, reports).
    pub record_passwords: Option<PathBuf>,
    /// 0 = off; every Nth operation that is an Exchange cmdlet answers Exchange's "maximum number
    /// of concurrent requests" error (counted with the Graph operations, like `throttle_every`).
    pub exo_busy_every: u64,
    /// How long a conversion to a shared mailbox takes to become visible (0 = at once).
    pub shared_delay_ms: u64,
    /// The most Exchange requests (direct or `$batch`) in flight at once; one more answers
    /// Exchange's "maximum number of concurrent requests" error. None: [`EXO_CONCURRENCY`];
    /// `Some(0)`: no limit. (`OFFBOARD_DEMO_EXO_CONCURRENCY`.)
    pub exo_concurrency: Option<u64>,
    /// Cmdlets the app has no Exchange role for: they answer an access-denied error.
    pub exo_denied: Vec<String>,
    /// Simulated PSAs: after this many PSA writes since the server started, every PSA request
    /// answers 503 (an outage). None = up.
    pub psa_down_after_writes: Option<u64>,
    /// 0 = off; every Nth PSA request answers 429 with `Retry-After: retry_after_secs`.
    pub psa_throttle_every: u64,
    /// 0 = off; the first N ticket creations since the server started are applied, then answered
    /// 503: the answer is lost, and a client that opens the ticket again makes a duplicate.
    pub psa_create_lost: u64,
    /// Simulated PSAs: the most records a list page holds, whatever the client asks for (a server
    /// configured below the documented caps: ConnectWise 1000, Autotask 500, Halo's `page_size`).
    /// None = the documented caps.
    pub psa_page_max: Option<usize>,
    /// The tenant has no Intune (or the app no permission for it): the managed-device list answers 403.
    pub no_intune: bool,
    /// sendMail answers 202 and the message goes nowhere, not even to Sent Items (a transport
    /// rule dropped it): what a client that trusts the 202 cannot tell from a sent mail.
    pub mail_lost: bool,
    /// How many ordinary users a fresh or reset tenant is seeded with (None: the default
    /// [`seed::ORDINARY_USERS`]; fewer are not seeded): the scale-out benchmark's 10,000 leavers
    /// (`OFFBOARD_DEMO_USERS`). Read when the tenant is seeded, not on every request.
    pub ordinary_users: Option<usize>,
}

/// How long the CLI's demo tenant takes to make a conversion to shared visible, by default.
pub const DEFAULT_SHARED_DELAY_MS: u64 = 1500;

/// Exchange's limit of concurrent requests per app and tenant, as the simulator enforces it by
/// default. Not documented for the admin API; its remote PowerShell allowed 3 concurrent
/// connections (Microsoft365DSC#135), which the client's own limit matches.
pub const EXO_CONCURRENCY: u64 = 3;

impl Knobs {
    /// The Exchange concurrency limit in force (None: unlimited).
    pub fn exo_concurrency_limit(&self) -> Option<u64> {
        match self.exo_concurrency {
            None => Some(EXO_CONCURRENCY),
            Some(0) => None,
            Some(n) => Some(n),
        }
    }

    /// The tenant as seeded under these knobs.
    pub fn seed(&self) -> model::State {
        seed::seed_with(self.ordinary_users.unwrap_or(seed::ORDINARY_USERS))
    }

    /// The write quota per app and tenant in force.
    pub fn write_quota(&self) -> quota::WriteQuota {
        self.graph_write_quota.unwrap_or(quota::WriteQuota::PER_APP_AND_TENANT)
    }
    /// The write quota per app across tenants in force.
    pub fn app_write_quota(&self) -> quota::WriteQuota {
        self.graph_app_write_quota.unwrap_or(quota::WriteQuota::PER_APP)
    }
    /// Knobs from `OFFBOARD_DEMO_*` environment variables; unset or unparsable numbers mean off
    /// (`Retry-After` defaults to 1 so a throttled client never spins).
    pub fn from_env() -> Knobs {
        fn num(name: &str, default: u64) -> u64 {
            std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
        }
        fn rate(name: &str) -> f64 {
            std::env::var(name).ok().and_then(|v| v.trim().parse::<f64>().ok()).filter(|r| r.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0)
        }
        let quota = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<quota::WriteQuota>().ok());
        Knobs {
            latency_ms: num("OFFBOARD_DEMO_LATENCY_MS", 0),
            throttle_every: num("OFFBOARD_DEMO_THROTTLE_EVERY", 0),
            retry_after_secs: num("OFFBOARD_DEMO_RETRY_AFTER", 1),
            graph_write_quota: quota("OFFBOARD_DEMO_GRAPH_WRITE_QUOTA"),
            graph_app_write_quota: quota("OFFBOARD_DEMO_GRAPH_APP_WRITE_QUOTA"),
            fault_seed: std::env::var("OFFBOARD_DEMO_FAULT_SEED").ok().and_then(|v| v.trim().parse().ok()),
            throttle_rate: rate("OFFBOARD_DEMO_THROTTLE_RATE"),
            fault_rate: rate("OFFBOARD_DEMO_FAULT_RATE"),
            hang_rate: rate("OFFBOARD_DEMO_HANG_RATE"),
            fault_every: num("OFFBOARD_DEMO_FAULT_EVERY", 0),
            fault_first: num("OFFBOARD_DEMO_FAULT_FIRST", 0),
            hang_every: num("OFFBOARD_DEMO_HANG_EVERY", 0),
            hang_ms: num("OFFBOARD_DEMO_HANG_MS", 0),
            fault_match: std::env::var("OFFBOARD_DEMO_FAULT_MATCH").ok().filter(|v| !v.is_empty()),
            record_passwords: std::env::var_os("OFFBOARD_DEMO_RECORD_PASSWORDS").filter(|v| !v.is_empty()).map(PathBuf::from),
            exo_busy_every: num("OFFBOARD_DEMO_EXO_BUSY_EVERY", 0),
            shared_delay_ms: num("OFFBOARD_DEMO_SHARED_DELAY_MS", DEFAULT_SHARED_DELAY_MS),
            exo_concurrency: std::env::var("OFFBOARD_DEMO_EXO_CONCURRENCY").ok().and_then(|v| v.trim().parse().ok()),
            exo_denied: std::env::var("OFFBOARD_DEMO_EXO_DENY")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            psa_down_after_writes: std::env::var("OFFBOARD_DEMO_PSA_DOWN_AFTER").ok().and_then(|v| v.trim().parse().ok()),
            psa_throttle_every: num("OFFBOARD_DEMO_PSA_THROTTLE_EVERY", 0),
            psa_create_lost: num("OFFBOARD_DEMO_PSA_CREATE_LOST", 0),
            psa_page_max: std::env::var("OFFBOARD_DEMO_PSA_PAGE_MAX").ok().and_then(|v| v.trim().parse().ok()).filter(|n| *n > 0),
            no_intune: num("OFFBOARD_DEMO_NO_INTUNE", 0) != 0,
            mail_lost: num("OFFBOARD_DEMO_MAIL_LOST", 0) != 0,
            ordinary_users: std::env::var("OFFBOARD_DEMO_USERS").ok().and_then(|v| v.trim().parse().ok()),
        }
    }
}

/// Where the tenant's state lives and how it misbehaves.
pub struct DemoConfig {
    pub state_path: PathBuf,
    pub knobs: Knobs,
}

/// What the simulator saw since the last reset. Persisted in the state file so a test can read it
/// after a CLI child process has exited.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(default)]
pub struct SimStats {
    /// HTTP requests received (token and Graph, not `/_sim/*`).
    pub http_requests: u64,
    /// Graph operations: a `$batch` counts each sub-request, not the envelope.
    pub operations: u64,
    /// Write operations received (POST/PATCH/PUT/DELETE), even if rejected or throttled.
    pub writes: u64,
    /// Write operations that succeeded and so changed state.
    pub writes_applied: u64,
    /// Graph operations answered 429, by a knob or by the write quota.
    pub throttled: u64,
    /// Graph writes refused (429) by the write quota (also counted in `throttled`).
    pub quota_throttled: u64,
    /// Graph writes applied to a user's own resource (`/users/{id or UPN}/...`), by user id: a
    /// bulk run that applied a user twice shows it here.
    pub user_writes: std::collections::BTreeMap<String, u64>,
    pub faults: u64,
    pub token_requests: u64,
    /// Exchange cmdlets received (also counted in `operations`).
    pub exo_operations: u64,
    /// Exchange cmdlets that are not `Get-*` (also counted in `writes`), even if refused.
    pub exo_writes: u64,
    /// Graph and Exchange requests refused at the bearer check (no token, an expired one, or one
    /// issued for the other API): a client that sends the right token to each API leaves it at 0.
    pub bearer_refused: u64,
    /// Exchange requests refused because more than the concurrency limit were in flight
    /// (`Knobs::exo_concurrency`): a client that keeps under the limit leaves it at 0.
    pub exo_concurrency_refused: u64,
    /// When (unix ms) the latest mailbox type change (a conversion to shared) became visible, as
    /// the simulator scheduled it: how late a client saw it is measured from here.
    pub type_change_visible_ms: Option<i64>,
    /// Sequential round trips: the longest chain of counted HTTP requests (those in
    /// `http_requests`) whose lifetimes at the server did not overlap (see `critical_path.rs`).
    pub round_trips: u64,
}

/// The UPNs of the ordinary users of a tenant seeded with `n` of them (`Knobs::ordinary_users`):
/// not the named demo users, and no directory role holder (the guard refuses those), so a bulk
/// run offboards each of them. Each is in the tenant a simulator seeds with `n` (or more).
pub fn ordinary_users(n: usize) -> Vec<String> {
    // Of a tenant seeded with `n` ordinary users (the default one for up to a thousand): one of
    // them holds a directory role and is left out, so up to a thousand this is one short.
    let seed = seed::seed_with(n);
    let named = &seed.users[..seed::NAMED_USERS];
    let admin = |id: &str| seed.directory_roles.iter().any(|r| r.members.iter().any(|m| m == id));
    seed.users
        .iter()
        .filter(|u| !named.iter().any(|n| n.id == u.id) && !admin(&u.id))
        .map(|u| u.user_principal_name.clone())
        .take(n)
        .collect()
}

/// Write the seeded state to `state_path` (creating parent dirs), replacing whatever was there.
pub fn reset(state_path: &Path) -> std::io::Result<()> {
    store::save(state_path, &seed::seed())
}

/// Read the stats persisted in a state file.
pub fn read_stats(state_path: &Path) -> std::io::Result<SimStats> {
    Ok(store::load(state_path)?.stats)
}
