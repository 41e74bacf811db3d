//! `psa::` — the client's PSA (ConnectWise Manage, Autotask or HaloPSA; `[tenants.x.psa]`).
//!
//! Ticketing needs no script function: every apply run of a tenant with a PSA keeps a ticket (see
//! `psa::ticketing`). The functions here are the PSA-side offboarding steps.

use std::sync::Arc;

use rhai::{Module, NativeCallContext};

use super::graph::{declare, user_ref};
use super::user::User;
use super::{check, ctx_pos, registration, Access, OpSpec};
use crate::exec::host::Host;
use crate::psa::actions::DisableContact;

pub static OPS: [OpSpec; 1] = [OpSpec {
    module: "psa",
    name: "disable_contact",
    params: &["user: User"],
    returns: "Map",
    access: Access::Write,
    capability: "psa.contact",
    idempotent: true,
    plan: "looks the contact up, records the step as planned or already done; sends nothing",
    doc: &[
        "/// Deactivate the user's contact (ConnectWise, Autotask) or end user (Halo) in the client's",
        "/// PSA company, found by e-mail (the user's mail, else the UPN). Already done when it is",
        "/// inactive; an error naming the candidates when several active contacts match; skipped",
        "/// when the tenant has no PSA or no contact has that e-mail.",
        "///",
        "/// ```rhai",
        "/// psa::disable_contact(user);",
        "/// ```",
    ],
    register: register_disable_contact,
}];

fn register_disable_contact(m: &mut Module, host: &Arc<Host>, spec: &'static OpSpec) {
    let host = host.clone();
    registration(spec).set_into_module(m, move |ctx: NativeCallContext, user: User| {
        let pos = ctx_pos(&ctx);
        check(&host, spec, pos)?;
        let email = user.0.mail.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| user.0.upn.clone());
        declare(&host, pos, Box::new(DisableContact::new(user_ref(&user), email)))
    });
}
