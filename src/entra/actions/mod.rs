//! The Entra ID writes, each as an [`Action`](crate::exec::Action) with its precondition check.
//!
//! | action | file | Graph call |
//! |---|---|---|
//! | `revoke_sessions` | `sessions.rs` | `POST /users/{id}/revokeSignInSessions` |
//! | `reset_password` | `password.rs` | `PATCH /users/{id}` passwordProfile |
//! | `disable_account` | `account.rs` | `PATCH /users/{id}` accountEnabled=false |
//! | `remove_group_membership` | `membership.rs` | `DELETE /groups/{gid}/members/{uid}/$ref` |
//! | `add_group_membership` | `membership.rs` | `POST /groups/{gid}/members/$ref` |
//! | `remove_license` | `licenses.rs` | `POST /users/{id}/assignLicense` removeLicenses |
//! | `remove_manager` | `attributes.rs` | `DELETE /users/{id}/manager/$ref` |
//! | `clear_employee_id` | `attributes.rs` | `PATCH /users/{id}` employeeId=null |
//! | `notify_supervisor` | `notify.rs` | `POST /users/{sender}/sendMail` to the manager |
//! | `remove_directory_role` | `roles.rs` | `DELETE /directoryRoles/{role}/members/{uid}/$ref` (declared by the run, not a script) |
//! | `retire_managed_device` | `devices.rs` | `POST /deviceManagement/managedDevices/{id}/retire` (or `/wipe`) |

/// The identity methods every user-level cloud action shares (see `exec::user_scoped_action`).
macro_rules! user_action {
    ($name:literal, idempotent = $idem:expr) => {
        crate::exec::user_scoped_action!($name, "cloud", "user", idempotent = $idem);
    };
}

/// The identity methods of a cloud action on one thing the user holds (a group membership, a
/// licence): the target is that thing, named by the action's fields `id` and `display`, while the
/// subject stays the user, so the journal files the step with the user's other steps.
macro_rules! user_item_action {
    ($name:literal, $kind:literal, id = $($id:ident).+, display = $($display:ident).+, idempotent = $idem:expr) => {
        fn action(&self) -> &'static str {
            $name
        }
        fn directory(&self) -> &'static str {
            "cloud"
        }
        fn target(&self) -> crate::exec::Target {
            crate::exec::Target { kind: $kind, id: self.$($id).+.clone(), display: self.$($display).+.clone() }
        }
        fn subject_id(&self) -> String {
            self.user.id.clone()
        }
        fn idempotent(&self) -> bool {
            $idem
        }
    };
}

mod account;
mod attributes;
mod devices;
mod licenses;
mod membership;
mod notify;
mod password;
mod roles;
mod sessions;

pub use account::DisableAccount;
pub use attributes::{ClearEmployeeId, RemoveManager};
pub use devices::{IntuneUnavailable, RetireManagedDevice};
pub use licenses::RemoveLicense;
pub use membership::{AddGroupMembership, RemoveGroupMembership};
pub use notify::{NotifySupervisor, DEFAULT_SUBJECT, DEFAULT_TEMPLATE};
pub(crate) use password::random_password;
pub use password::ResetPassword;
pub use roles::{AddDirectoryRole, RemoveDirectoryRole};
pub use sessions::RevokeSessions;

use chrono::{DateTime, Duration, Utc};

use crate::exec::{ActionError, Cx, Target};
use crate::journal::{StepStatus, WriteRecord};

/// The user an action applies to, as resolved by `graph::get_user`.
#[derive(Debug, Clone)]
pub struct UserRef {
    pub id: String,
    pub upn: String,
}

impl UserRef {
    pub fn target(&self) -> Target {
        Target { kind: "user", id: self.id.clone(), display: self.upn.clone() }
    }
}

/// Graph reports times to the second and its clock is not ours: a change stamped up to this much
/// before our intent is still taken as ours.
const CLOCK_TOLERANCE_SECS: i64 = 5;

/// The last write of `action` on `id` that landed or may have landed (intent recorded, not failed).
pub(crate) fn last_landed(cx: &Cx, id: &str, action: &str) -> Result<Option<WriteRecord>, ActionError> {
    let w = cx.journal.last_write(&cx.tenant, id, action).map_err(Cx::journal_err)?;
    Ok(w.filter(|w| matches!(w.status, StepStatus::Done | StepStatus::Running)))
}

/// Did a Graph timestamp (e.g. `lastPasswordChangeDateTime`) move at or after our write's intent?
pub(crate) fn stamped_after(stamp: Option<&str>, intent_at: DateTime<Utc>) -> bool {
    stamp
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .is_some_and(|t| t.with_timezone(&Utc) >= intent_at - Duration::seconds(CLOCK_TOLERANCE_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_compare_with_tolerance() {
        let intent = DateTime::parse_from_rfc3339("2026-11-28T10:00:03.500Z").unwrap().with_timezone(&Utc);
        assert!(stamped_after(Some("2026-11-28T10:00:03Z"), intent));
        assert!(stamped_after(Some("2026-11-28T09:59:59Z"), intent));
        assert!(!stamped_after(Some("2026-11-28T09:59:50Z"), intent));
        assert!(!stamped_after(None, intent));
        assert!(!stamped_after(Some("garbage"), intent));
    }
}
