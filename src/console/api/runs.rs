//! `GET /api/v1/runs` and `GET /api/v1/runs/{id}`: the runs of the clients the token may see.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{json_answer, ApiError, ErrorBody};
use super::model::{RunDetailOut, RunList, RunOut};
use super::{authorized, blocking};
use crate::console::App;
use crate::journal::{RunQuery, RunStatus};

/// How many runs one list answers at most.
const MAX_LIMIT: usize = 200;

/// The list's filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunFilters {
    /// Only this client's runs (one the token may see; another selects nothing).
    client: Option<String>,
    /// Only this user's runs (the UPN, any case).
    user: Option<String>,
    /// Only runs with this status.
    status: Option<String>,
    /// At most this many (default 50, at most 200).
    limit: Option<usize>,
}

/// The runs of the token's clients, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    tag = "runs",
    params(RunFilters),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The runs, newest first", body = RunList),
        (status = 400, description = "A filter is not valid", body = ErrorBody),
        (status = 401, description = "No token, or an unknown one", body = ErrorBody),
    )
)]
pub async fn list_runs(State(app): State<Arc<App>>, headers: HeaderMap, Query(f): Query<RunFilters>) -> Result<Response, ApiError> {
    let caller = authorized(&app, &headers)?;
    let visible = caller.visible(&app.settings, &app.clients);
    let status = match f.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(RunStatus::parse(s).ok_or_else(|| ApiError::bad_request(format!("unknown status '{s}'")))?),
        None => None,
    };
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let client = f.client.filter(|c| !c.is_empty());
    // A client the token may not see selects nothing (rather than everything).
    if client.as_ref().is_some_and(|c| !visible.contains(c)) {
        return Ok(json_answer(StatusCode::OK, &RunList { runs: Vec::new() }));
    }
    let user = f.user.filter(|u| !u.trim().is_empty());
    let tenants = match client {
        Some(c) => vec![c],
        None => visible,
    };
    // One query per visible client, merged: a limit over all runs could be filled by runs of
    // clients the token may not see, and leave the caller's own out.
    let runs = blocking(&app, move |app| {
        let mut all = Vec::new();
        for t in tenants {
            let q = RunQuery { tenant: Some(t), user: user.clone(), status, limit, ..RunQuery::default() };
            all.extend(app.journal.find_runs(&q)?);
        }
        Ok(all)
    })
    .await?;
    let mut runs = runs;
    runs.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| b.run_id.cmp(&a.run_id)));
    runs.truncate(limit);
    Ok(json_answer(StatusCode::OK, &RunList { runs: runs.iter().map(RunOut::from).collect() }))
}

/// One run with its steps, results, ticket and approval or schedule.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}",
    tag = "runs",
    params(("id" = String, Path, description = "The run id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The run", body = RunDetailOut),
        (status = 401, description = "No token, or an unknown one", body = ErrorBody),
        (status = 404, description = "No such run that this token may see", body = ErrorBody),
    )
)]
pub async fn get_run(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let caller = authorized(&app, &headers)?;
    let visible = caller.visible(&app.settings, &app.clients);
    let wanted = id.clone();
    let found = blocking(&app, move |app| {
        let Some(d) = app.journal.get_run(&wanted)? else {
            return Ok(None);
        };
        // Another client's run answers exactly like a missing one: its existence is not told.
        if !visible.contains(&d.summary.tenant) {
            return Ok(None);
        }
        let ticket = app.journal.run_ticket(&wanted)?;
        let work = app.journal.work_get(&wanted)?;
        Ok(Some(RunDetailOut::new(&d, ticket, work.as_ref())))
    })
    .await?;
    match found {
        Some(out) => Ok(json_answer(StatusCode::OK, &out)),
        None => Err(ApiError::not_found(format!("there is no run {id} that this token may see"))),
    }
}
