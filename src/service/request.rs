//! Turning "offboard USER of CLIENT with these settings" into a plan, and then into one of: an
//! apply now, a run scheduled for later, or a request for approval. The CLI (`run`, `run --at`,
//! `run` on a tenant with `[approval]`) and the console's form both go through here, so the work
//! item they record, its PSA note and the approvers' mail are the same whoever asked.
//!
//! Nothing here prints: what a person should be told beside the result comes back as
//! [`Notice`]s, which the CLI writes to stderr and the console shows on the page.
//!
//! Who asked is recorded on the work item (`requested_by`): the OS account for the CLI
//! ([`os_requester`]), `console:<email or subject>` for the console ([`console_requester`]), so
//! the four-eyes check of the approval compares like with like.

use chrono::{DateTime, Duration, Utc};
use rhai::Dynamic;

use super::Session;
use crate::config::{ApprovalSettings, TenantConfig};
use crate::entra::user_query::{UserList, UserQuery};
use crate::entra::CloudAccess;
use crate::error::{Error, Result};
use crate::exec::report::Report;
use crate::journal::{JournalConfig, Mode, OutboxKind, StepStatus, WorkItem, WorkKind};
use crate::run::outcome_error;
use crate::settings::schema::{Setting, SETTINGS};
use crate::settings::{org_from_toml, parse_set};
use crate::workflow::{clock, planned_steps};

/// Something to tell the person beside the result: progress, or a warning that did not stop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Info(String),
    Warning(String),
}

/// The requester the CLI records: this OS account and host.
pub fn os_requester() -> String {
    crate::workflow::binding::os_identity()
}

/// The requester the console records for a signed-in person: their e-mail, else the issuer's
/// subject (stable, never reassigned), prefixed so it can never equal an OS account.
pub fn console_requester(email: Option<&str>, subject: &str) -> String {
    format!("console:{}", email.filter(|e| !e.trim().is_empty()).unwrap_or(subject).trim())
}

/// The plan for `user`: the name checked first (a malformed one is refused before any request).
/// The report's own error (user not found, a protected account, a script error) is the caller's
/// to show: see [`crate::run::outcome_error`].
pub fn plan(session: &Session, user: &str) -> Result<Report> {
    session.validate_user(user)?;
    session.run(user, Mode::Plan)
}

/// A plan that may go on to a request: no error in it, and something to change. `Ok(false)`:
/// nothing to change (no request is needed).
pub fn plan_requestable(plan: &Report) -> Result<bool> {
    if let Some(e) = outcome_error(plan) {
        return Err(e);
    }
    Ok(plan.count(StepStatus::Planned) > 0)
}

/// A due time for a scheduled run: in the future, or refused (`shown` is how the person gave it).
pub fn check_due(due: DateTime<Utc>, shown: &str) -> Result<()> {
    let now = clock::now();
    if due <= now {
        return Err(Error::Usage(format!("{shown} is in the past (now {}): nothing was scheduled", now.to_rfc3339())));
    }
    Ok(())
}

/// A write that skips the approval (apply now, a scheduled run) on a client that requires one:
/// refused, whoever asks. The callers refuse earlier with their own words; this is the rule.
pub fn refuse_unapproved_write(name: &str, tenant: &TenantConfig) -> Result<()> {
    if tenant.approval.is_some() {
        return Err(Error::NotConfirmed { reason: format!("tenant '{name}' requires approval: send the request for approval instead") });
    }
    Ok(())
}

/// Apply now, for a client without an approval requirement (see [`refuse_unapproved_write`]).
pub fn apply_now(session: &Session, user: &str) -> Result<Report> {
    refuse_unapproved_write(&session.tenant_name, &session.tenant)?;
    session.validate_user(user)?;
    session.run(user, Mode::Apply)
}

/// The pending work item of `kind` for the plan, recorded as asked by `requested_by`.
fn pending(
    session: &Session,
    kind: WorkKind,
    plan: &Report,
    options: serde_json::Value,
    at: DateTime<Utc>,
    requested_by: &str,
) -> Result<WorkItem> {
    Ok(WorkItem {
        requested_by: Some(requested_by.to_string()),
        ..session.pending_item(kind, &plan.run_id, &plan.user, options, planned_steps(plan, &*session.journal)?, at)
    })
}

/// Record the plan as a run to apply at `due` (checked with [`check_due`] first); on PostgreSQL
/// also the job that wakes a worker then.
pub fn schedule(
    session: &Session,
    plan: &Report,
    options: serde_json::Value,
    due: DateTime<Utc>,
    requested_by: &str,
) -> Result<Vec<Notice>> {
    refuse_unapproved_write(&session.tenant_name, &session.tenant)?;
    session.journal.work_add(&pending(session, WorkKind::Schedule, plan, options, due, requested_by)?)?;
    let mut notices = Vec::new();
    // Not fatal: the item is in the journal, and every worker adds the jobs of due items it
    // finds without one.
    if let Some(url) = session.journal_config().url {
        if let Err(e) = session.rt.block_on(super::jobs::enqueue(
            &url,
            &session.tenant_name,
            super::lanes::Lane::of_user(&plan.user, session.tenant.lane_count()),
            &plan.run_id,
            due,
        )) {
            notices.push(Notice::Warning(format!(
                "scheduled in the journal, but its job could not be queued ({e}); a worker queues it when it starts"
            )));
        }
    }
    Ok(notices)
}

/// What a person asked to happen with an offboarding (the console's form, the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Apply now (a client without `[approval]` only).
    ApplyNow,
    /// Plan now, apply at this time (checked with [`check_due`]).
    Schedule(DateTime<Utc>),
    /// Plan now, apply once approved (a client with `[approval]`).
    Approval,
}

/// What [`carry_out`] did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The apply run (which may have failed steps: its report says).
    Applied(Box<Report>),
    /// The plan run recorded to apply later.
    Scheduled { run_id: String, notices: Vec<Notice> },
    /// The plan run recorded to await approval.
    SentForApproval { run_id: String, sent: ApprovalSent },
}

impl Outcome {
    /// The run to show: the apply run, or the plan run the request or schedule is kept under.
    pub fn run_id(&self) -> &str {
        match self {
            Outcome::Applied(r) => &r.run_id,
            Outcome::Scheduled { run_id, .. } | Outcome::SentForApproval { run_id, .. } => run_id,
        }
    }
}

/// Carry out `decision` for `user` on the session's tenant, as asked by `requested_by`: apply
/// now, or plan and record the schedule or the approval request. A plan with an error, or with
/// nothing to change, records nothing. `options` and `ticket` are the session's spec's.
pub fn carry_out(
    session: &Session,
    user: &str,
    decision: Decision,
    options: serde_json::Value,
    ticket: Option<&str>,
    requested_by: &str,
) -> Result<Outcome> {
    if let Decision::Schedule(due) = decision {
        // Before the plan: a refused schedule records nothing.
        refuse_unapproved_write(&session.tenant_name, &session.tenant)?;
        check_due(due, &due.to_rfc3339())?;
    }
    if decision == Decision::ApplyNow {
        return apply_now(session, user).map(|r| Outcome::Applied(Box::new(r)));
    }
    let plan = plan(session, user)?;
    if !plan_requestable(&plan)? {
        return Err(Error::Usage(format!("nothing to change: {user} is already offboarded as far as this script goes")));
    }
    let run_id = plan.run_id.clone();
    match decision {
        Decision::Schedule(due) => {
            schedule(session, &plan, options, due, requested_by).map(|notices| Outcome::Scheduled { run_id, notices })
        }
        _ => send_for_approval(session, &plan, options, ticket, requested_by).map(|sent| Outcome::SentForApproval { run_id, sent }),
    }
}

/// A request sent for approval.
#[derive(Debug, Clone)]
pub struct ApprovalSent {
    pub expires: DateTime<Utc>,
    pub approvers: Vec<String>,
    /// The changes the plan holds (what the approvers say yes to).
    pub changes: usize,
    pub notices: Vec<Notice>,
}

/// Record the plan as awaiting approval (bound to the tenant's approval policy), note it on the
/// ticket (`ticket`, else a new one for this offboarding) and mail the approvers when the policy
/// says so. The session's tenant must have `[approval]`.
pub fn send_for_approval(
    session: &Session,
    plan: &Report,
    options: serde_json::Value,
    ticket: Option<&str>,
    requested_by: &str,
) -> Result<ApprovalSent> {
    let settings = session.tenant.approval.clone().ok_or_else(|| {
        Error::Usage(format!("tenant '{}' has no [approval] section: there is no one to send the request to", session.tenant_name))
    })?;
    let (user, run_id) = (plan.user.as_str(), plan.run_id.as_str());
    let expires = clock::now() + Duration::hours(i64::from(settings.expiry_hours));
    let item = pending(session, WorkKind::Approval, plan, options, expires, requested_by)?;
    session
        .journal
        .work_add(&WorkItem { policy: Some(super::approval::policy_of(&session.tenant_name, &session.tenant, &settings)), ..item })?;
    let changes = plan.count(StepStatus::Planned);
    let mut notices = Vec::new();
    // With a PSA: the request goes on the ticket (the one given, else a new ticket for this
    // offboarding that the apply run continues).
    let mut psa_items = Vec::new();
    match ticket {
        Some(t) => session.journal.set_run_ticket(run_id, t)?,
        None => psa_items.push((
            OutboxKind::CreateTicket,
            "ticket".to_string(),
            serde_json::to_value(crate::psa::NewTicket {
                summary: format!("Offboarding: {user}"),
                details: format!(
                    "{}\noffboard-host will offboard {user} in tenant {} once approved (run {run_id}).",
                    crate::psa::ticketing::marker(run_id, "ticket"),
                    session.tenant_name,
                ),
                contact_id: None,
            })
            .unwrap_or_default(),
        )),
    }
    let request = format!(
        "Approval requested (run {run_id}): {changes} change(s) to {user} need a yes from one of: {}. Expires {}.",
        settings.approvers.join(", "),
        expires.to_rfc3339()
    );
    psa_items.push((OutboxKind::Note, "approval request".to_string(), serde_json::json!({"text": request})));
    if let Some((ticket, warning)) = session.psa_items(run_id, psa_items)? {
        if let Some(t) = ticket {
            notices.push(Notice::Info(format!("psa: approval request noted on ticket {t}")));
        }
        notices.extend(warning.map(Notice::Warning));
    }
    if settings.email {
        mail_approvers(session, plan, &settings, expires, &mut notices);
    }
    Ok(ApprovalSent { expires, approvers: settings.approvers, changes, notices })
}

/// The approval request to each approver that is an e-mail address.
fn mail_approvers(session: &Session, plan: &Report, settings: &ApprovalSettings, expires: DateTime<Utc>, notices: &mut Vec<Notice>) {
    let subject = format!("Approval needed: offboard {} in {}", plan.user, session.tenant_name);
    let lines: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Planned)
        .map(|s| format!("- {} {}", s.action.replace('_', " "), s.target))
        .collect();
    // With a console, the mail links to the request's page there (sign-in first).
    let console = super::approval::link(session.console_url.as_deref(), &plan.run_id)
        .map(|l| format!("In the console (sign in first): {l}\n"))
        .unwrap_or_default();
    let body = format!(
        "offboard-host run {id} waits for your approval.\n\nUser: {user}\nTenant: {tenant}\nScript: {script} (sha256 {hash})\n\nPlanned changes:\n{steps}\n\nThe request expires at {exp}.\n{console}To approve: offboard-host approve {id} --by <your name>\nTo reject:  offboard-host reject {id} --by <your name> --reason <why>\n",
        id = plan.run_id,
        user = plan.user,
        tenant = session.tenant_name,
        script = session.script.name,
        hash = session.script.hash(),
        steps = lines.join("\n"),
        exp = expires.to_rfc3339(),
    );
    for to in settings.approvers.iter().filter(|x| x.contains('@')) {
        match session.send_mail(to.trim(), &subject, &body) {
            Ok(()) => notices.push(Notice::Info(format!("approval request e-mailed to {to}"))),
            Err(e) => notices.push(Notice::Warning(format!("the approval request could not be e-mailed to {to}: {e}"))),
        }
    }
}

/// Every setting of the schema with the client's value for it: its `[defaults]`, else the
/// schema's default. What a form shows pre-filled.
pub fn client_settings(tenant: &TenantConfig) -> Result<Vec<(&'static Setting, Dynamic)>> {
    let org = org_from_toml(&tenant.defaults)?;
    Ok(SETTINGS.iter().map(|s| (s, org.get(s.name).cloned().unwrap_or_else(|| s.default.to_dynamic()))).collect())
}

/// The `--set` values of settings given as `(name, text)` pairs (a form's fields; a later pair
/// for the same name replaces an earlier one), each checked exactly as `--set` checks it (an
/// unknown name is refused with the nearest known one, a value of the wrong type too). Only those
/// that differ from the client's value are kept, so the run records what the person changed.
pub fn changed_sets(tenant: &TenantConfig, given: &[(String, String)]) -> Result<Vec<String>> {
    let mut last: Vec<(String, Dynamic)> = Vec::new();
    for (name, text) in given {
        let (key, value) = parse_set(&format!("{name}={text}"))?;
        last.retain(|(k, _)| *k != key);
        last.push((key, value));
    }
    let current = client_settings(tenant)?;
    Ok(last
        .into_iter()
        .filter(|(k, v)| current.iter().find(|(s, _)| s.name == k).is_none_or(|(_, c)| c.to_string() != v.to_string()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect())
}

/// At most this many users are listed by a search.
pub const SEARCH_MAX: usize = 20;

/// The directory's users whose name or UPN starts with `prefix` (the look-up behind
/// `graph::list_users`), at most [`SEARCH_MAX`]. A tenant without a cloud directory is refused.
pub fn search_users(session: &Session, prefix: &str) -> Result<UserList> {
    let providers = session.plan_providers()?;
    let provider = |message: String| Error::Provider { tenant: session.tenant_name.clone(), message };
    let cloud = providers.cloud().map_err(|e| provider(e.to_string()))?;
    let q = UserQuery { name: Some(prefix.trim().to_string()), max: SEARCH_MAX, ..UserQuery::default() };
    session.rt.block_on(cloud.list_users(&q)).map_err(|e| provider(format!("could not search users: {e}")))
}

impl Session {
    /// Where this session's journal is (its URL on PostgreSQL).
    pub fn journal_config(&self) -> JournalConfig {
        JournalConfig::resolve(self.journal_setting.as_deref(), self.home.join("journal.db"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, DEMO_TENANT};

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The demo client, with `forward_to_manager = true` in its `[defaults]`.
    fn tenant() -> TenantConfig {
        let mut t = Config::demo().tenants[DEMO_TENANT].clone();
        t.defaults.insert("forward_to_manager".into(), toml::Value::Boolean(true));
        t
    }

    #[test]
    fn only_the_settings_changed_from_the_clients_values_are_kept_the_last_value_winning() {
        let sets = changed_sets(
            &tenant(),
            &given(&[
                ("remove_groups", "false"),
                ("remove_groups", "true"),      // a ticked box after its hidden false: unchanged
                ("forward_to_manager", "true"), // the client's own default: unchanged
                ("wipe_mobile_devices", "true"),
                ("shared_wait_secs", "60"),
                ("forward_to", " ann@contoso.test "),
            ]),
        )
        .unwrap();
        assert_eq!(sets, ["wipe_mobile_devices=true", "shared_wait_secs=60", "forward_to=ann@contoso.test"]);
        let sets = changed_sets(&tenant(), &given(&[("forward_to_manager", "false")])).unwrap();
        assert_eq!(sets, ["forward_to_manager=false"], "a client default turned off is a change");
    }

    #[test]
    fn a_setting_is_refused_as_set_refuses_it() {
        let e = changed_sets(&tenant(), &given(&[("wipe_mobile_device", "true")])).unwrap_err().to_string();
        assert!(e.contains("unknown setting 'wipe_mobile_device'; did you mean wipe_mobile_devices?"), "{e}");
        let e = changed_sets(&tenant(), &given(&[("shared_wait_secs", "soon")])).unwrap_err().to_string();
        assert!(e.contains("shared_wait_secs is an integer"), "{e}");
        let e = changed_sets(&tenant(), &given(&[("hide_from_gal", "on")])).unwrap_err().to_string();
        assert!(e.contains("hide_from_gal is a bool"), "{e}");
    }

    #[test]
    fn the_form_is_pre_filled_with_the_clients_defaults_over_the_schemas() {
        let values = client_settings(&tenant()).unwrap();
        assert_eq!(values.len(), SETTINGS.len());
        let value = |name: &str| values.iter().find(|(s, _)| s.name == name).map(|(_, v)| v.to_string()).unwrap();
        assert_eq!(
            (value("forward_to_manager"), value("wipe_mobile_devices"), value("shared_wait_secs")),
            ("true".into(), "false".into(), "300".into())
        );
    }

    #[test]
    fn a_console_requester_is_never_an_os_account() {
        assert_eq!(console_requester(Some("alex@msp.test"), "sub-1"), "console:alex@msp.test");
        assert_eq!(console_requester(None, "sub-1"), "console:sub-1");
        assert_eq!(console_requester(Some(" "), "sub-1"), "console:sub-1");
        assert!(!os_requester().starts_with("console:"));
    }

    #[test]
    fn a_due_time_in_the_past_is_refused() {
        assert!(check_due(clock::now() + Duration::minutes(5), "then").is_ok());
        let e = check_due(clock::now() - Duration::minutes(5), "--at yesterday").unwrap_err().to_string();
        assert!(e.starts_with("--at yesterday is in the past"), "{e}");
    }
}
