//! The Exchange side of [`MailboxLicenceNeed`]: the mailbox's size, archive and holds, read with
//! `Get-Mailbox` and `Get-MailboxStatistics`, say whether it must keep an Exchange Online licence.

use std::sync::Arc;

use async_trait::async_trait;

use super::model::LARGE_MAILBOX_BYTES;
use super::ExchangeOnline;
use crate::action_error::ActionError;
use crate::entra::MailboxLicenceNeed;

pub struct ExchangeLicenceNeed(pub Arc<dyn ExchangeOnline>);

#[async_trait]
impl MailboxLicenceNeed for ExchangeLicenceNeed {
    async fn licence_needed(&self, upn: &str) -> Result<Option<String>, ActionError> {
        let Some(m) = self.0.get_mailbox(upn).await? else { return Ok(None) };
        let mut why = Vec::new();
        if let Some(bytes) = self.0.mailbox_size(upn).await?.filter(|b| *b >= LARGE_MAILBOX_BYTES) {
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
