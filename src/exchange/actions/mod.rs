//! The Exchange Online writes, each as an [`Action`](crate::exec::Action) with its precondition check.
//!
//! | action | file | call |
//! |---|---|---|
//! | `convert_to_shared_mailbox` | `mailbox.rs` | `Set-Mailbox -Type Shared` |
//! | `wait_for_shared_mailbox` | `mailbox.rs` | `Get-Mailbox` until `RecipientTypeDetails = SharedMailbox` (reads only) |
//! | `hide_from_gal` | `mailbox.rs` | `Set-Mailbox -HiddenFromAddressListsEnabled $true` |
//! | `grant_mailbox_permission` | `permissions.rs` | `Add-MailboxPermission` (FullAccess) / `Add-RecipientPermission` (SendAs) |
//! | `set_forwarding`, `clear_forwarding` | `forwarding.rs` | `Set-Mailbox -ForwardingAddress/-ForwardingSmtpAddress/-DeliverToMailboxAndForward` |
//! | `set_out_of_office` | `out_of_office.rs` | Graph `PATCH /users/{id}/mailboxSettings` automaticRepliesSetting |
//! | `remove_mobile_device` | `devices.rs` | [`Set-CASMailbox` block] [`Clear-MobileDevice`] `Remove-MobileDevice` |
//! | `remove_inbox_rule` | `rules.rs` | `Remove-InboxRule` |
//! | `remove_distribution_group_membership` | `groups.rs` | `Remove-DistributionGroupMember -BypassSecurityGroupManagerCheck` |
//!
//! Reads go through the run's cache (`reads.rs`), and each action names the reads its write makes
//! stale, so one offboarding reads each mailbox object once.
//!
//! Every action reads the mailbox first: a user with no Exchange Online mailbox is `skipped`, and a
//! mailbox already in the desired state is `already_done`. The state replaced is the step's prior.

mod devices;
mod forwarding;
mod groups;
mod mailbox;
mod out_of_office;
mod permissions;
mod rules;

pub use devices::RemoveMobileDevice;
pub use forwarding::{ClearForwarding, SetForwarding};
pub use groups::RemoveDistributionGroupMembership;
pub use mailbox::{ConvertToShared, HideFromGal, WaitForShared};
pub use out_of_office::{OutOfOffice, SetOutOfOffice};
pub use permissions::{GrantMailboxPermission, MailboxAccess};
pub use rules::RemoveInboxRule;

use super::{ExoReads, Mailbox};
use crate::entra::actions::UserRef;
use crate::exchange::ExchangeAccess;
use crate::exec::{ActionError, Cx, Observation};

pub(crate) const DIRECTORY: &str = "exchange";

/// Exchange reads through the run's cache (see `reads.rs`).
pub(crate) fn reads(cx: &Cx) -> Result<ExoReads<'_>, ActionError> {
    Ok(ExoReads { cache: &cx.cache, exo: cx.exchange()? })
}

/// The user's mailbox, or the observation to return when there is none.
pub(crate) async fn mailbox(cx: &Cx, user: &UserRef) -> Result<Result<Mailbox, Observation>, ActionError> {
    match reads(cx)?.mailbox(&user.upn).await? {
        Some(m) => Ok(Ok(m)),
        None => Ok(Err(Observation::Skip { reason: format!("{} has no Exchange Online mailbox", user.upn) })),
    }
}

/// Is the user synced from AD? Exchange says so itself (`IsDirSynced`): no Graph read needed, so
/// an Exchange action costs the same in any order and at any concurrency.
pub(crate) fn synced(mbx: &Mailbox) -> bool {
    mbx.dir_synced
}
