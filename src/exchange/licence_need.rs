//! The Exchange side of [`MailboxLicenceNeed`]: the mailbox's size, archive and holds, read with
//! `Get-Mailbox` and `Get-MailboxStatistics`, say whether it must keep an Exchange Online licence.

use std::sync::Arc;

use async_trait::async_trait;

use super::model::LARGE_MAILBOX_BYTES;
use super::{ExchangeOnline, ExoReads};
use crate::action_error::ActionError;
use crate::entra::MailboxLicenceNeed;
use crate::exec::cache::ReadCache;

pub struct ExchangeLicenceNeed(pub Arc<dyn ExchangeOnline>);

#[async_trait]
impl MailboxLicenceNeed for ExchangeLicenceNeed {
    async fn licence_needed(&self, cache: &ReadCache, upn: &str) -> Result<Option<String>, ActionError> {
        // Through the run's cache (the conversion steps read both), in flight together.
        let reads = ExoReads { cache, exo: &self.0 };
        let (m, size) = tokio::join!(reads.mailbox(upn), reads.mailbox_size(upn));
        let Some(m) = m? else { return Ok(None) };
        let mut why = Vec::new();
        if let Some(bytes) = size?.filter(|b| *b >= LARGE_MAILBOX_BYTES) {
            why.push(format!("holds {:.1} GB", bytes as f64 / (1024.0 * 1024.0 * 1024.0)));
        }
        if m.archive {
            why.push("has an online archive".to_string());
        }
        if !m.holds.is_empty() {
            why.push(format!("is on hold ({})", m.holds.join(", ")));
        }
        Ok((!why.is_empty()).then(|| why.join(", ")))
    }
}
