//! The pages behind sign-in: the runs history (filtered to the clients the person may see, then
//! by client, status, user and date range) and a page per run with its steps, their results
//! and prior state, its ticket, its approval, and the restore button. Server-rendered (maud escapes every value); no JavaScript.

use std::sync::Arc;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::access::{signed_in, signed_in_at, SignedIn};
use super::tasks::Task;
use super::App;
use crate::journal::{Journal, Mode, RunQuery, RunStatus, WorkKind};

/// How many runs the history shows at most.
const HISTORY_LIMIT: usize = 200;

fn layout(title: &str, session: Option<&SignedIn>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — offboard-host" }
            }
            body {
                header {
                    nav aria-label="Main" { a href="/runs" { "Runs" } " " a href="/offboard" { "Offboard a user" } " " a href="/approvals" { "Approvals" } }
                    @if let Some(s) = session {
                        form method="post" action="/logout" {
                            span { "Signed in as " (s.who.label()) " " }
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "Sign out" }
                        }
                    } @else {
                        a href="/login" { "Sign in" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

pub fn page(status: StatusCode, title: &str, session: Option<&SignedIn>, body: Markup) -> Response {
    let mut resp = (status, Html(layout(title, session, body).0)).into_response();
    // Pages hold client data: never kept by a shared cache or the browser's history cache.
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

/// A page with one message (errors of the sign-in flow, "signed out").
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, None, html! { p role=(if status.is_success() { "status" } else { "alert" }) { (text) } })
}

/// A journal read, off the async workers (SQLite calls block).
pub async fn read<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&dyn Journal) -> crate::journal::Result<T> + Send + 'static,
) -> Result<T, String> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || f(app.journal.as_ref())).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the journal read stopped: {e}")),
    }
}

pub fn journal_failed(title: &str, s: &SignedIn, e: &str) -> Response {
    page(StatusCode::INTERNAL_SERVER_ERROR, title, Some(s), html! { p role="alert" { "The journal could not be read: " (e) } })
}

/// A redirect after a form post (303: the browser GETs the page).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// A time as pages show it, machine-readable too.
pub fn when(t: &chrono::DateTime<chrono::Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M UTC")) } }
}

pub async fn home(AxState(app): AxState<Arc<App>>, headers: HeaderMap) -> Response {
    match signed_in(&app, &headers) {
        Ok(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, "/runs")]).into_response(),
        Err(r) => *r,
    }
}

/// Any other path: sign-in first, then 404 (so an unknown path tells nothing to a stranger).
pub async fn not_found(AxState(app): AxState<Arc<App>>, headers: HeaderMap) -> Response {
    match signed_in(&app, &headers) {
        Ok(s) => page(StatusCode::NOT_FOUND, "Not found", Some(&s), html! { p { "There is no such page." } }),
        Err(r) => *r,
    }
}

#[derive(Deserialize, Default)]
pub struct Filters {
    client: Option<String>,
    user: Option<String>,
    status: Option<String>,
    /// Started on or after this day (`YYYY-MM-DD`, UTC).
    from: Option<String>,
    /// Started on or before this day.
    to: Option<String>,
}

/// The start of the day `text` names (`YYYY-MM-DD`, as an `<input type="date">` sends it),
/// `days` later; None for an empty or malformed value (the filter is then left out).
fn day(text: Option<&str>, days: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    let d = chrono::NaiveDate::parse_from_str(text?.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc() + chrono::Duration::days(days))
}

const STATUSES: &[RunStatus] = &[
    RunStatus::Running,
    RunStatus::Planned,
    RunStatus::Succeeded,
    RunStatus::Failed,
    RunStatus::Aborted,
    RunStatus::Interrupted,
    RunStatus::NotConfirmed,
];

pub async fn runs(AxState(app): AxState<Arc<App>>, headers: HeaderMap, uri: Uri, Query(f): Query<Filters>) -> Response {
    let s = match signed_in_at(&app, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let visible = app.visible_clients(&s.who);
    let client = f.client.filter(|c| !c.is_empty());
    let user = f.user.filter(|u| !u.trim().is_empty());
    let status = f.status.as_deref().and_then(RunStatus::parse);
    // A client the person may not see selects nothing (rather than everything).
    let runs = if client.as_ref().is_some_and(|c| !visible.contains(c)) {
        Vec::new()
    } else {
        let q = RunQuery {
            tenant: client.clone(),
            user_contains: user.clone(),
            status,
            since: day(f.from.as_deref(), 0),
            until: day(f.to.as_deref(), 1),
            limit: HISTORY_LIMIT,
            ..RunQuery::default()
        };
        match read(&app, move |j| j.find_runs(&q)).await {
            Ok(r) => r,
            Err(e) => return journal_failed("Runs", &s, &e),
        }
    };
    let runs: Vec<_> = runs.into_iter().filter(|r| visible.contains(&r.tenant)).collect();
    let body = html! {
        form method="get" action="/runs" role="search" {
            label for="f-client" { "Client" }
            select id="f-client" name="client" {
                option value="" { "All my clients" }
                @for c in &visible {
                    option value=(c) selected[client.as_deref() == Some(c.as_str())] { (c) }
                }
            }
            label for="f-user" { "User" }
            input id="f-user" name="user" type="search" value=(user.clone().unwrap_or_default());
            label for="f-status" { "Status" }
            select id="f-status" name="status" {
                option value="" { "Any" }
                @for st in STATUSES {
                    option value=(st.as_str()) selected[status == Some(*st)] { (st.as_str()) }
                }
            }
            label for="f-from" { "From" }
            input id="f-from" name="from" type="date" value=(f.from.clone().unwrap_or_default());
            label for="f-to" { "To" }
            input id="f-to" name="to" type="date" value=(f.to.clone().unwrap_or_default());
            button type="submit" { "Filter" }
        }
        @if runs.is_empty() {
            p role="status" { "No runs." }
        } @else {
            table {
                caption { "Runs, newest first" }
                thead { tr { th scope="col" { "Run" } th scope="col" { "Client" } th scope="col" { "User" } th scope="col" { "Mode" } th scope="col" { "Status" } th scope="col" { "Started" } } }
                tbody {
                    @for r in &runs {
                        tr {
                            td { a href=(format!("/runs/{}", r.run_id)) { (r.run_id) } }
                            td { (r.tenant) } td { (r.user) } td { (r.mode.as_str()) } td { (r.status.as_str()) }
                            td { (when(&r.started_at)) }
                        }
                    }
                }
            }
        }
    };
    page(StatusCode::OK, "Runs", Some(&s), body)
}

pub async fn run(AxState(app): AxState<Arc<App>>, headers: HeaderMap, uri: Uri, Path(id): Path<String>) -> Response {
    let s = match signed_in_at(&app, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let wanted = id.clone();
    let found = read(&app, move |j| {
        let Some(d) = j.get_run(&wanted)? else {
            return Ok(None);
        };
        let approval = j.work_get(&wanted)?.filter(|i| i.kind == WorkKind::Approval);
        Ok(Some((d, j.run_ticket(&wanted)?, approval)))
    })
    .await;
    let found = match found {
        Ok(d) => d,
        Err(e) => return journal_failed("Run", &s, &e),
    };
    // Another client's run answers exactly like a missing one: its existence is not told.
    let Some((d, ticket, approval)) = found.filter(|(d, ..)| app.visible_clients(&s.who).contains(&d.summary.tenant)) else {
        return page(StatusCode::NOT_FOUND, "Not found", Some(&s), html! { p { "There is no run " (id) " that you may see." } });
    };
    let r = &d.summary;
    let body = html! {
        dl {
            dt { "Client" } dd { (r.tenant) }
            dt { "User" } dd { (r.user) }
            dt { "Script" } dd { (r.script) }
            dt { "Mode" } dd { (r.mode.as_str()) }
            dt { "Status" } dd { (r.status.as_str()) }
            dt { "Started" } dd { (when(&r.started_at)) }
            @if let Some(f) = r.finished_at { dt { "Finished" } dd { (when(&f)) } }
            @if let Some(t) = &ticket {
                dt { "PSA ticket" }
                dd {
                    @let psa = app.config.tenants.get(&r.tenant).and_then(|c| c.psa.as_ref());
                    @match psa.and_then(|p| p.ticket_link(t)) {
                        Some(href) => a href=(href) rel="noreferrer" { (t) " in " (psa.map_or("the PSA", |p| p.kind.name())) },
                        // No address form configured (psa.ticket_url): the number, and where it is.
                        None => { (t) @if let Some(p) = psa { " in " (p.kind.name()) } },
                    }
                }
            }
            @if let Some(i) = &approval {
                dt { "Approval" } dd { a href=(format!("/approvals/{}", i.id)) { (i.status) } }
                @if let Some(a) = &i.applied_run_id { dt { "Applied in" } dd { a href=(format!("/runs/{a}")) { (a) } } }
            }
        }
        @if let Some(t) = app.tasks.get(&r.run_id) { (task_status(&t)) }
        // No button where restore would be refused anyway: a client that requires approval.
        @if r.mode == Mode::Apply && app.may_restore(&s.who, &r.tenant) && app.config.tenants.get(&r.tenant).is_some_and(|t| t.approval.is_none()) {
            form method="post" action=(format!("/runs/{}/restore", r.run_id)) {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Restore…" }
            }
        }
        table {
            caption { "Steps" }
            thead { tr { th scope="col" { "Step" } th scope="col" { "Phase" } th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Status" } th scope="col" { "Result" } th scope="col" { "Prior state" } } }
            tbody {
                @for st in &d.steps {
                    tr {
                        td { (st.step.step_id) } td { (st.step.phase) } td { (st.step.action) }
                        td { (st.step.target_display) } td { (st.step.status.as_str()) } td { (st.step.detail) }
                        td { @if !st.step.prior.is_null() { code { (serde_json::to_string(&st.step.prior).unwrap_or_default()) } } }
                    }
                }
            }
        }
    };
    page(StatusCode::OK, &format!("Run {}", r.run_id), Some(&s), body)
}

/// A background run started from this page (an approved run, a restore): going, done, failed.
fn task_status(t: &Task) -> Markup {
    html! {
        @match t {
            Task::Running { what } => p role="status" { "The " (what) " is running: reload this page to follow it." },
            Task::Done { what, run_id } => p role="status" { "The " (what) " finished: run " a href=(format!("/runs/{run_id}")) { (run_id) } "." },
            Task::Failed { what, error } => p role="alert" { "The " (what) " did not complete: " (error) },
        }
    }
}
