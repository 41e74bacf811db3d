//! The on-premises AD writes, each as an [`Action`](crate::exec::Action) with its precondition
//! check. Directory in the journal and the report: `ad`. Each re-reads the user by objectGUID
//! (once per phase, [`Cx::ad_user`](crate::exec::Cx::ad_user)) and records the state it replaces.
//!
//! | action | file | LDAP operation |
//! |---|---|---|
//! | `disable_account` | `account.rs` | modify user: replace `userAccountControl` = uac \| 0x2 |
//! | `reset_password` | `password.rs` | modify user: replace `unicodePwd` (encrypted connection only) |
//! | `move_ou` | `ou.rs` | modifyDN user: new RDN `CN=<escaped cn>`, newSuperior = disabled OU |
//! | `remove_group_membership` | `membership.rs` | modify group: delete `member` = user DN |
//! | `clear_employee_id` | `attributes.rs` | modify user: delete `employeeID` (and `employeeNumber`) |
//! | `remove_manager` | `attributes.rs` | modify user: delete `manager` |
//! | `hide_from_gal` | `exchange.rs` | modify user: replace `msExchHideFromAddressLists` = TRUE |
//! | `set_remote_shared_mailbox` | `exchange.rs` | modify user: replace `msExchRemoteRecipientType`, `msExchRecipientTypeDetails` |
//! | `trigger_sync` | `sync.rs` | runs the configured sync command (no LDAP) |

/// The identity methods every user-level AD action shares.
macro_rules! ad_user_action {
    ($name:literal, idempotent = $idem:expr) => {
        fn action(&self) -> &'static str {
            $name
        }
        fn directory(&self) -> &'static str {
            "ad"
        }
        fn target(&self) -> crate::exec::Target {
            self.user.target()
        }
        fn subject_id(&self) -> String {
            self.user.guid.clone()
        }
        fn idempotent(&self) -> bool {
            $idem
        }
    };
}

mod account;
mod attributes;
mod exchange;
mod membership;
mod ou;
mod password;
mod sync;

pub use account::DisableAccount;
pub use attributes::{ClearEmployeeId, RemoveManager};
pub use exchange::{HideFromGal, SetRemoteSharedMailbox};
pub use membership::{AddGroupMembership, RemoveGroupMembership};
pub use ou::MoveToDisabledOu;
pub use password::ResetPassword;
pub use sync::TriggerSync;

use crate::exec::Target;

/// The AD user an action applies to, as resolved by `ad::get_user`.
#[derive(Debug, Clone)]
pub struct AdUserRef {
    pub guid: String,
    /// The DN when resolved (display only: actions use the live DN).
    pub dn: String,
    pub display: String,
}

impl AdUserRef {
    pub fn target(&self) -> Target {
        Target { kind: "user", id: self.guid.clone(), display: self.display.clone() }
    }
}
