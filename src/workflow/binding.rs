//! What ties an approval to the tenant, the policy and the people it was given under.
//!
//! An approval is recorded in a local journal, so anyone who can run this binary on the same
//! machine can also point it at another configuration. Two things make that harder to abuse:
//! - the **policy digest**: a hash of the Graph tenant id, the approver list and the expiry, kept
//!   with the request; `approve` and `apply` refuse under a configuration whose digest differs
//!   (a `--config other.toml` naming `mallory` as approver is another policy);
//! - the **OS identity** (user and host) of the requester and of the approver, kept next to the
//!   free-text `--by`: the same OS account cannot both ask and approve (four eyes).
//!
//! This is the most a local tool can enforce: an OS account is not a sign-in, and whoever owns
//! the journal file can edit it. Real sign-in for approvers comes with the console.

use sha2::{Digest, Sha256};

/// The digest of an approval policy. `tenant_id` is the Graph tenant id (or a stand-in for a
/// tenant without Graph settings, such as the demo one); approvers are compared as the policy
/// compares them (trimmed, case-insensitive) and in any order.
pub fn policy_digest(tenant_id: &str, approvers: &[String], expiry_hours: u32) -> String {
    let mut list: Vec<String> = approvers.iter().map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()).collect();
    list.sort();
    list.dedup();
    let mut h = Sha256::new();
    // Length-prefixed fields: no two different policies can encode to the same bytes.
    for field in std::iter::once(tenant_id.trim().to_lowercase()).chain(list).chain(std::iter::once(expiry_hours.to_string())) {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The OS account and host this process runs as, as `user(uid)@host`.
///
/// The uid is the owner of `/proc/self` (the effective uid, without `libc`); the name is looked
/// up in `/etc/passwd`, else `$USER`. `OFFBOARD_OS_USER` replaces the user **in debug builds
/// only**, so the tests can play a second person; a release build ignores it.
pub fn os_identity() -> String {
    if cfg!(debug_assertions) {
        if let Some(u) = std::env::var("OFFBOARD_OS_USER").ok().filter(|u| !u.trim().is_empty()) {
            return format!("{}@{}", u.trim(), host());
        }
    }
    let uid = uid();
    let name = uid.and_then(passwd_name).or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
    match uid {
        Some(uid) => format!("{name}({uid})@{}", host()),
        None => format!("{name}@{}", host()),
    }
}

#[cfg(unix)]
fn uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn uid() -> Option<u32> {
    None
}

fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id = f.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

fn host() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_digest_ignores_order_and_case_but_not_people_or_expiry() {
        let a = policy_digest("t1", &["Alice@x".into(), "bob".into()], 24);
        assert_eq!(a, policy_digest("T1", &["BOB".into(), " alice@x ".into()], 24));
        assert_ne!(a, policy_digest("t1", &["alice@x".into(), "bob".into(), "mallory".into()], 24));
        assert_ne!(a, policy_digest("t1", &["alice@x".into(), "bob".into()], 48));
        assert_ne!(a, policy_digest("t2", &["alice@x".into(), "bob".into()], 24));
    }

    #[test]
    fn the_os_identity_names_a_host() {
        assert!(os_identity().contains('@'));
    }
}
