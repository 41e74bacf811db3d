//! Restore from a run's page: "Restore" shows the reverse plan (a journalled plan run, nothing
//! written), "Put it back" carries it out in the background; both through
//! `service::restore`, the code of `offboard-host restore`.
//!
//! Who may: the console's `Request` or `Admin` role for the run's client. Restoring writes to
//! the client's tenant as an offboarding does, so it needs the role that may start one; an
//! administrator may too, as the one who repairs a mistaken offboarding. `Approve` alone does
//! not (approving is deciding on others' requests, not making changes). A client that requires
//! approval refuses restore altogether (the service says why): restore has no approval step.
//! Both steps are journalled with the signed-in identity (`restore_plan`, `restore`).

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::access::{check_csrf, signed_in, SignedIn};
use super::pages::{journal_failed, page, read, see_other};
use super::tasks;
use super::App;
use crate::exec::report::Report;
use crate::journal::{Mode, StepStatus};
use crate::service::restore::Restore;
use crate::workflow::restore::RestoreOptions;

#[derive(Deserialize)]
pub struct RestoreForm {
    csrf: Option<String>,
}

/// The checks both steps make: signed in, the form's token, a run of a client the person may
/// see (else not found, as on the run page) and restore.
async fn allowed(app: &Arc<App>, headers: &HeaderMap, id: &str, csrf: Option<&str>) -> Result<(SignedIn, String), Response> {
    let s = signed_in(app, headers).map_err(|r| *r)?;
    check_csrf(&s, csrf).map_err(|r| *r)?;
    let wanted = id.to_string();
    let run = read(app, move |j| j.get_run(&wanted)).await.map_err(|e| journal_failed("Restore", &s, &e))?;
    let Some(client) = run.map(|d| d.summary.tenant).filter(|t| app.visible_clients(&s.who).contains(t)) else {
        return Err(page(StatusCode::NOT_FOUND, "Not found", Some(&s), html! { p { "There is no run " (id) " that you may see." } }));
    };
    if !app.may_restore(&s.who, &client) {
        return Err(page(
            StatusCode::FORBIDDEN,
            "Not restored",
            Some(&s),
            html! { p role="alert" { "You may not restore runs of client " (client) "." } },
        ));
    }
    Ok((s, client))
}

/// Open the run's restore and run it in `mode` (blocking: the tenant's APIs and the journal).
fn restore(app: &App, run_id: &str, mode: Mode) -> crate::error::Result<Report> {
    let r = Restore::open(&app.home, &app.config, app.journal.clone(), run_id, RestoreOptions::default())?;
    let report = r.run(mode);
    r.close();
    report
}

/// The reverse plan, and the form that carries it out.
pub async fn plan(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<RestoreForm>) -> Response {
    let (s, client) = match allowed(&app, &headers, &id, f.csrf.as_deref()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let title = format!("Restore run {id}");
    if let Err(e) = app.audit(&s.who, "restore_plan", serde_json::json!({ "run_id": id, "client": client })).await {
        return page(StatusCode::INTERNAL_SERVER_ERROR, &title, Some(&s), html! { p role="alert" { (e) } });
    }
    let (worker, wanted) = (app.clone(), id.clone());
    let planned = match tokio::task::spawn_blocking(move || restore(&worker, &wanted, Mode::Plan)).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the restore plan stopped: {e}")),
    };
    let plan = match planned {
        Ok(p) => p,
        Err(e) => return page(StatusCode::CONFLICT, &title, Some(&s), html! { p role="alert" { "Cannot restore: " (e) } }),
    };
    let changes = plan.count(StepStatus::Planned);
    let body = html! {
        p { "What run " a href=(format!("/runs/{id}")) { (id) } " changed, put back (plan run "
            a href=(format!("/runs/{}", plan.run_id)) { (plan.run_id) } "; nothing was written):" }
        table {
            caption { "Reverse plan" }
            thead { tr { th scope="col" { "Phase" } th scope="col" { "Action" } th scope="col" { "Target" } th scope="col" { "Status" } th scope="col" { "Detail" } } }
            tbody {
                @for st in &plan.steps {
                    tr { td { (st.phase) } td { (st.action) } td { (st.target) } td { (st.status.as_str()) } td { (st.detail) } }
                }
            }
        }
        @if !plan.messages.is_empty() {
            ul aria-label="Notes" { @for m in &plan.messages { li { (m) } } }
        }
        @if changes == 0 {
            p role="status" { "Nothing to restore: what the run changed is already back (or cannot be put back)." }
        } @else {
            form method="post" action=(format!("/runs/{id}/restore/confirm")) {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Put back " (changes) " change(s)" }
            }
        }
    };
    page(StatusCode::OK, &title, Some(&s), body)
}

/// Carry the restore out in the background; the run's page shows how it goes.
pub async fn confirm(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Path(id): Path<String>, Form(f): Form<RestoreForm>) -> Response {
    let (s, client) = match allowed(&app, &headers, &id, f.csrf.as_deref()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(e) = app.audit(&s.who, "restore", serde_json::json!({ "run_id": id, "client": client })).await {
        return page(StatusCode::INTERNAL_SERVER_ERROR, "Not restored", Some(&s), html! { p role="alert" { (e) } });
    }
    if app.tasks.start(&id, "restore") {
        let wanted = id.clone();
        tasks::spawn(app.clone(), id.clone(), "restore".into(), move |app| {
            restore(app, &wanted, Mode::Apply).map(|r| r.run_id).map_err(|e| e.to_string())
        });
    }
    see_other(&format!("/runs/{id}"))
}
