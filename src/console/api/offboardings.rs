//! `POST /api/v1/offboardings`: a PSA's ticket webhook or an HR system asks for an offboarding:
//! plan only, send for approval, schedule, or apply now, through [`crate::service::request`] as
//! the CLI and the console's form do.
//!
//! In order, before anything is recorded: the token (401), the body (400), the
//! `Idempotency-Key` (400), the token's `request` role for the client (403), the settings, the
//! ticket and the time (400, 422). Then the key is claimed (`keys`), the request is journalled
//! with the token's name as the identity (a request the journal cannot record is not done),
//! the work is done, its outcome journalled, and the answer kept with the key. `ticket` makes
//! the run continue that PSA ticket (as `--ticket`): the approval request is noted there and the
//! apply run writes its notes there instead of opening a ticket.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::keys::{self, Begin};
use super::{authorized, blocking};
use crate::config::Role;
use crate::console::form::with_session;
use crate::console::App;
use crate::error::Error;
use crate::exec::report::Report;
use crate::journal::{AuditEvent, StepStatus};
use crate::run::outcome_error;
use crate::service::request::{self, Decision, Notice, Outcome};
use crate::service::{check_user, RunSpec, Session};

/// The route, as the request's digest names it.
const ROUTE: &str = "POST /api/v1/offboardings";
/// The issuer the audit log records for API tokens (a person's is their OIDC issuer).
pub const AUDIT_ISSUER: &str = "offboard-host:api-token";

/// What to do with the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Plan only: nothing is written.
    Plan,
    /// Send the plan for approval (a client with `[approval]`).
    Approval,
    /// Apply at `at` (a client without `[approval]`).
    Schedule,
    /// Apply now (a client without `[approval]`).
    Apply,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Plan => "plan",
            Action::Approval => "approval",
            Action::Schedule => "schedule",
            Action::Apply => "apply",
        }
    }
}

/// A setting's value: a bool, an integer or a text, as the settings schema types it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SettingValue {
    Bool(bool),
    Int(i64),
    Text(String),
}

/// A PSA ticket number, as a number or as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TicketId {
    Number(u64),
    Text(String),
}

/// An offboarding asked for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffboardingRequest {
    /// The client (tenant name).
    pub client: String,
    /// The user to offboard (UPN; with on-premises AD also the sAMAccountName).
    pub user: String,
    pub action: Action,
    /// Settings over the client's defaults, as `--set` takes them (see `offboard-host settings`).
    #[serde(default)]
    pub settings: BTreeMap<String, SettingValue>,
    /// With `schedule`: when to apply (RFC 3339, in the future).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// The PSA ticket the offboarding continues (the webhook's ticket), as `--ticket`.
    #[serde(default)]
    pub ticket: Option<TicketId>,
}

/// What was done.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OffboardingAnswer {
    /// The run made (the plan; for `apply`, the apply run).
    pub run_id: String,
    pub client: String,
    pub user: String,
    pub action: Action,
    /// `planned`, `awaiting_approval`, `scheduled` or `applied`.
    pub outcome: String,
    /// The run's status: `planned`, `succeeded`, `failed`, ...
    pub run_status: String,
    /// The changes the plan holds (for `apply`: the steps done).
    pub changes: usize,
    /// An approval: when the request expires, and who may approve it.
    pub expires_at: Option<DateTime<Utc>>,
    pub approvers: Vec<String>,
    /// A schedule: when the run is applied.
    pub due_at: Option<DateTime<Utc>>,
    /// The PSA ticket the run writes to, once known.
    pub ticket: Option<String>,
    /// An apply that stopped: why (the run's steps tell the rest).
    pub error: Option<String>,
    /// Progress and warnings that did not stop the request.
    pub notices: Vec<String>,
    /// The run in this API.
    pub href: String,
}

fn parse(body: &[u8]) -> Result<OffboardingRequest, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not an offboarding request: {e}")))
}

/// The settings as `(name, text)` pairs, as a form gives them.
fn given(r: &OffboardingRequest) -> Vec<(String, String)> {
    r.settings
        .iter()
        .map(|(k, v)| {
            let text = match v {
                SettingValue::Bool(b) => b.to_string(),
                SettingValue::Int(i) => i.to_string(),
                SettingValue::Text(t) => t.clone(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// What a refusal of the service answers with: the request's fault (400), a user who is not
/// there (404), a run of the same user in progress (409), anything else (a protected account,
/// a provider down, an approval required) 422 with the reason.
fn refusal(e: &Error) -> ApiError {
    let status = match e {
        Error::Usage(_) | Error::InvalidUser { .. } => StatusCode::BAD_REQUEST,
        Error::UserNotFound { .. } => StatusCode::NOT_FOUND,
        Error::Locked { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.to_string())
}

/// The checks that need no journal and no tenant: the client's role, the settings, the ticket,
/// the time. Returns the run's spec.
fn checked(app: &App, caller: &Caller, r: &OffboardingRequest) -> Result<RunSpec, ApiError> {
    caller.require(&app.settings, Role::Request, &r.client)?;
    let (name, tenant) = app.config.tenant(Some(&r.client)).map_err(|e| ApiError::not_found(e.to_string()))?;
    check_user(tenant, &r.user).map_err(|e| refusal(&e))?;
    // Checked as `--set` checks them; the run keeps those that differ from the client's values.
    let sets = request::changed_sets(tenant, &given(r)).map_err(|e| refusal(&e))?;
    let ticket = r.ticket.as_ref().map(|t| match t {
        TicketId::Number(n) => n.to_string(),
        TicketId::Text(s) => s.trim().to_string(),
    });
    crate::service::ticketing_options(name, tenant, ticket.as_deref()).map_err(|e| refusal(&e))?;
    match (r.action, r.at) {
        (Action::Schedule, None) => return Err(ApiError::bad_request("schedule needs `at`: when to apply (RFC 3339)")),
        (Action::Schedule, Some(at)) => request::check_due(at, &at.to_rfc3339()).map_err(|e| refusal(&e))?,
        (_, Some(_)) => return Err(ApiError::bad_request("`at` goes only with the action schedule")),
        (_, None) => {}
    }
    if r.action == Action::Schedule {
        // Before the request key and the session: a scheduled run has no approval step.
        request::refuse_unapproved_write(name, tenant).map_err(|e| refusal(&e))?;
    }
    Ok(RunSpec::for_tenant(name, "default", sets, ticket))
}

fn notices(n: &[Notice]) -> Vec<String> {
    n.iter()
        .map(|n| match n {
            Notice::Info(m) => m.clone(),
            Notice::Warning(m) => format!("warning: {m}"),
        })
        .collect()
}

/// An answer for the run `run_id`, before what the action adds.
fn answer(
    r: &OffboardingRequest,
    run_id: &str,
    outcome: &str,
    run_status: &str,
    changes: usize,
    ticket: Option<String>,
) -> OffboardingAnswer {
    OffboardingAnswer {
        run_id: run_id.into(),
        client: r.client.clone(),
        user: r.user.clone(),
        action: r.action,
        outcome: outcome.into(),
        run_status: run_status.into(),
        changes,
        expires_at: None,
        approvers: Vec::new(),
        due_at: None,
        ticket,
        error: None,
        notices: Vec::new(),
        href: format!("/api/v1/runs/{run_id}"),
    }
}

/// The answer for a run's report (a plan, or an apply).
fn answer_of(r: &OffboardingRequest, report: &Report, outcome: &str) -> OffboardingAnswer {
    answer(r, &report.run_id, outcome, &report.status, report.count(StepStatus::Planned), report.ticket.clone())
}

/// The work, on a blocking thread with the tenant's session: a plan, or the decision carried
/// out as the console's form does ([`request::carry_out`]).
fn act(session: &Session, r: &OffboardingRequest, spec: &RunSpec, requester: &str) -> crate::error::Result<OffboardingAnswer> {
    let decision = match (r.action, r.at) {
        (Action::Plan, _) => {
            let plan = request::plan(session, &r.user)?;
            if let Some(e) = outcome_error(&plan) {
                return Err(e);
            }
            return Ok(answer_of(r, &plan, "planned"));
        }
        (Action::Apply, _) => Decision::ApplyNow,
        (Action::Approval, _) => Decision::Approval,
        (Action::Schedule, Some(due)) => Decision::Schedule(due),
        (Action::Schedule, None) => return Err(Error::Usage("schedule needs `at`: when to apply (RFC 3339)".into())),
    };
    let ticket = spec.ticket.as_deref();
    Ok(match request::carry_out(session, &r.user, decision, spec.options(), ticket, requester)? {
        Outcome::Applied(done) => OffboardingAnswer {
            changes: done.count(StepStatus::Done),
            error: done.error.as_ref().map(|e| e.message.clone()),
            ..answer_of(r, &done, "applied")
        },
        Outcome::Scheduled { run_id, notices: n } => {
            OffboardingAnswer { due_at: r.at, notices: notices(&n), ..planned_answer(session, r, &run_id, "scheduled")? }
        }
        Outcome::SentForApproval { run_id, sent } => OffboardingAnswer {
            expires_at: Some(sent.expires),
            approvers: sent.approvers,
            notices: notices(&sent.notices),
            changes: sent.changes,
            ..planned_answer(session, r, &run_id, "awaiting_approval")?
        },
    })
}

/// The answer for the plan run `run_id` kept for a schedule or an approval, from the journal.
fn planned_answer(session: &Session, r: &OffboardingRequest, run_id: &str, outcome: &str) -> crate::error::Result<OffboardingAnswer> {
    let run = session.journal.get_run(run_id)?.ok_or_else(|| crate::journal::JournalError::NoSuchRun(run_id.into()))?;
    let planned = run.summary.step_counts.get(StepStatus::Planned.as_str()).copied().unwrap_or(0);
    let changes = usize::try_from(planned).unwrap_or(usize::MAX);
    Ok(answer(r, run_id, outcome, run.summary.status.as_str(), changes, session.journal.run_ticket(run_id)?))
}

/// Journal what the token asked or did, with its name as the identity.
async fn audit(app: &Arc<App>, caller: &Caller, action: &str, detail: serde_json::Value) -> Result<(), ApiError> {
    let event = AuditEvent {
        at: Utc::now(),
        action: action.into(),
        issuer: AUDIT_ISSUER.into(),
        subject: caller.name().to_string(),
        email: None,
        detail,
    };
    blocking(app, move |app| app.journal.record_audit(&event)).await
}

/// Request an offboarding: plan only, send for approval, schedule, or apply now.
#[utoipa::path(
    post,
    path = "/api/v1/offboardings",
    tag = "offboardings",
    request_body = OffboardingRequest,
    params(("Idempotency-Key" = String, Header, description = "A unique value per request (a UUID, or the ticket and event): the same key with the same request is done once and answered again; with another request it is refused (422)")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Done (or done before with this key: header Idempotent-Replayed)", body = OffboardingAnswer),
        (status = 400, description = "The body, a setting, the ticket, the time or the key is not valid", body = ErrorBody),
        (status = 401, description = "No token, or an unknown one", body = ErrorBody),
        (status = 403, description = "The token has no request role for the client", body = ErrorBody),
        (status = 404, description = "No such client, or no such user", body = ErrorBody),
        (status = 409, description = "The request with this key is still being answered, or a run of the user is in progress", body = ErrorBody),
        (status = 422, description = "The key was used for another request, or the request was refused (approval required, a protected account, ...)", body = ErrorBody),
    )
)]
pub async fn request_offboarding(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let caller = authorized(&app, &headers)?;
    let r = parse(&body)?;
    let key = keys::key_of(&headers)?;
    let spec = checked(&app, &caller, &r)?;
    let claim = match keys::begin(&app, &caller, &key, &keys::digest(ROUTE, &r)).await? {
        Begin::Go(c) => c,
        Begin::Answer(resp) => return Ok(resp),
    };
    let asked = serde_json::json!({"client": r.client, "user": r.user, "action": r.action.as_str(), "set": spec.sets,
        "ticket": spec.ticket, "at": r.at, "idempotency_key": key});
    // A request the journal cannot record is not done.
    if let Err(e) = audit(&app, &caller, "api_request", asked).await {
        claim.release(&app).await;
        return Err(e);
    }
    let requester = format!("api:{}", caller.name());
    let (req, spec_) = (r.clone(), spec.clone());
    let done = with_session(&app, spec, move |session| act(session, &req, &spec_, &requester)).await;
    let outcome = serde_json::json!({"client": r.client, "user": r.user, "idempotency_key": key,
        "run_id": done.as_ref().ok().map(|a| a.run_id.clone()), "outcome": done.as_ref().ok().map(|a| a.outcome.clone()),
        "error": done.as_ref().err().map(|e| e.to_string())});
    if let Err(e) = audit(&app, &caller, &format!("api_offboard_{}", r.action.as_str()), outcome).await {
        // The request itself is journalled (above): the work stands, and is answered.
        tracing::warn!("console api: the outcome of a request could not be journalled: {}", e.message);
    }
    match done {
        Ok(a) => Ok(claim.answer(&app, StatusCode::CREATED, serde_json::to_value(&a).unwrap_or_default()).await),
        Err(e) => {
            // Refused: nothing was written (a plan run may be kept), so the key is free again.
            claim.release(&app).await;
            Ok(refusal(&e).into_response())
        }
    }
}
