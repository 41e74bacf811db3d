//! The offboarding form, second half: "Show plan" (`POST /offboard/plan`), then apply now,
//! schedule, or send for approval (`POST /offboard/submit`), through [`crate::service::request`]
//! as the CLI's `run` does. A client with `[approval]` offers only "Send for approval"; one
//! without offers "Apply now" and "Schedule".
//!
//! Each POST checks the CSRF token first, then the person's `Role::Request` for the client, then
//! the settings (exactly as `--set`: an unknown one is refused); a refusal writes nothing. What
//! was done is journalled with the signed-in identity (`record_audit`: client, user, action,
//! run id, the settings changed). The submit plans again: what is recorded is the plan of the
//! moment it was sent, not the one shown earlier.
//!
//! Field ids: plan page `send-approval` (button, name `action` value `approval`), `apply-now`
//! (`action=apply`), `at` (UTC date and time), `schedule` (`action=schedule`); the settings
//! changed travel as hidden `set.<setting>` fields.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::html;

use super::access::{check_csrf, signed_in, signed_in_at, SignedIn};
use super::form::{check_client, refused, with_session};
use super::pages::{page, read};
use super::App;
use crate::error::Error;
use crate::exec::report::Report;
use crate::journal::{AuditEvent, StepStatus};
use crate::run::outcome_error;
use crate::service::request::{self, changed_sets, console_requester, Decision};
use crate::service::{check_user, RunSpec};

/// A posted form: the fields it may have, the settings apart.
#[derive(Debug, Default)]
struct Posted {
    csrf: Option<String>,
    client: String,
    user: String,
    action: String,
    at: String,
    ticket: Option<String>,
    sets: Vec<(String, String)>,
}

/// The fields of a posted form; any field the form never has is refused.
fn posted(fields: Vec<(String, String)>) -> Result<Posted, String> {
    let mut p = Posted::default();
    for (k, v) in fields {
        match k.as_str() {
            "csrf" => p.csrf = Some(v),
            "client" => p.client = v,
            "user" => p.user = v.trim().to_string(),
            "action" => p.action = v,
            "at" => p.at = v,
            "ticket" => p.ticket = Some(v.trim().to_string()).filter(|t| !t.is_empty()),
            _ => match k.strip_prefix("set.") {
                Some(name) => p.sets.push((name.to_string(), v)),
                None => return Err(format!("the form has no field '{k}'")),
            },
        }
    }
    Ok(p)
}

/// What a refusal of the service answers with: a name that does not parse or a bad setting is
/// the request's fault (400), a user that is not there 404, anything else (a protected account,
/// a provider down) 422 with the reason.
fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Usage(_) | Error::InvalidUser { .. } => StatusCode::BAD_REQUEST,
        Error::UserNotFound { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A POST of the form that passed [`checked`]: who, what, the `--set` values.
struct Checked {
    s: SignedIn,
    p: Posted,
    sets: Vec<String>,
    /// The client requires approval.
    gated: bool,
}

/// A refusal of the service as the page says it. The protected-account message names the CLI's
/// `--allow-privileged`, which the console never sets: say so rather than leave it a riddle.
fn explain(e: &Error) -> String {
    match e {
        Error::Protected { .. } => format!(
            "{e}. The console never offboards a protected or privileged account: that is done from the command line, by someone allowed to."
        ),
        _ => e.to_string(),
    }
}

/// The checks every POST of the form makes, in this order, before anything is read or written:
/// sign-in, the CSRF token, the person's role for the client, the user's name, the settings.
fn checked(app: &App, headers: &HeaderMap, fields: Vec<(String, String)>) -> Result<Checked, Box<Response>> {
    let s = signed_in(app, headers)?;
    let refuse = |status, title: &str, text: &str| Box::new(refused(status, &s, title, text));
    let p = posted(fields).map_err(|e| refuse(StatusCode::BAD_REQUEST, "Not this form", &e))?;
    check_csrf(&s, p.csrf.as_deref())?;
    check_client(app, &s, &p.client)?;
    let (_, tenant) = app.config.tenant(Some(&p.client)).map_err(|e| refuse(StatusCode::NOT_FOUND, "No such client", &e.to_string()))?;
    check_user(tenant, &p.user).map_err(|e| refuse(StatusCode::BAD_REQUEST, "Not a user name", &e.to_string()))?;
    let sets = changed_sets(tenant, &p.sets).map_err(|e| refuse(StatusCode::BAD_REQUEST, "Setting refused", &e.to_string()))?;
    let gated = tenant.approval.is_some();
    Ok(Checked { s, p, sets, gated })
}

/// Journal what the person did; `Err` with the page to show when the journal refuses.
async fn audit(app: &Arc<App>, s: &SignedIn, action: &str, detail: serde_json::Value) -> Result<(), String> {
    let event = AuditEvent {
        at: Utc::now(),
        action: action.into(),
        issuer: s.who.issuer.clone(),
        subject: s.who.subject.clone(),
        email: s.who.email.clone(),
        detail,
    };
    read(app, move |j| j.record_audit(&event)).await
}

/// The plan as a person reads it before deciding: an error first, then the to-dos and warnings,
/// then one line per step.
fn plan_view(plan: &Report) -> maud::Markup {
    let warnings: Vec<&str> = plan.messages.iter().filter_map(|m| m.strip_prefix("warning: ")).collect();
    html! {
        @if let Some(e) = &plan.error { p role="alert" { "The plan stopped: " (e.message) } }
        @if !plan.todos.is_empty() {
            section aria-labelledby="todos" {
                h2 id="todos" { "To do by hand" }
                ul { @for t in &plan.todos { li { strong { (t.action) } " " (t.target) ": " (t.instruction) } } }
            }
        }
        @if !warnings.is_empty() {
            section aria-labelledby="warnings" {
                h2 id="warnings" { "Warnings" }
                ul { @for w in &warnings { li { (w) } } }
            }
        }
        section aria-labelledby="steps" {
            h2 id="steps" { "Steps (" (plan.count(StepStatus::Planned)) " change(s))" }
            ol {
                @for st in &plan.steps {
                    li { (st.status.as_str()) ": " (st.action) " " (st.target) @if !st.detail.is_empty() { " — " (st.detail) } }
                }
            }
        }
    }
}

/// `POST /offboard/plan`: plan with the options, show it, offer what the client allows.
pub async fn plan(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let Checked { s, p, sets, gated } = match checked(&app, &headers, fields) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let user = p.user.clone();
    let spec = RunSpec::for_tenant(&p.client, "default", sets.clone(), p.ticket.clone());
    let report = with_session(&app, spec, move |session| request::plan(session, &user)).await;
    let detail = serde_json::json!({"client": p.client, "user": p.user, "set": sets,
        "run_id": report.as_ref().ok().map(|r| r.run_id.clone()), "error": report.as_ref().err().map(|e| e.to_string())});
    if let Err(e) = audit(&app, &s, "offboard_plan", detail).await {
        return refused(StatusCode::INTERNAL_SERVER_ERROR, &s, "Not recorded", &format!("The journal could not record the plan: {e}"));
    }
    let plan = match report {
        Ok(r) => r,
        Err(e) => return refused(status_of(&e), &s, "Plan refused", &explain(&e)),
    };
    // A user the plan cannot take (not found, a protected or privileged account): refused here.
    if let Some(e) = outcome_error(&plan) {
        return refused(status_of(&e), &s, "Plan refused", &explain(&e));
    }
    let changes = plan.count(StepStatus::Planned) > 0;
    let body = html! {
        p { "Plan " a href=(format!("/runs/{}", plan.run_id)) { (plan.run_id) } " for " strong { (p.user) } " of client " strong { (p.client) } "." }
        @if !sets.is_empty() { p { "Options changed: " @for (i, set) in sets.iter().enumerate() { @if i > 0 { ", " } code { (set) } } } }
        (plan_view(&plan))
        @if !changes {
            p role="status" { "Nothing to change: " (p.user) " is already offboarded as far as this script goes." }
        } @else {
            form method="post" action="/offboard/submit" {
                input type="hidden" name="csrf" value=(s.csrf);
                input type="hidden" name="client" value=(p.client);
                input type="hidden" name="user" value=(p.user);
                @if let Some(t) = &p.ticket { input type="hidden" name="ticket" value=(t); }
                @for set in &sets {
                    @if let Some((k, v)) = set.split_once('=') { input type="hidden" name=(format!("set.{k}")) value=(v); }
                }
                @if gated {
                    p { "Client " (p.client) " requires an approval before anything is changed." }
                    button id="send-approval" type="submit" name="action" value="approval" { "Send for approval" }
                } @else {
                    p { button id="apply-now" type="submit" name="action" value="apply" { "Apply now" } }
                    p {
                        label for="at" { "Or schedule for (date and time, UTC)" }
                        " "
                        input id="at" name="at" type="datetime-local";
                        " "
                        button id="schedule" type="submit" name="action" value="schedule" { "Schedule" }
                    }
                }
            }
        }
    };
    page(StatusCode::OK, "Plan", Some(&s), body)
}

/// A date and time from the form: `datetime-local` (no offset, read as UTC, as the label says)
/// or RFC 3339 with its offset.
fn due_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .map(|n| n.and_utc())
        .ok_or_else(|| format!("'{t}' is not a date and time (2026-12-18T17:00, UTC)"))
}

/// `POST /offboard/submit`: plan again, then apply now, schedule or send for approval.
pub async fn submit(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let Checked { s, p, sets, gated } = match checked(&app, &headers, fields) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let decision = match (p.action.as_str(), gated) {
        ("approval", true) => Decision::Approval,
        ("apply", false) => Decision::ApplyNow,
        ("schedule", false) => match due_time(&p.at).and_then(|d| request::check_due(d, &p.at).map(|()| d).map_err(|e| e.to_string())) {
            Ok(d) => Decision::Schedule(d),
            Err(e) => return refused(StatusCode::BAD_REQUEST, &s, "Not scheduled", &e),
        },
        (_, true) => {
            let text = format!("Client '{}' requires approval: the only way on is to send the request for approval.", p.client);
            return refused(StatusCode::BAD_REQUEST, &s, "Approval required", &text);
        }
        (other, false) => {
            return refused(StatusCode::BAD_REQUEST, &s, "Not this form", &format!("'{other}' is not something the form can do."))
        }
    };
    let due = match decision {
        Decision::Schedule(d) => Some(d),
        _ => None,
    };
    let requester = console_requester(s.who.email.as_deref(), &s.who.subject);
    let (user, ticket) = (p.user.clone(), p.ticket.clone());
    let spec = RunSpec::for_tenant(&p.client, "default", sets.clone(), p.ticket.clone());
    let options = spec.options();
    let done = with_session(&app, spec, move |session| {
        request::carry_out(session, &user, decision, options, ticket.as_deref(), &requester).map(|o| o.run_id().to_string())
    })
    .await;
    let run_id = done.as_ref().ok().cloned();
    let detail = serde_json::json!({"client": p.client, "user": p.user, "set": sets, "run_id": run_id, "at": due,
        "error": done.as_ref().err().map(|e| e.to_string())});
    let action = match decision {
        Decision::ApplyNow => "offboard_apply",
        Decision::Schedule(_) => "offboard_schedule",
        Decision::Approval => "offboard_request_approval",
    };
    if let Err(e) = audit(&app, &s, action, detail).await {
        let text = format!("The journal could not record this action ({e}); run {} was made: see the runs.", run_id.unwrap_or_default());
        return refused(StatusCode::INTERNAL_SERVER_ERROR, &s, "Not recorded", &text);
    }
    match done {
        Err(e) => refused(status_of(&e), &s, "Refused", &explain(&e)),
        Ok(id) if decision == Decision::ApplyNow => to(&format!("/runs/{id}")),
        Ok(id) => to(&format!("/offboard/requested/{id}")),
    }
}

fn to(path: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, path.to_string())]).into_response()
}

/// `GET /offboard/requested/{id}`: a scheduled run or a request awaiting approval, for the
/// clients the person may see (another client's answers as a missing one).
pub async fn requested(AxState(app): AxState<Arc<App>>, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let s = match signed_in_at(&app, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let wanted = id.clone();
    let item = match read(&app, move |j| j.work_get(&wanted)).await {
        Ok(i) => i,
        Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &s, "Journal", &format!("The journal could not be read: {e}")),
    };
    let Some(item) = item.filter(|i| app.visible_clients(&s.who).contains(&i.tenant)) else {
        return page(StatusCode::NOT_FOUND, "Not found", Some(&s), html! { p { "There is no request " (id) " that you may see." } });
    };
    let title = match item.kind {
        crate::journal::WorkKind::Approval => "Sent for approval",
        crate::journal::WorkKind::Schedule => "Scheduled",
    };
    let body = html! {
        p role="status" {
            @match item.kind {
                crate::journal::WorkKind::Approval => { "Run " (item.id) " waits for an approver's yes; the request expires " (item.at.to_rfc3339()) "." }
                crate::journal::WorkKind::Schedule => { "Run " (item.id) " is scheduled for " (item.at.to_rfc3339()) "; it is planned again then." }
            }
        }
        dl {
            dt { "Client" } dd { (item.tenant) }
            dt { "User" } dd { (item.user) }
            dt { "Status" } dd { (item.status) }
            dt { "Requested by" } dd { (item.requested_by.clone().unwrap_or_default()) }
            dt { "Options" } dd { code { (item.options["set"]) } }
            dt { "Changes planned" } dd { (item.plan.len()) }
        }
        p { a href=(format!("/runs/{}", item.id)) { "The plan run" } }
    };
    page(StatusCode::OK, title, Some(&s), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_time_is_a_datetime_local_in_utc_or_rfc_3339() {
        let want: DateTime<Utc> = "2026-12-18T17:00:00Z".parse().unwrap();
        assert_eq!(due_time("2026-12-18T17:00"), Ok(want));
        assert_eq!(due_time("2026-12-18T17:00:00"), Ok(want));
        assert_eq!(due_time("2026-12-18T18:00:00+01:00"), Ok(want));
        assert!(due_time("").is_err());
        assert!(due_time("next friday").unwrap_err().contains("not a date and time"));
    }

    #[test]
    fn a_field_the_form_has_not_is_refused_and_settings_keep_their_order() {
        let f = |pairs: &[(&str, &str)]| posted(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        assert!(f(&[("allow_privileged", "true")]).unwrap_err().contains("no field 'allow_privileged'"));
        let p = f(&[("user", " a@b.test "), ("set.x", "1"), ("ticket", " "), ("set.y", "2"), ("set.x", "3")]).unwrap();
        assert_eq!((p.user.as_str(), p.ticket, p.sets.len()), ("a@b.test", None, 3));
        assert_eq!(p.sets[2], ("x".to_string(), "3".to_string()));
    }
}
