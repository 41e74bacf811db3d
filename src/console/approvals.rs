//! `/approvals`: the requests the signed-in person may approve, and a page per request with
//! the exact plan recorded with it, where they approve or reject it.
//!
//! Who may decide: both the console and the client's `[approval]` configuration must allow it
//! (the safe choice: neither can widen the other). The console's `Approve` role for the client
//! (Admin does not imply it: administering the console is not approving offboardings), and the
//! signed-in e-mail among the client's `approvers`. Four eyes, expiry, the policy binding and
//! the re-plan before applying are `service::approval`'s, the same code as `offboard-host
//! approve` / `apply`. The requester is named `console:<e-mail>` ([`principal`]), which a
//! console request records as `requested_by`; it may not approve its own request.
//!
//! An approval is carried out at once, in the background ([`super::tasks`]); the answer
//! redirects to the run's page, which shows how it goes.

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::access::{check_csrf, signed_in, signed_in_at, SignedIn};
use super::pages::{journal_failed, page, read, see_other, when};
use super::session::Identity;
use super::tasks;
use super::App;
use crate::config::Role;
use crate::journal::{RunStatus, WorkItem, WorkKind};
use crate::service::approval::{self, ApplyView, Decider};

/// The principal a console action is recorded under (`requested_by`, `decided_os`): the
/// e-mail the roles match on, else the token's subject (as the form's requests record it).
pub fn principal(who: &Identity) -> String {
    format!("console:{}", who.email.as_deref().filter(|e| !e.trim().is_empty()).unwrap_or(&who.subject).trim())
}

/// The status as the page shows it: a pending request past its expiry is expired, whether or
/// not anyone has tried to decide on it since.
fn shown_status(item: &WorkItem) -> &str {
    if matches!(item.status.as_str(), "pending" | "approved") && approval::expired(item) {
        "expired"
    } else {
        &item.status
    }
}

pub async fn list(AxState(app): AxState<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    let s = match signed_in_at(&app, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let items = match read(&app, |j| j.work_list(WorkKind::Approval, Some("pending"))).await {
        Ok(i) => i,
        Err(e) => return journal_failed("Approvals", &s, &e),
    };
    let mine: Vec<WorkItem> = items.into_iter().filter(|i| app.may(&s.who, Role::Approve, &i.tenant)).collect();
    let body = html! {
        @if mine.is_empty() {
            p role="status" { "No request waits for your approval." }
        } @else {
            table {
                caption { "Requests you may approve, oldest first" }
                thead { tr { th scope="col" { "Run" } th scope="col" { "Client" } th scope="col" { "User" } th scope="col" { "Changes" } th scope="col" { "Requested by" } th scope="col" { "Expires" } th scope="col" { "Status" } } }
                tbody {
                    @for i in &mine {
                        tr {
                            td { a href=(format!("/approvals/{}", i.id)) { (i.id) } }
                            td { (i.tenant) } td { (i.user) } td { (i.plan.len()) }
                            td { (i.requested_by.as_deref().unwrap_or("unknown")) }
                            td { (when(&i.at)) } td { (shown_status(i)) }
                        }
                    }
                }
            }
        }
    };
    page(StatusCode::OK, "Approvals", Some(&s), body)
}

/// The item `id` if the person may see its client; another client's item answers exactly
/// like a missing one.
async fn visible_item(app: &Arc<App>, s: &SignedIn, id: &str) -> Result<WorkItem, Response> {
    let wanted = id.to_string();
    let item = read(app, move |j| j.work_get(&wanted)).await.map_err(|e| journal_failed("Approval", s, &e))?;
    match item.filter(|i| i.kind == WorkKind::Approval && app.visible_clients(&s.who).contains(&i.tenant)) {
        Some(i) => Ok(i),
        None => Err(page(
            StatusCode::NOT_FOUND,
            "Not found",
            Some(s),
            html! { p { "There is no approval request " (id) " that you may see." } },
        )),
    }
}

pub async fn show(AxState(app): AxState<Arc<App>>, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let s = match signed_in_at(&app, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let item = match visible_item(&app, &s, &id).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let status = shown_status(&item);
    let may_decide = app.may(&s.who, Role::Approve, &item.tenant);
    let own = item.requested_by.as_deref() == Some(principal(&s.who).as_str());
    // An apply whose process stopped part-way (the console restarted, say): its run, to continue.
    let interrupted = if item.status == "applying" {
        let it = item.clone();
        read(&app, move |j| crate::workflow::apply_run_of(j, &it)).await.ok().flatten().filter(|r| r.status == RunStatus::Interrupted)
    } else {
        None
    };
    let body = html! {
        dl {
            dt { "Client" } dd { (item.tenant) }
            dt { "User" } dd { (item.user) }
            dt { "Script" } dd { (item.script) }
            dt { "Script hash (sha256)" } dd { code { (item.script_hash) } }
            dt { "Requested by" } dd { (item.requested_by.as_deref().unwrap_or("unknown")) }
            dt { "Requested" } dd { (when(&item.created_at)) }
            dt { "Expires" } dd { (when(&item.at)) }
            dt { "Status" } dd { (status) }
            // What the requester changed from the client's defaults: the plan below is its effect,
            // this is its cause, so that the approver sees both.
            dt { "Options changed" } dd {
                @let sets = options_set(&item);
                @if sets.is_empty() { "none: the client's defaults" }
                @for (i, set) in sets.iter().enumerate() { @if i > 0 { ", " } code { (set) } }
            }
            @if let Some(by) = &item.decided_by { dt { "Decided by" } dd { (by) " " (item.decided_os.as_deref().unwrap_or("")) } }
            @if let Some(r) = &item.reason { dt { "Reason" } dd { (r) } }
            @if let Some(n) = &item.note { dt { "Note" } dd { (n) } }
            @if let Some(r) = &item.applied_run_id { dt { "Applied in" } dd { a href=(format!("/runs/{r}")) { (r) } } }
            dt { "Plan run" } dd { a href=(format!("/runs/{}", item.id)) { (item.id) } }
        }
        (plan_table(&item))
        @if status == "pending" && may_decide {
            @if own {
                p role="note" { "You requested this run: someone else must approve it (four eyes). You may still reject (withdraw) it." }
            } @else {
                form method="post" action=(format!("/approvals/{}/approve", item.id)) {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" { "Approve and run" }
                }
            }
            form method="post" action=(format!("/approvals/{}/reject", item.id)) {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="reason" { "Reason for rejecting" }
                textarea id="reason" name="reason" required maxlength="2000" {}
                button type="submit" { "Reject" }
            }
        } @else if status == "approved" && may_decide && item.applied_run_id.is_none() {
            // Approved but not carried out (the plan changed, the user's lock was held, the
            // console restarted): another try re-plans and compares again.
            form method="post" action=(format!("/approvals/{}/apply", item.id)) {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Run the approved plan" }
            }
        } @else if let (Some(run), true) = (&interrupted, may_decide) {
            p role="status" {
                "The apply stopped part-way (run " a href=(format!("/runs/{}", run.run_id)) { (run.run_id) }
                "): its process ended. Continuing it re-plans, and writes only what the approved plan still has to do."
            }
            form method="post" action=(format!("/approvals/{}/apply", item.id)) {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Continue the approved run" }
            }
        } @else if status == "expired" {
            p role="status" { "This request has expired: it cannot be approved. Request the run again." }
        }
    };
    page(StatusCode::OK, &format!("Approval {}", item.id), Some(&s), body)
}

/// The `--set key=value` options recorded with the request (the form's changed fields land there too).
fn options_set(item: &WorkItem) -> Vec<String> {
    let sets = item.options.get("set").and_then(|s| s.as_array());
    sets.into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

/// The plan as recorded with the request: what the approver approves, step by step.
fn plan_table(item: &WorkItem) -> Markup {
    html! {
        table {
            caption { "The plan to approve (" (item.plan.len()) " step(s))" }
            thead { tr { th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Target id" } th scope="col" { "Status" } th scope="col" { "Parameters" } } }
            tbody {
                @for p in &item.plan {
                    tr {
                        td { (p.action) } td { (p.target) } td { code { (p.target_id) } } td { (p.status) }
                        td { code { (serde_json::to_string(&p.params).unwrap_or_default()) } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: Option<String>,
    reason: Option<String>,
}

pub async fn approve(app: AxState<Arc<App>>, headers: HeaderMap, id: Path<String>, f: Form<DecideForm>) -> Response {
    decide(app, headers, id, f, true).await
}

pub async fn reject(app: AxState<Arc<App>>, headers: HeaderMap, id: Path<String>, f: Form<DecideForm>) -> Response {
    decide(app, headers, id, f, false).await
}

/// The checks of every post on a request: signed in, the form's token, a request of a client
/// the person may see (else not found), and the Approve role for it (else `title`, refused).
async fn approver_post(
    app: &Arc<App>,
    headers: &HeaderMap,
    id: &str,
    csrf: Option<&str>,
    title: &str,
) -> Result<(SignedIn, WorkItem), Response> {
    let s = signed_in(app, headers).map_err(|r| *r)?;
    check_csrf(&s, csrf).map_err(|r| *r)?;
    let item = visible_item(app, &s, id).await?;
    if !app.may(&s.who, Role::Approve, &item.tenant) {
        return Err(refused(&s, title, &format!("You have no approver role for client {}.", item.tenant)));
    }
    Ok((s, item))
}

async fn decide(
    AxState(app): AxState<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
    yes: bool,
) -> Response {
    let title = if yes { "Not approved" } else { "Not rejected" };
    let (s, item) = match approver_post(&app, &headers, &id, f.csrf.as_deref(), title).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let reason = f.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if !yes && reason.is_none() {
        return refused(&s, title, "A rejection needs a reason.");
    }
    let action = if yes { "approve" } else { "reject" };
    // Journalled before it happens: a decision the journal could not record is not made.
    let detail = serde_json::json!({ "run_id": item.id, "client": item.tenant, "user": item.user, "reason": reason });
    if let Err(e) = app.audit(&s.who, action, detail).await {
        return refused(&s, title, &e);
    }
    let (worker, who, item_id) = (app.clone(), s.who.clone(), item.id.clone());
    let decided = tokio::task::spawn_blocking(move || {
        let name = who.email.clone().unwrap_or_else(|| who.subject.clone());
        let me = principal(&who);
        let called = format!("you ({me})");
        let d = Decider { name: &name, principal: &me, called: &called };
        approval::decide(&worker.home, &worker.config, worker.journal.as_ref(), &item_id, &d, yes, reason.as_deref())
    })
    .await;
    match decided {
        Ok(Ok(warnings)) => {
            for w in warnings {
                tracing::warn!("console: {w}");
            }
        }
        Ok(Err(e)) => {
            // The refusal is journalled too (best effort: nothing was done that needs it).
            let why = serde_json::json!({ "run_id": item.id, "client": item.tenant, "refused": e.to_string() });
            if let Err(a) = app.audit(&s.who, &format!("{action}_refused"), why).await {
                tracing::warn!("console: {a}");
            }
            return refused(&s, title, &e.to_string());
        }
        Err(e) => return refused(&s, title, &format!("the decision stopped: {e}")),
    }
    if yes {
        start_apply(&app, &item.id);
    }
    see_other(&format!("/runs/{}", item.id))
}

/// Carry out the approved run `id` in the background (once at a time; the service refuses
/// what is not approved, expired or changed).
fn start_apply(app: &Arc<App>, id: &str) {
    if app.tasks.start(id, "apply") {
        let id = id.to_string();
        tasks::spawn(app.clone(), id.clone(), "apply".into(), move |app| {
            let mut seen = Changes::default();
            approval::apply(&app.home, &app.config, app.journal.as_ref(), &id, &mut seen)
                .map(|r| r.run_id)
                .map_err(|e| [vec![e.to_string()], seen.0].concat().join("; "))
        });
    }
}

/// Another try at an approved run that was not carried out: the Approve role, CSRF, journalled.
pub async fn apply(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<DecideForm>) -> Response {
    let (s, item) = match approver_post(&app, &headers, &id, f.csrf.as_deref(), "Not run").await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(e) = app.audit(&s.who, "apply", serde_json::json!({ "run_id": item.id, "client": item.tenant, "user": item.user })).await {
        return refused(&s, "Not run", &e);
    }
    start_apply(&app, &item.id);
    see_other(&format!("/runs/{}", item.id))
}

/// What the console's apply keeps on the way: how the plan differs from the approved one, for
/// the run page (the result itself is in the journal).
#[derive(Default)]
struct Changes(Vec<String>);

impl ApplyView for Changes {
    fn changed(&mut self, _item: &WorkItem, changes: &[String]) {
        self.0 = changes.to_vec();
    }
}

fn refused(s: &SignedIn, title: &str, why: &str) -> Response {
    page(StatusCode::FORBIDDEN, title, Some(s), html! { p role="alert" { (why) } }).into_response()
}
