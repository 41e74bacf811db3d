//! A step a script declares: `action(name, #{target, observe, apply, ...})`, with the guarantees
//! of the built-in ones, because it is one more [`Action`] for the executor: observed (also in
//! plan mode), journalled before and after its write, re-observed (never blindly re-sent) after
//! an unclear failure, and compared step by step by approvals through its `params`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use rhai::{Dynamic, FnPtr, Map};
use serde_json::Value;

use super::scope::{run_callback, Callback, ScriptRuntime};
use super::value::json;
use crate::exec::{Action, ActionError, Cx, Observation, Target};

pub struct ScriptAction {
    pub name: &'static str,
    pub directory: &'static str,
    pub target: Target,
    pub subject: String,
    pub params: Value,
    pub idempotent: bool,
    /// Confirm by observing again after apply (for writes the target only accepts).
    pub read_back: bool,
    pub observe: FnPtr,
    pub apply: FnPtr,
    /// Returns the calls that undo the write, from the prior state (see `restore.rs`).
    pub restore: Option<FnPtr>,
    pub runtime: Arc<ScriptRuntime>,
    /// The functions the closures were defined among (see `scope::functions_here`).
    pub lib: Arc<rhai::AST>,
    /// The prior state the last observe returned: what apply is given.
    prior: Mutex<Value>,
}

impl ScriptAction {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        directory: &str,
        target: (String, String, String),
        subject: String,
        params: Value,
        flags: (bool, bool),
        functions: (FnPtr, FnPtr),
        runtime: (Arc<ScriptRuntime>, rhai::AST),
    ) -> ScriptAction {
        let (kind, id, display) = target;
        ScriptAction {
            name: intern(name),
            directory: intern(directory),
            target: Target { kind: intern(&kind), id, display },
            subject,
            params,
            idempotent: flags.0,
            read_back: flags.1,
            observe: functions.0,
            apply: functions.1,
            restore: None,
            runtime: runtime.0,
            lib: Arc::new(runtime.1),
            prior: Mutex::new(Value::Null),
        }
    }

    /// Run one of the script's functions on a blocking thread (see `scope.rs`).
    async fn call(&self, callback: Callback, f: &FnPtr, args: Vec<Dynamic>) -> Result<Dynamic, ActionError> {
        let (runtime, lib, f) = (self.runtime.clone(), self.lib.clone(), f.clone());
        let what = if callback == Callback::Observe { "observe" } else { "apply" };
        let joined = tokio::task::spawn_blocking(move || {
            let (out, error) = run_callback(&runtime, &lib, callback, &f, args);
            // A script error is data here: it crosses back to the executor as text.
            (out.map_err(|e| e.to_string()), error)
        })
        .await;
        let (out, error) = joined.map_err(|e| ActionError::Other(format!("the {what} function of {} stopped: {e}", self.name)))?;
        out.map_err(|msg| error.unwrap_or_else(|| ActionError::Other(format!("{} {what}: {msg}", self.name))))
    }
}

#[async_trait]
impl Action for ScriptAction {
    fn action(&self) -> &'static str {
        self.name
    }
    fn directory(&self) -> &'static str {
        self.directory
    }
    fn target(&self) -> Target {
        self.target.clone()
    }
    fn subject_id(&self) -> String {
        self.subject.clone()
    }
    fn params(&self) -> Value {
        self.params.clone()
    }
    fn idempotent(&self) -> bool {
        self.idempotent
    }
    fn answer_confirms(&self) -> bool {
        !self.read_back
    }

    async fn observe(&self, _cx: &Cx) -> Result<Observation, ActionError> {
        let v = self.call(Callback::Observe, &self.observe, vec![]).await?;
        let obs = observation(self.name, v).map_err(ActionError::Other)?;
        let Observation::Needed { prior, detail } = obs else { return Ok(obs) };
        *self.prior.lock().unwrap_or_else(|p| p.into_inner()) = prior.clone();
        let Some(restore) = &self.restore else { return Ok(Observation::Needed { prior, detail }) };
        // The undo, worked out now from what was found, goes into the journal with it.
        let arg = rhai::serde::to_dynamic(prior.clone()).map_err(|e| ActionError::Other(e.to_string()))?;
        let calls = self.call(Callback::Observe, restore, vec![arg]).await?;
        let calls = super::restore::calls(self.name, calls).map_err(ActionError::Other)?;
        Ok(Observation::Needed { prior: serde_json::json!({"prior": prior, super::restore::KEY: calls}), detail })
    }

    async fn apply(&self, _cx: &Cx) -> Result<String, ActionError> {
        let prior = self.prior.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let prior = rhai::serde::to_dynamic(prior).map_err(|e| ActionError::Other(e.to_string()))?;
        let v = self.call(Callback::Apply { idempotent: self.idempotent }, &self.apply, vec![prior]).await?;
        Ok(match v {
            v if v.is_unit() => "applied".to_string(),
            v if v.is_string() => v.into_string().unwrap_or_default(),
            v => v.to_string(),
        })
    }
}

/// What an observe function returned, as the executor's [`Observation`]:
/// `#{status: "needed", detail, prior}`, `#{status: "already_done", detail}`,
/// `#{status: "skip", reason}` or `#{status: "needs_action", instruction}`.
pub fn observation(name: &str, v: Dynamic) -> Result<Observation, String> {
    let shape = "return #{status: \"needed\", detail, prior}, #{status: \"already_done\", detail}, #{status: \"skip\", reason} or #{status: \"needs_action\", instruction}";
    let Some(m) = v.read_lock::<Map>().map(|m| m.clone()) else {
        return Err(format!("the observe function of {name} returned {}; {shape}", v.type_name()));
    };
    let text = |key: &str| -> Result<String, String> {
        match m.get(key) {
            Some(v) if v.is_string() => Ok(v.clone().into_string().unwrap_or_default()),
            Some(v) => Err(format!("the observe function of {name}: '{key}' must be a string, not {}", v.type_name())),
            None => Err(format!("the observe function of {name} returned no '{key}'; {shape}")),
        }
    };
    let status = text("status")?;
    let allowed: &[&str] = match status.as_str() {
        "needed" => &["status", "detail", "prior"],
        "already_done" => &["status", "detail"],
        "skip" => &["status", "reason"],
        "needs_action" => &["status", "instruction"],
        other => return Err(format!("the observe function of {name} returned status '{other}'; {shape}")),
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "the observe function of {name}: '{k}' does not belong with status '{status}' (allowed: {})",
            allowed.join(", ")
        ));
    }
    Ok(match status.as_str() {
        "needed" => {
            let prior = m.get("prior").map(json).transpose()?.unwrap_or(Value::Null);
            Observation::Needed { prior, detail: text("detail")? }
        }
        "already_done" => Observation::AlreadyDone { detail: text("detail")? },
        "skip" => Observation::Skip { reason: text("reason")? },
        _ => Observation::NeedsAction { instruction: text("instruction")? },
    })
}

/// Step names, directories and target kinds live as long as the process (the executor's
/// records take `&'static str`); interned so a bulk run does not leak one copy per user.
fn intern(s: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = seen.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    seen.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(src: &str) -> Result<Observation, String> {
        let v: Dynamic = rhai::Engine::new().eval(src).unwrap();
        observation("t", v)
    }

    #[test]
    fn observe_results_are_read_strictly() {
        assert!(
            matches!(obs(r#"#{status: "needed", detail: "d", prior: #{a: 1}}"#), Ok(Observation::Needed { prior, .. }) if prior["a"] == 1)
        );
        assert!(matches!(obs(r#"#{status: "already_done", detail: "d"}"#), Ok(Observation::AlreadyDone { .. })));
        assert!(matches!(obs(r#"#{status: "skip", reason: "r"}"#), Ok(Observation::Skip { .. })));
        assert!(matches!(obs(r#"#{status: "needs_action", instruction: "i"}"#), Ok(Observation::NeedsAction { .. })));
        assert!(obs(r#"#{status: "done", detail: "d"}"#).unwrap_err().contains("status 'done'"));
        assert!(obs(r#"#{status: "skip", detail: "d"}"#).unwrap_err().contains("'detail' does not belong"));
        assert!(obs(r#"#{status: "needed"}"#).unwrap_err().contains("no 'detail'"));
        assert!(obs("42").unwrap_err().contains("returned i64"));
    }

    #[test]
    fn names_are_interned() {
        assert!(std::ptr::eq(intern("revoke_grants"), intern(&String::from("revoke_grants"))));
    }
}
