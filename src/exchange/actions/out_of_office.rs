//! `set_out_of_office`: automatic replies through Graph, `PATCH /users/{id}/mailboxSettings`
//! `{"automaticRepliesSetting": {...}}` (Graph is the documented API for this; no cmdlet needed).
//!
//! Separate internal and external messages; with a start and an end the replies are `scheduled`,
//! otherwise `alwaysEnabled`. Already done when the current setting says exactly that.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::DIRECTORY;
use crate::entra::actions::UserRef;
use crate::entra::CloudAccess;
use crate::exec::{Action, ActionError, Cx, Observation};

/// The out-of-office wanted. Times are UTC, `YYYY-MM-DDTHH:MM:SS`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfOffice {
    pub internal: String,
    pub external: String,
    /// `all`, `contactsOnly` or `none`.
    pub external_audience: String,
    pub start: Option<String>,
    pub end: Option<String>,
}

impl OutOfOffice {
    pub fn to_graph(&self) -> Value {
        let mut v = json!({
            "status": if self.start.is_some() { "scheduled" } else { "alwaysEnabled" },
            "externalAudience": self.external_audience,
            "internalReplyMessage": self.internal,
            "externalReplyMessage": self.external,
        });
        if let (Some(s), Some(e)) = (&self.start, &self.end) {
            v["scheduledStartDateTime"] = json!({"dateTime": s, "timeZone": "UTC"});
            v["scheduledEndDateTime"] = json!({"dateTime": e, "timeZone": "UTC"});
        }
        v
    }

    /// Does Graph's current `automaticRepliesSetting` already say this?
    pub fn matches(&self, cur: &Value) -> bool {
        let want = self.to_graph();
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").trim().to_string();
        let time = |v: &Value, k: &str| {
            let t = v.pointer(&format!("/{k}/dateTime")).and_then(Value::as_str).unwrap_or("");
            t.split('.').next().unwrap_or("").trim_end_matches('Z').to_string()
        };
        let same_text = ["status", "internalReplyMessage", "externalReplyMessage"].iter().all(|k| text(cur, k) == text(&want, k))
            && text(cur, "externalAudience").eq_ignore_ascii_case(&text(&want, "externalAudience"));
        let same_time =
            self.start.is_none() || ["scheduledStartDateTime", "scheduledEndDateTime"].iter().all(|k| time(cur, k) == time(&want, k));
        same_text && same_time
    }
}

pub struct SetOutOfOffice {
    pub user: UserRef,
    pub ooo: OutOfOffice,
}

#[async_trait]
impl Action for SetOutOfOffice {
    crate::exec::user_scoped_action!("set_out_of_office", DIRECTORY, "mailbox", idempotent = true);
    fn params(&self) -> Value {
        // The texts are parameters too: an approval covers the words the sender will read.
        json!({
            "start": self.ooo.start, "end": self.ooo.end, "external_audience": self.ooo.external_audience,
            "internal": self.ooo.internal, "external": self.ooo.external,
        })
    }

    async fn observe(&self, cx: &Cx) -> Result<Observation, ActionError> {
        let cur = match cx.cloud()?.get_auto_replies(&self.user.id).await {
            Ok(v) => v,
            Err(e) if e.is_not_found() => {
                return Ok(Observation::Skip { reason: format!("{} has no mailbox that Graph can reach", self.user.upn) })
            }
            Err(e) => return Err(e.into()),
        };
        if self.ooo.matches(&cur) {
            return Ok(Observation::AlreadyDone { detail: "automatic replies already set to this message".into() });
        }
        let when = match (&self.ooo.start, &self.ooo.end) {
            (Some(s), Some(e)) => format!("from {s} to {e} UTC"),
            _ => "from now on".into(),
        };
        // The plan shows the words themselves, so a technician reads what senders will get.
        let external = if self.ooo.external_audience.eq_ignore_ascii_case("none") {
            "no external reply".to_string()
        } else {
            format!("external ({}): \"{}\"", self.ooo.external_audience, one_line(&self.ooo.external))
        };
        let detail = format!("turn on automatic replies {when}; internal: \"{}\"; {external}", one_line(&self.ooo.internal));
        Ok(Observation::Needed { prior: cur, detail })
    }

    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        cx.cloud()?.set_auto_replies(&self.user.id, &self.ooo.to_graph()).await?;
        Ok("automatic replies set".into())
    }
}

/// A reply text on one line (HTML line breaks and newlines as spaces), for the plan.
fn one_line(text: &str) -> String {
    let plain = text.replace("<br>", " ").replace("<br/>", " ").replace("<br />", " ");
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_replies_compare_ignoring_fractions() {
        let o = OutOfOffice {
            internal: "Gone".into(),
            external: "Gone (ext)".into(),
            external_audience: "all".into(),
            start: Some("2026-12-01T09:00:00".into()),
            end: Some("2026-12-31T17:00:00".into()),
        };
        let mut cur = o.to_graph();
        cur["scheduledStartDateTime"]["dateTime"] = json!("2026-12-01T09:00:00.0000000");
        cur["externalAudience"] = json!("All");
        assert!(o.matches(&cur));
        cur["internalReplyMessage"] = json!("Other");
        assert!(!o.matches(&cur));
        assert_eq!(o.to_graph()["status"], "scheduled");
    }

    #[test]
    fn reply_text_is_shown_on_one_line() {
        assert_eq!(one_line("I have left.<br>Please write to\n  ann@x.example"), "I have left. Please write to ann@x.example");
    }
}
