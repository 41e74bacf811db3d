//! Actions, phases and the executor: how a script's writes become journalled steps.
//!
//! A script function that writes (say `graph::disable_account(user)`) does not send anything by
//! itself: it builds an [`Action`] and hands it to the [`host::Host`]. Actions declared inside one
//! `phase(...)` run together when the phase ends; phases run in the order the script declares them.
//! For each action the executor:
//! 1. **observes** the target live ([`Action::observe`]): already in the desired state means
//!    `already_done` and no request; not applicable means `skipped` with the reason; something
//!    only a person can do means `needs_action` with the instruction;
//! 2. in plan mode stops there (`planned`);
//! 3. in apply mode records the *intent* in the journal, sends the write ([`Action::apply`]), and
//!    records the *outcome*. A write whose result is unclear (timeout, 503 to a non-idempotent
//!    call) is re-observed rather than re-sent.

pub mod cache;
pub mod executor;
pub mod host;
pub mod observer;
pub mod providers;
pub mod report;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

pub use crate::action_error::ActionError;
use crate::journal::{Journal, Mode};
pub use providers::{HasProviders, Providers};

/// The identity methods of an action on one user's object (the account, its mailbox, ...): its
/// journal name, the directory it writes to, the target (kind, the user's id and UPN), the
/// subject, and whether a resend is harmless. Used inside `impl Action for X` where `X` has a
/// `user` with `id` and `upn`.
macro_rules! user_scoped_action {
    ($name:literal, $directory:expr, $kind:literal, idempotent = $idem:expr) => {
        fn action(&self) -> &'static str {
            $name
        }
        fn directory(&self) -> &'static str {
            $directory
        }
        fn target(&self) -> $crate::exec::Target {
            $crate::exec::Target { kind: $kind, id: self.user.id.clone(), display: self.user.upn.clone() }
        }
        fn subject_id(&self) -> String {
            self.user.id.clone()
        }
        fn idempotent(&self) -> bool {
            $idem
        }
    };
}
pub(crate) use user_scoped_action;

/// What an action acts on. `id` is the directory's object id: the journal records what was acted
/// on, not only a name that may later point elsewhere.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
    pub display: String,
}

/// The result of checking an action's precondition against live state.
#[derive(Debug, Clone)]
pub enum Observation {
    /// The write is needed. `prior` is the state it will replace (kept for reversal).
    Needed { prior: Value, detail: String },
    /// Already in the desired state: nothing to send.
    AlreadyDone { detail: String },
    /// Deliberately not done here (another step or directory does it, not applicable, ...).
    Skip { reason: String },
    /// Nothing here can do it and it still has to be done: a person must. `instruction` says
    /// where and what ("in on-premises AD: remove ... from ..."). Kept apart from `Skip` so a run
    /// with work left for a person never reads as complete.
    NeedsAction { instruction: String },
}

/// Where a script's own step keeps, beside its prior state, the calls that undo it: written by
/// `ops::custom` when the step is observed, read by `workflow::restore_script`.
pub const SCRIPT_RESTORE_KEY: &str = "script_restore";

/// One write, with its precondition check. Implementations live next to their provider
/// (`entra::actions`, `exchange::actions`, ...), one file per area, each documenting the call it
/// makes; they reach their provider through the provider's extension trait on [`Cx`].
#[async_trait]
pub trait Action: Send + Sync {
    /// Stable snake_case verb used in the journal and reports: `disable_account`, ...
    fn action(&self) -> &'static str;
    /// Which directory the write goes to: `cloud`, later `exchange`, `ad`, `psa`.
    fn directory(&self) -> &'static str;
    fn target(&self) -> Target;
    /// The user the step belongs to (object id).
    fn subject_id(&self) -> String;
    /// Parameters worth keeping in the journal. Never secrets.
    fn params(&self) -> Value {
        Value::Null
    }
    /// May the write be re-sent after an unclear failure?
    fn idempotent(&self) -> bool;
    /// Does a success answer to [`Action::apply`] prove the change landed? `false` for writes the
    /// target only *accepts* (sendMail's 202 queues the message): the executor then reads back with
    /// [`Action::observe`], and the step is `done` only when that finds the change (`already_done`),
    /// else `unconfirmed` with the reason.
    fn answer_confirms(&self) -> bool {
        true
    }
    /// The run's cached reads this write can make stale (cache ids, see `cache.rs`): forgotten
    /// after any attempt. By default all that was read about the subject; an action that changes
    /// one object (a mailbox, a device list) names that one, so other reads stay shared.
    fn stale_reads(&self) -> Vec<String> {
        vec![self.subject_id()]
    }
    /// After the write landed (a success answer that confirms it): bring the cached reads up to
    /// date. By default forget [`Action::stale_reads`]; an action that knows the new state from its
    /// own request (`accountEnabled` is now false) may patch the entry instead of having the next
    /// reader fetch it again.
    fn landed(&self, cache: &cache::ReadCache) {
        for id in self.stale_reads() {
            cache.invalidate_user(&id);
        }
    }
    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError>;
    /// Send the write. Returns a short detail for the report.
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError>;
}

/// What actions can reach while they observe and apply, with a per-phase cache of reads so that
/// ten actions on one user cost one set of reads.
pub struct Cx {
    pub tenant: String,
    pub run_id: String,
    pub mode: Mode,
    pub journal: Arc<dyn Journal>,
    pub providers: Providers,
    /// Reads shared with the run's other phases (see `cache.rs`).
    pub cache: Arc<cache::ReadCache>,
    /// See [`host::ExecOptions::yield_waits`].
    pub yield_waits: Option<std::time::Duration>,
}

/// How a step that yielded its wait ([`host::ExecOptions::yield_waits`]) begins its error: the
/// queue worker puts such a run back to wait instead of calling it failed.
pub const WAIT_LATER: &str = "not yet, look again later:";

impl Cx {
    pub fn new(
        tenant: String,
        run_id: String,
        mode: Mode,
        journal: Arc<dyn Journal>,
        providers: Providers,
        cache: Arc<cache::ReadCache>,
    ) -> Cx {
        Cx { tenant, run_id, mode, journal, providers, cache, yield_waits: None }
    }

    /// The same context with an empty read cache: to re-observe after an unclear write.
    pub fn fresh(&self) -> Cx {
        let mut cx =
            Cx::new(self.tenant.clone(), self.run_id.clone(), self.mode, self.journal.clone(), self.providers.clone(), Default::default());
        cx.yield_waits = self.yield_waits;
        cx
    }

    pub fn journal_err(e: crate::journal::JournalError) -> ActionError {
        ActionError::Other(format!("journal: {e}"))
    }
}

impl HasProviders for Cx {
    fn providers(&self) -> &Providers {
        &self.providers
    }
}
