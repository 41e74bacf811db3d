//! `graph::notify_supervisor` — tell the leaver's manager, by e-mail, what was done.

use std::sync::Arc;

use rhai::{Map, Module, NativeCallContext};

use super::graph::{declare, user_ref};
use super::user::User;
use super::{check, ctx_pos, registration, script_error, Access, OpSpec};
use crate::entra::actions::{NotifySupervisor, DEFAULT_SUBJECT, DEFAULT_TEMPLATE};
use crate::exec::host::Host;

const OPTIONS: [&str; 4] = ["sender", "subject", "template", "access"];

pub static OPS: [OpSpec; 1] = [OpSpec {
    module: "graph",
    name: "notify_supervisor",
    params: &["user: User", "options: Map"],
    returns: "Map",
    access: Access::Write,
    capability: "graph.mail",
    idempotent: false,
    plan: "reads the journal and the manager read by get_user; records the step as planned, skipped or already done; sends nothing",
    doc: &[
        "/// E-mail the user's manager (as read by `graph::get_user`, so it works after `remove_manager`)",
        "/// from the client's sender mailbox (`POST /users/{sender}/sendMail`): what was done in this run,",
        "/// what the manager now has access to, and the PSA ticket. Options: `sender` (required: a",
        "/// mailbox UPN), `subject` and `template` (text with `{user}`, `{display_name}`, `{manager}`,",
        "/// `{tenant}`, `{run_id}`, `{ticket}`, `{done}`, `{access}`; empty: the built-in text), `access`",
        "/// (text for `{access}`). Sent once per user: already done when the journal shows a send. Skipped",
        "/// with the reason when there is no manager or the manager has no mailbox. Put it in the last phase.",
        "///",
        "/// ```rhai",
        "/// phase(\"final\", || {",
        "///     graph::notify_supervisor(user, #{ sender: \"it-desk@contoso.test\" });",
        "/// });",
        "/// ```",
    ],
    register: register_notify,
}];

fn register_notify(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User, options: Map| {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        if let Some(unknown) = options.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
            return Err(script_error("invalid_argument", format!("unknown option '{unknown}' (allowed: {})", OPTIONS.join(", ")), pos));
        }
        let text = |key: &str| -> Result<String, Box<rhai::EvalAltResult>> {
            match options.get(key) {
                None => Ok(String::new()),
                Some(v) if v.is_unit() => Ok(String::new()),
                Some(v) => v
                    .clone()
                    .into_string()
                    .map_err(|t| script_error("invalid_argument", format!("option '{key}' must be a string, not {t}"), pos)),
            }
        };
        let or = |s: String, d: &str| if s.trim().is_empty() { d.to_string() } else { s };
        let action = NotifySupervisor {
            user: user_ref(&user),
            display_name: user.0.display_name.clone(),
            manager: user.0.manager.clone(),
            sender: text("sender")?,
            subject: or(text("subject")?, DEFAULT_SUBJECT),
            template: or(text("template")?, DEFAULT_TEMPLATE),
            access: text("access")?,
        };
        declare(&host, pos, Box::new(action))
    });
}
