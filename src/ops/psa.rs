//! `psa::` — the client's PSA (ConnectWise Manage, Autotask or HaloPSA; `[tenants.x.psa]`).
//!
//! Ticketing needs no script function: every apply run of a tenant with a PSA keeps a ticket (see
//! `psa::ticketing`). The functions here are the PSA-side offboarding steps.

use rhai::{Map, Position};

use super::register::{user_ref, Built, Register};
use super::user::User;
use super::{Access, OpSpec};
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
    register: Register::UserWriteWithOptions(disable_contact),
}];

/// `psa::disable_contact(user)`: the contact is found by the user's mail, else the UPN.
fn disable_contact(user: &User, _options: &Map, _pos: Position) -> Built {
    let email = user.0.mail.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| user.0.upn.clone());
    Ok(Box::new(DisableContact::new(user_ref(user), email)))
}
