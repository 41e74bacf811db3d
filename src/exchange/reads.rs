//! Exchange reads shared by one run: the declarations, every action's observation and the licence
//! step read the mailbox, its devices, rules and permissions through here, so each is asked of
//! Exchange once per run (Get-Mailbox was read ten times by one offboarding before).
//!
//! Each read is its own cache entry, under a key that names the object it describes
//! (`exo:mailbox:<upn>`, `exo:devices:<upn>`, ...). A write forgets exactly the entries it can
//! change (its action's `stale_reads`), or, when it knows the new state (a forwarding it set),
//! brings the entry up to date (`landed`): a write to the mailbox does not drop the user's device
//! list, and a Graph write to the user drops none of these. A write that failed or whose outcome is
//! unclear always forgets its entries, so nothing is ever checked against a state older than our
//! own last write.

use std::sync::Arc;

use crate::action_error::ActionError;
use crate::exchange::{ExchangeOnline, ExoError, InboxRule, Mailbox, MobileDevice, Permission, Recipient};
use crate::exec::cache::{Cached, ReadCache};

/// One Exchange read: the value, under the key of the object it describes.
#[derive(Clone)]
pub struct Read<T> {
    key: String,
    pub value: T,
}

impl<T: Send + Sync + 'static> Cached for Read<T> {
    fn cache_ids(&self) -> Vec<String> {
        vec![self.key.clone()]
    }
}

/// The objects an Exchange read describes, each cached (and made stale) apart.
#[derive(Clone, Copy)]
pub enum Obj {
    Mailbox,
    Size,
    Devices,
    Rules,
    FullAccess,
    SendAs,
    /// A distribution group's members (keyed by the group).
    Members,
    Recipient,
}

/// The cache id of `obj` of `name` (a UPN, a group id, a recipient identity).
pub fn key(obj: Obj, name: &str) -> String {
    let kind = match obj {
        Obj::Mailbox => "mailbox",
        Obj::Size => "size",
        Obj::Devices => "devices",
        Obj::Rules => "rules",
        Obj::FullAccess => "full-access",
        Obj::SendAs => "send-as",
        Obj::Members => "members",
        Obj::Recipient => "recipient",
    };
    format!("exo:{kind}:{}", name.to_ascii_lowercase())
}
const DOMAINS_KEY: &str = "exo:accepted-domains";

/// The cached value under `key`, read with `load` unless this run already read it.
async fn cached<T, F, Fut>(cache: &ReadCache, key: String, load: F) -> Result<T, ActionError>
where
    T: Clone + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, ActionError>>,
{
    let read = cache.get_or_load::<Read<T>, _, _>(&key, || async { Ok(Some(Read { key: key.clone(), value: load().await? })) }).await?;
    read.map(|r| r.value.clone()).ok_or_else(|| ActionError::Other(format!("no value cached under {key}")))
}

fn none_if_gone<T>(r: Result<Vec<T>, ExoError>) -> Result<Vec<T>, ActionError> {
    match r {
        Err(e) if e.is_not_found() => Ok(vec![]),
        other => Ok(other?),
    }
}

/// Reads through the run's cache.
pub struct ExoReads<'a> {
    pub cache: &'a ReadCache,
    pub exo: &'a Arc<dyn ExchangeOnline>,
}

impl ExoReads<'_> {
    /// `Get-Mailbox`; `None` (also kept) when the user has no Exchange Online mailbox.
    pub async fn mailbox(&self, upn: &str) -> Result<Option<Mailbox>, ActionError> {
        cached(self.cache, key(Obj::Mailbox, upn), || async { Ok(self.exo.get_mailbox(upn).await?) }).await
    }
    /// `Get-MailboxStatistics` → bytes.
    pub async fn mailbox_size(&self, upn: &str) -> Result<Option<u64>, ActionError> {
        cached(self.cache, key(Obj::Size, upn), || async { Ok(self.exo.mailbox_size(upn).await?) }).await
    }
    /// `Get-MobileDevice`; a mailbox that is gone has none.
    pub async fn mobile_devices(&self, upn: &str) -> Result<Vec<MobileDevice>, ActionError> {
        cached(self.cache, key(Obj::Devices, upn), || async { none_if_gone(self.exo.mobile_devices(upn).await) }).await
    }
    /// `Get-InboxRule`; a mailbox that is gone has none.
    pub async fn inbox_rules(&self, upn: &str) -> Result<Vec<InboxRule>, ActionError> {
        cached(self.cache, key(Obj::Rules, upn), || async { none_if_gone(self.exo.inbox_rules(upn).await) }).await
    }
    pub async fn mailbox_permissions(&self, upn: &str) -> Result<Vec<Permission>, ActionError> {
        cached(self.cache, key(Obj::FullAccess, upn), || async { Ok(self.exo.mailbox_permissions(upn).await?) }).await
    }
    pub async fn recipient_permissions(&self, upn: &str) -> Result<Vec<Permission>, ActionError> {
        cached(self.cache, key(Obj::SendAs, upn), || async { Ok(self.exo.recipient_permissions(upn).await?) }).await
    }
    /// `Get-Recipient`: no such recipient is an error with Exchange's message (not kept).
    pub async fn recipient(&self, identity: &str) -> Result<Recipient, ActionError> {
        cached(self.cache, key(Obj::Recipient, identity), || async { Ok(self.exo.get_recipient(identity).await?) }).await
    }
    pub async fn accepted_domains(&self) -> Result<Vec<String>, ActionError> {
        cached(self.cache, DOMAINS_KEY.to_string(), || async { Ok(self.exo.accepted_domains().await?) }).await
    }
    pub async fn group_members(&self, group: &str) -> Result<Vec<Recipient>, ActionError> {
        cached(self.cache, key(Obj::Members, group), || async { Ok(self.exo.distribution_group_members(group).await?) }).await
    }
}

impl ExoReads<'_> {
    /// Everything an offboarding reads of `upn`'s mailbox, all at once (one `$batch` where the
    /// client batches): the mailbox, its size, devices, inbox rules, FullAccess and SendAs, the
    /// recipients named (trustees to be) and the members of the distribution groups named. Each
    /// lands in the cache; a read that fails is not kept, so the step that needs it reads again
    /// and reports the error itself.
    pub async fn read_ahead(&self, upn: &str, recipients: &[String], groups: &[String]) {
        let recipients = futures::future::join_all(recipients.iter().map(|r| self.recipient(r)));
        let members = futures::future::join_all(groups.iter().map(|g| self.group_members(g)));
        let _ = tokio::join!(
            self.mailbox(upn),
            self.mailbox_size(upn),
            self.mobile_devices(upn),
            self.inbox_rules(upn),
            self.mailbox_permissions(upn),
            self.recipient_permissions(upn),
            recipients,
            members,
        );
    }
}

/// After a write that set these mailbox properties: the cached mailbox says so too.
pub fn patch_mailbox(cache: &ReadCache, upn: &str, f: impl FnOnce(&mut Mailbox)) {
    cache.update::<Read<Option<Mailbox>>>(&key(Obj::Mailbox, upn), |r| {
        if let Some(m) = r.value.as_mut() {
            f(m)
        }
    });
}

/// Keep a mailbox read outside the cache (the wait's fresh polls) as the latest one.
pub fn remember_mailbox(cache: &ReadCache, upn: &str, mailbox: Option<Mailbox>) {
    cache.put(Read { key: key(Obj::Mailbox, upn), value: mailbox });
}
