//! Reversal of a script's own steps (`action(..., #{restore: ...})`): the calls its restore
//! function worked out from the prior state when the step was observed, kept in the journal as
//! `script_restore`, replayed in order through the same clients as the generic calls. Nothing
//! here reads the script: a restore works after the script has changed or gone.

use async_trait::async_trait;
use serde_json::Value;

use crate::ad::{AdAccess, RawMod};
use crate::entra::CloudAccess;
use crate::exchange::ExchangeAccess;
use crate::exec::{Action, ActionError, Cx, Observation, Target};
use crate::journal::StepRecord;

use crate::exec::SCRIPT_RESTORE_KEY as KEY;

/// The reverse of a script step that recorded its undo; `None` for any other step.
pub fn reverse(s: &StepRecord) -> Option<Box<dyn Action>> {
    let calls = s.prior.get(KEY)?.as_array()?.clone();
    let directory = match s.directory.as_str() {
        "exchange" => "exchange",
        "ad" => "ad",
        "psa" => "psa",
        _ => "cloud",
    };
    Some(Box::new(ScriptRestore {
        step: s.action.clone(),
        directory,
        target: (s.target_id.clone(), s.target_display.clone()),
        subject: s.subject_id.clone(),
        calls,
    }))
}

pub struct ScriptRestore {
    step: String,
    directory: &'static str,
    target: (String, String),
    subject: String,
    calls: Vec<Value>,
}

fn describe(c: &Value) -> String {
    let t = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    match t("kind").as_str() {
        "graph" => format!("{} {}", t("method"), t("path")),
        "exo" => t("cmdlet"),
        _ => format!("modify {}", t("dn")),
    }
}

#[async_trait]
impl Action for ScriptRestore {
    fn action(&self) -> &'static str {
        "restore_script_step"
    }
    fn directory(&self) -> &'static str {
        self.directory
    }
    fn target(&self) -> Target {
        Target { kind: "object", id: self.target.0.clone(), display: self.target.1.clone() }
    }
    fn subject_id(&self) -> String {
        self.subject.clone()
    }
    fn params(&self) -> Value {
        serde_json::json!({"step": self.step, "calls": self.calls})
    }
    fn idempotent(&self) -> bool {
        false
    }
    /// The script gave no way to read the state back: the calls are what the step said undoes it.
    async fn observe(&self, _cx: &Cx) -> Result<Observation, ActionError> {
        let what: Vec<String> = self.calls.iter().map(describe).collect();
        Ok(Observation::Needed { prior: Value::Null, detail: format!("undo {}: {}", self.step, what.join(", ")) })
    }
    async fn apply(&self, cx: &Cx) -> Result<String, ActionError> {
        for c in &self.calls {
            let t = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            match t("kind").as_str() {
                "graph" => {
                    let body = c.get("body").filter(|b| !b.is_null()).cloned();
                    cx.cloud()?.raw_send(&t("method"), &t("path"), body, false).await?;
                }
                "exo" => {
                    cx.exchange()?.invoke_raw(&t("cmdlet"), c.get("params").cloned().unwrap_or_default()).await?;
                }
                "ad" => {
                    let mods: Vec<RawMod> = serde_json::from_value(c.get("mods").cloned().unwrap_or_default())
                        .map_err(|e| ActionError::Other(format!("the journal's undo of {} is not readable: {e}", self.step)))?;
                    cx.ad()?.raw_modify(&t("dn"), &mods).await?;
                }
                other => return Err(ActionError::Other(format!("unknown restore call kind '{other}'"))),
            }
        }
        Ok(format!("{} undone ({} call(s))", self.step, self.calls.len()))
    }
}
