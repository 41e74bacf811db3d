//! The one error enum, and what each error means as an exit code.
//!
//! Each variant carries what its message needs, so the message alone tells a technician what went
//! wrong and where (modelled on just's `Error`). The exit codes are a contract, documented in the
//! README and tested in `tests/integration/exit_codes.rs`:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: every step done, already done, skipped, unconfirmed or left to a person (`needs_action`, listed in `todos`); or a plan was made |
//! | 1 | the run finished but at least one step failed |
//! | 2 | bad command line, input or configuration: nothing was sent |
//! | 3 | script error (syntax, runtime, limits, forbidden import) |
//! | 4 | the user to offboard does not exist in the tenant |
//! | 5 | the tenant could not be reached or refused us (auth, network, API) |
//! | 6 | apply was not confirmed: nothing was written |
//! | 7 | another run holds the lock for this user |
//! | 8 | the journal could not be read or written |
//! | 9 | the user is a protected account (built-in, bind account, privileged, or listed by the client): nothing was planned |
//! | 10 | the cloud user and the AD account do not match (hybrid identity check): nothing was planned |

use crate::graph::GraphError;
use crate::journal::JournalError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error("invalid user '{input}': {reason}")]
    InvalidUser { input: String, reason: String },

    #[error("configuration {path}: {message}")]
    Config { path: String, message: String },

    #[error("script '{name}' not found (looked for {looked})")]
    ScriptNotFound { name: String, looked: String },

    #[error("{}{message}", if location.is_empty() { String::new() } else { format!("{location}: ") })]
    Script { location: String, message: String },

    #[error("user '{user}' was not found in tenant '{tenant}'")]
    UserNotFound { user: String, tenant: String },

    #[error("{0}")]
    Graph(#[from] GraphError),

    #[error("tenant '{tenant}': {message}")]
    Provider { tenant: String, message: String },

    #[error("not confirmed: {reason}; nothing was written")]
    NotConfirmed { reason: String },

    #[error("run {run_id} (process {pid}) is already offboarding {user} in tenant '{tenant}'; wait for it to finish")]
    Locked { tenant: String, user: String, run_id: String, pid: u32 },

    #[error("{0}")]
    Journal(#[from] JournalError),

    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },

    /// Refused before anything is planned: offboarding this account would lock the MSP out or
    /// take down the domain (see `run::guard`). `reasons` name each rule that matched.
    #[error("refused: {user} in tenant '{tenant}' is a protected account: {}{hint}", reasons.join("; "))]
    Protected { user: String, tenant: String, reasons: Vec<String>, hint: String },

    /// A synced cloud user whose AD account cannot be matched by its immutable id, or whose
    /// sAMAccountName or domain disagree: offboarding would change someone else's AD account.
    #[error("refused: the cloud user {cloud} and the AD account {ad} are not the same identity: {reason}")]
    IdentityMismatch { cloud: String, ad: String, reason: String },

    /// The run completed, but some steps failed; the report has the details.
    #[error("{failed} step(s) failed")]
    StepsFailed { failed: usize },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::StepsFailed { .. } => 1,
            Error::Usage(_) | Error::InvalidUser { .. } | Error::Config { .. } | Error::ScriptNotFound { .. } => 2,
            Error::Script { .. } => 3,
            Error::UserNotFound { .. } => 4,
            Error::Graph(_) | Error::Provider { .. } => 5,
            Error::NotConfirmed { .. } => 6,
            Error::Locked { .. } => 7,
            Error::Journal(_) | Error::Io { .. } => 8,
            Error::Protected { .. } => 9,
            Error::IdentityMismatch { .. } => 10,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    /// A short machine-readable code, used when the error is thrown into a script
    /// (`catch (e) { if e.code == "user_not_found" ... }`) and in `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::InvalidUser { .. } => "invalid_user",
            Error::Config { .. } => "config",
            Error::ScriptNotFound { .. } => "script_not_found",
            Error::Script { .. } => "script",
            Error::UserNotFound { .. } => "user_not_found",
            Error::Graph(_) | Error::Provider { .. } => "provider",
            Error::NotConfirmed { .. } => "not_confirmed",
            Error::Locked { .. } => "locked",
            Error::Journal(_) => "journal",
            Error::Io { .. } => "io",
            Error::StepsFailed { .. } => "steps_failed",
            Error::Protected { .. } => "protected",
            Error::IdentityMismatch { .. } => "identity_mismatch",
        }
    }
}
