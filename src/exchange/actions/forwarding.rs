//! `set_forwarding` and `clear_forwarding`: `Set-Mailbox -ForwardingAddress <internal recipient>
//! -ForwardingSmtpAddress <smtp:external> -DeliverToMailboxAndForward <keep a copy>`.
//!
//! A target in one of the tenant's accepted domains must be an existing recipient (resolved with
//! `Get-Recipient`, so a typo fails with Exchange's message) and goes to `ForwardingAddress`; any
//! other address is external and goes to `ForwardingSmtpAddress`. Setting one clears the other, so
//! the forwarding the user set up themselves is replaced. `clear_forwarding` removes both.

use async_trait::async_trait;
use serde_json::json;

use super::{mailbox, DIRECTORY};
use crate::entra::actions::UserRef;
use crate::exchange::reads;
use crate::exchange::ExchangeAccess;
use crate::exchange::{Forwarding, Mailbox};
use crate::exec::cache::ReadCache;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct SetForwarding {
    pub user: UserRef,
    pub to: String,
    pub keep_copy: bool,
}

fn same(a: Option<&str>, b: Option<&str>) -> bool {
    let norm = |s: Option<&str>| s.map(|s| s.trim_start_matches("smtp:").trim_start_matches("SMTP:").to_ascii_lowercase());
    norm(a) == norm(b)
}

impl SetForwarding {
    /// What `Set-Mailbox` should end up with, resolving the target.
    async fn wanted(&self, cx: &Cx) -> Result<(Forwarding, String), ActionError> {
        let reads = super::reads(cx)?;
        let domain = self.to.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
        let internal = !self.to.contains('@') || reads.accepted_domains().await?.contains(&domain);
        if internal {
            let r = reads.recipient(&self.to).await?;
            let shown = format!("{} (internal)", r.primary_smtp);
            Ok((Forwarding { address: Some(r.identity), smtp: None, keep_copy: self.keep_copy }, shown))
        } else {
            let shown = format!("{} (external)", self.to);
            Ok((Forwarding { address: None, smtp: Some(format!("smtp:{}", self.to)), keep_copy: self.keep_copy }, shown))
        }
    }
}

fn matches(m: &Mailbox, f: &Forwarding) -> bool {
    same(m.forwarding_address.as_deref(), f.address.as_deref())
        && same(m.forwarding_smtp.as_deref(), f.smtp.as_deref())
        && m.deliver_and_forward == f.keep_copy
}

#[async_trait]
impl Action for SetForwarding {
    fn action(&self) -> &'static str {
        "set_forwarding"
    }
    fn directory(&self) -> &'static str {
        DIRECTORY
    }
    fn target(&self) -> Target {
        Target { kind: "mailbox", id: self.user.id.clone(), display: format!("{} → {}", self.user.upn, self.to) }
    }
    fn subject_id(&self) -> String {
        self.user.id.clone()
    }
    fn params(&self) -> serde_json::Value {
        json!({"to": self.to, "keep_copy": self.keep_copy})
    }
    fn idempotent(&self) -> bool {
        true
    }
    fn stale_reads(&self) -> Vec<String> {
        vec![reads::key(reads::Obj::Mailbox, &self.user.upn)]
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        // Independent reads, in flight together.
        let (m, wanted) = tokio::join!(mailbox(cx, &self.user), self.wanted(cx));
        let m = match m? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        let (f, shown) = wanted?;
        if matches(&m, &f) {
            return Ok(Observation::AlreadyDone { detail: format!("already forwards to {shown}") });
        }
        let copy = if self.keep_copy { "keeping a copy" } else { "without keeping a copy" };
        let mut detail = format!("forward mail to {shown}, {copy}");
        if m.has_forwarding() {
            let old = m.forwarding_address.clone().or(m.forwarding_smtp.clone()).unwrap_or_default();
            detail.push_str(&format!("; replaces the forwarding to {old}"));
        }
        Ok(Observation::Needed { prior: m.forwarding_json(), detail })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let (f, shown) = self.wanted(cx).await?;
        cx.exchange()?.set_forwarding(&self.user.upn, &f).await?;
        Ok(format!("forwarding to {shown}"))
    }
}

pub struct ClearForwarding {
    pub user: UserRef,
}

#[async_trait]
impl Action for ClearForwarding {
    crate::exec::user_scoped_action!("clear_forwarding", DIRECTORY, "mailbox", idempotent = true);
    fn stale_reads(&self) -> Vec<String> {
        vec![reads::key(reads::Obj::Mailbox, &self.user.upn)]
    }
    fn landed(&self, cache: &ReadCache) {
        reads::patch_mailbox(cache, &self.user.upn, |m| {
            (m.forwarding_address, m.forwarding_smtp, m.deliver_and_forward) = (None, None, false);
        });
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let m = match mailbox(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        if !m.has_forwarding() && !m.deliver_and_forward {
            return Ok(Observation::AlreadyDone { detail: "no forwarding is set".into() });
        }
        let to = m.forwarding_smtp.clone().or(m.forwarding_address.clone()).unwrap_or_default();
        Ok(Observation::Needed { prior: m.forwarding_json(), detail: format!("remove the forwarding to {to}") })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        let none = Forwarding { address: None, smtp: None, keep_copy: false };
        cx.exchange()?.set_forwarding(&self.user.upn, &none).await?;
        Ok("forwarding removed".into())
    }
}
