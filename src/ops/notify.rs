//! `graph::notify_supervisor` — tell the leaver's manager, by e-mail, what was done.

use rhai::{Map, Position};

use super::args::{check_keys, opt_string};
use super::register::{user_ref, Built, Register};
use super::user::User;
use super::{Access, OpSpec};
use crate::entra::actions::{NotifySupervisor, DEFAULT_SUBJECT, DEFAULT_TEMPLATE};

const OPTIONS: [&str; 4] = ["sender", "subject", "template", "access"];

pub static OPS: [OpSpec; 1] = [OpSpec {
    module: "graph",
    name: "notify_supervisor",
    params: &["user: User", "options: Map"],
    returns: "Map",
    access: Access::Write,
    capability: "graph.mail",
    idempotent: false,
    plan: "reads the journal, the sender's Sent Items and the manager read by get_user; records the step as planned, skipped or already done; sends nothing",
    doc: &[
        "/// E-mail the user's manager (as read by `graph::get_user`, so it works after `remove_manager`)",
        "/// from the client's sender mailbox (`POST /users/{sender}/sendMail`): what was done in this run,",
        "/// what the manager now has access to, and the PSA ticket. Options: `sender` (required: a",
        "/// mailbox UPN), `subject` and `template` (text with `{user}`, `{display_name}`, `{manager}`,",
        "/// `{tenant}`, `{run_id}`, `{ticket}`, `{done}`, `{access}`; empty: the built-in text), `access`",
        "/// (text for `{access}`). The message carries a marker; the step is `done` only when the sender's",
        "/// Sent Items hold it, else `unconfirmed`. Sent once per user: already done when Sent Items (or the",
        "/// journal) show a send; a re-run after a crash still mails the manager `remove_manager` journalled.",
        "/// Skipped with the reason when there is no manager or the manager has no mailbox. Put it in the last phase.",
        "///",
        "/// ```rhai",
        "/// phase(\"final\", || {",
        "///     graph::notify_supervisor(user, #{ sender: \"it-desk@contoso.test\" });",
        "/// });",
        "/// ```",
    ],
    register: Register::UserWriteWithOptions(notify_supervisor),
}];

/// `notify_supervisor(user, options)`: the manager as `get_user` read it, so the order of the
/// script's steps does not matter.
fn notify_supervisor(user: &User, options: &Map, pos: Position) -> Built {
    check_keys(options, &OPTIONS, pos)?;
    // Absent, `()` and "" all mean "not given" here.
    let text = |key: &str| opt_string(options, key, pos).map(Option::unwrap_or_default);
    let or = |s: String, d: &str| if s.trim().is_empty() { d.to_string() } else { s };
    Ok(Box::new(NotifySupervisor {
        user: user_ref(user),
        display_name: user.0.display_name.clone(),
        manager: user.0.manager.clone(),
        sender: text("sender")?,
        subject: or(text("subject")?, DEFAULT_SUBJECT),
        template: or(text("template")?, DEFAULT_TEMPLATE),
        access: text("access")?,
    }))
}
