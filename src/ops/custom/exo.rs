//! `exo::invoke`: a script's own Exchange Online cmdlet, through the same client as the
//! built-ins (InvokeCommand, mailbox anchor, paging, throttling and Exchange's errors).

use std::sync::Arc;

use rhai::{Array, Dynamic, EvalAltResult, Map, Module, NativeCallContext};

use super::scope::{provider_failed, write_allowed};
use super::value::json;
use crate::exchange::{is_read_cmdlet, ExchangeAccess};
use crate::exec::host::Host;
use crate::ops::register::Register;
use crate::ops::{check, ctx_pos, registration, script_error, Access, OpSpec};

pub static OPS: [OpSpec; 1] = [OpSpec {
    module: "exo",
    name: "invoke",
    params: &["cmdlet: String", "parameters: Map"],
    returns: "Array",
    access: Access::Read,
    capability: "exo.invoke",
    idempotent: false,
    plan: "a `Get-` cmdlet reads live; any other cmdlet is a write, allowed only inside an action's apply function, which a plan does not call",
    doc: &[
        "/// Run an Exchange Online cmdlet with its parameters (names as Exchange spells them) and return",
        "/// its output objects, every page. `Get-` cmdlets read and run anywhere; every other verb",
        "/// writes and runs only inside an action's `apply`.",
        "///",
        "/// ```rhai",
        "/// let cas = exo::invoke(\"Get-CASMailbox\", #{ Identity: user.upn });",
        "/// ```",
    ],
    register: Register::Custom(register_invoke),
}];

/// `Verb-Noun`, letters only: anything else is not a cmdlet (and could be an injection).
pub(super) fn valid_cmdlet(name: &str) -> bool {
    let Some((verb, noun)) = name.split_once('-') else { return false };
    let word = |w: &str| w.starts_with(|c: char| c.is_ascii_uppercase()) && w.chars().all(|c| c.is_ascii_alphanumeric());
    word(verb) && word(noun) && name.len() <= 64
}

fn register_invoke(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, cmdlet: &str, params: Map| -> Result<Array, Box<EvalAltResult>> {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        if !valid_cmdlet(cmdlet) {
            return Err(script_error("invalid_argument", format!("exo::invoke: {cmdlet:?} is not a cmdlet name (Verb-Noun)"), pos));
        }
        if !is_read_cmdlet(cmdlet) {
            write_allowed(&format!("exo::invoke(\"{cmdlet}\")"), pos)?;
        }
        let params =
            json(&Dynamic::from_map(params)).map_err(|e| script_error("invalid_argument", format!("the parameters are {e}"), pos))?;
        let exo = host.providers.exchange().cloned().map_err(|e| script_error("provider", e.to_string(), pos))?;
        let out = host.rt.block_on(exo.invoke_raw(cmdlet, params)).map_err(|e| provider_failed(e, cmdlet.to_string(), pos))?;
        out.into_iter().map(rhai::serde::to_dynamic).collect()
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn cmdlet_names_are_verb_noun() {
        assert!(super::valid_cmdlet("Get-CASMailbox") && super::valid_cmdlet("Remove-CalendarEvents"));
        for bad in ["Get-Mailbox; Remove-Mailbox", "get-mailbox", "Get-", "Mailbox", "Get-Mail box"] {
            assert!(!super::valid_cmdlet(bad), "{bad}");
        }
    }
}
