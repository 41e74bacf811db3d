//! `convert_to_shared_mailbox`, `wait_for_shared_mailbox` and `hide_from_gal`.
//!
//! Conversion keeps the mailbox once the licence goes: `Set-Mailbox -Type Shared`, then (in a
//! later, required phase) poll `Get-Mailbox` until `RecipientTypeDetails` is `SharedMailbox`, so no
//! licence is removed while the conversion is still in flight (CIPP #1494, #1565). A shared mailbox
//! over 50 GB still needs a licence, so the step warns from 49 GB (CIPP's threshold).
//!
//! Hybrid (F8-hybrid, F10-hybrid): for a user synced from AD the type change must also be made on
//! premises, or directory sync can flip it back; hiding from address lists is an on-premises
//! attribute that Exchange Online refuses to write unless the Exchange attributes are cloud-managed.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;

use super::{mailbox, reads, synced, DIRECTORY};
use crate::entra::actions::{last_landed, UserRef};
use crate::exchange::model::LARGE_MAILBOX_BYTES;
use crate::exchange::reads as exo_reads;
use crate::exchange::ExchangeAccess;
use crate::exchange::Mailbox;
use crate::exec::cache::ReadCache;
use crate::exec::{Action, ActionError, Cx, Observation};

const F8_HYBRID: &str = "synced from AD: also run `Set-RemoteMailbox -Identity <user> -Type Shared` on premises \
(or set msExchRemoteRecipientType=100 and msExchRecipientTypeDetails=34359738368), then sync; otherwise the next sync \
can turn it back into a user mailbox";

const F10_HYBRID: &str = "synced from AD: hide it on premises (msExchHideFromAddressLists=TRUE, then sync), or make its \
Exchange attributes cloud-managed first (`Set-Mailbox -IsExchangeCloudManaged $true`)";

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / (1024.0 * 1024.0 * 1024.0))
}

pub struct ConvertToShared {
    pub user: UserRef,
}

#[async_trait]
impl Action for ConvertToShared {
    crate::exec::user_scoped_action!("convert_to_shared_mailbox", DIRECTORY, "mailbox", idempotent = true);
    // The conversion takes a while to show: the mailbox is read again (by the wait), never patched.
    fn stale_reads(&self) -> Vec<String> {
        vec![exo_reads::key(exo_reads::Obj::Mailbox, &self.user.upn)]
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        // The size is read alongside the mailbox (the notes need it whenever there is work).
        let reads = reads(cx)?;
        let (m, _) = tokio::join!(mailbox(cx, &self.user), reads.mailbox_size(&self.user.upn));
        let m = match m? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        if m.is_shared() {
            return Ok(Observation::AlreadyDone { detail: "already a shared mailbox".into() });
        }
        let (size, notes) = self.notes(cx, &m).await?;
        let shown = size.map(|b| format!(" ({})", gb(b))).unwrap_or_default();
        let detail = format!("convert the {} to a shared mailbox{shown}{notes}", m.type_details);
        Ok(Observation::Needed { prior: json!({"RecipientTypeDetails": m.type_details, "TotalItemSizeBytes": size}), detail })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        // The warnings matter most in the final report: repeat them there. Worked out before the
        // write from what the observation read (cached), so no read follows the write for them.
        let notes = match mailbox(cx, &self.user).await {
            Ok(Ok(m)) => self.notes(cx, &m).await.map(|(_, n)| n).unwrap_or_default(),
            _ => String::new(),
        };
        cx.exchange()?.set_mailbox_type(&self.user.upn, "Shared").await?;
        Ok(format!("conversion to a shared mailbox requested{notes}"))
    }
}

impl ConvertToShared {
    /// The size, and the warnings for a large or synced mailbox (each prefixed "; ").
    async fn notes(&self, cx: &Cx, m: &Mailbox) -> Result<(Option<u64>, String), ActionError> {
        let size = reads(cx)?.mailbox_size(&self.user.upn).await?;
        let mut notes = String::new();
        if let Some(b) = size.filter(|b| *b >= LARGE_MAILBOX_BYTES) {
            notes.push_str(&format!(
                "; warning: {} is at least 49 GB: a shared mailbox over 50 GB still needs an Exchange Online Plan 2 licence, keep one",
                gb(b)
            ));
        }
        if synced(m) {
            notes.push_str(&format!("; {F8_HYBRID}"));
        }
        Ok((size, notes))
    }
}

/// How often the wait reads the mailbox again. Fixed and short: a conversion usually shows within
/// seconds, and a doubling pause (up to 10 s) saw it up to several seconds late; a poll is one
/// small read, a few of them cost less than the licence step waiting idle.
const SHARED_POLL: Duration = Duration::from_millis(500);

/// Waits for the conversion to finish. Sends no write: its `apply` only reads, with a bounded wait.
pub struct WaitForShared {
    pub user: UserRef,
    pub timeout: Duration,
}

#[async_trait]
impl Action for WaitForShared {
    crate::exec::user_scoped_action!("wait_for_shared_mailbox", DIRECTORY, "mailbox", idempotent = true);
    fn params(&self) -> serde_json::Value {
        json!({"timeout_secs": self.timeout.as_secs()})
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let m = match mailbox(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        if m.is_shared() {
            return Ok(Observation::AlreadyDone { detail: "the mailbox is shared".into() });
        }
        Ok(Observation::Needed {
            prior: json!({"RecipientTypeDetails": m.type_details}),
            detail: format!("wait up to {} s until the {} is a shared mailbox", self.timeout.as_secs(), m.type_details),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        // Waiting only makes sense for a conversion that was sent (by this run or an earlier one).
        // If it failed or was never asked for, say so now instead of polling until the timeout.
        let Some(sent) = last_landed(cx, &self.user.id, "convert_to_shared_mailbox")? else {
            return Err(ActionError::Other(
                "the mailbox is not shared and no conversion to shared was sent (or it failed); licences are kept: convert it, then run again".into(),
            ));
        };
        let exo = cx.exchange()?;
        let start = Instant::now();
        loop {
            // Fresh reads: the cached mailbox is the one that is not shared yet.
            let m = exo.get_mailbox(&self.user.upn).await?;
            let kind = m.as_ref().map(|m| m.type_details.clone());
            match kind.as_deref() {
                Some("SharedMailbox") => {
                    // The licence step reads the mailbox next: it finds this one.
                    exo_reads::remember_mailbox(&cx.cache, &self.user.upn, m);
                    return Ok(format!("the mailbox is shared (after {:.1} s)", start.elapsed().as_secs_f64()));
                }
                None => return Err(ActionError::Other(format!("{} no longer has a mailbox", self.user.upn))),
                Some(other) => {
                    // Under the queue worker: a short wait here, then the run waits in the queue.
                    // The timeout counts from the conversion's intent in the journal, so it holds
                    // across passes.
                    let since = (chrono::Utc::now() - sent.intent_at).to_std().unwrap_or_default();
                    if cx.yield_waits.is_some_and(|d| start.elapsed() + SHARED_POLL > d) && since < self.timeout {
                        return Err(ActionError::Other(format!(
                            "{} the mailbox is still a {other}, {} s after the conversion was sent (waits up to {} s); licences are kept until it is shared",
                            crate::exec::WAIT_LATER,
                            since.as_secs(),
                            self.timeout.as_secs()
                        )));
                    }
                    if start.elapsed() + SHARED_POLL > self.timeout || (cx.yield_waits.is_some() && since >= self.timeout) {
                        return Err(ActionError::Other(format!(
                            "the mailbox is still a {other} after {} s; licences are not removed until it is shared (run again later)",
                            start.elapsed().as_secs()
                        )));
                    }
                }
            }
            tokio::time::sleep(SHARED_POLL).await;
        }
    }
}

pub struct HideFromGal {
    pub user: UserRef,
}

#[async_trait]
impl Action for HideFromGal {
    crate::exec::user_scoped_action!("hide_from_gal", DIRECTORY, "mailbox", idempotent = true);
    fn stale_reads(&self) -> Vec<String> {
        vec![exo_reads::key(exo_reads::Obj::Mailbox, &self.user.upn)]
    }
    fn landed(&self, cache: &ReadCache) {
        exo_reads::patch_mailbox(cache, &self.user.upn, |m| m.hidden = true);
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let m = match mailbox(cx, &self.user).await? {
            Ok(m) => m,
            Err(o) => return Ok(o),
        };
        if m.hidden {
            return Ok(Observation::AlreadyDone { detail: "already hidden from address lists".into() });
        }
        if synced(&m) && !m.cloud_managed {
            // AD's hide_from_gal does it when the run can write to AD; else nothing here can.
            if cx.providers.has_directory("ad") {
                return Ok(Observation::Skip { reason: F10_HYBRID.into() });
            }
            return Ok(Observation::NeedsAction {
                instruction: format!("in on-premises AD (offboard-host has no AD access for this client): {F10_HYBRID}"),
            });
        }
        Ok(Observation::Needed {
            prior: json!({"HiddenFromAddressListsEnabled": false}),
            detail: "hide from the global address list".into(),
        })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.exchange()?.set_hidden_from_gal(&self.user.upn, true).await?;
        Ok("hidden from address lists".into())
    }
}
