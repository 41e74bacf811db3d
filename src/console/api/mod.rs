//! The console's JSON API, for PSAs and HR systems (`/api/v1`): request an offboarding (a
//! ticket webhook), read runs. Callers authenticate with an API token of
//! `[[console.api_tokens]]` (`Authorization: Bearer <token>`), scoped to clients and roles;
//! POSTs are idempotent by their `Idempotency-Key` (`keys`). The OpenAPI document is generated
//! from the handlers (utoipa) and served at `/api/v1/openapi.json`.
//!
//! The API and the pages do not share credentials: API routes read only the bearer token and
//! never a session cookie, so a signed-in browser cannot be made to call them (no CSRF
//! surface); the pages read only the cookie and never a token. Every route here is registered
//! through `utoipa_axum::routes!`, which requires its `#[utoipa::path]`: a route cannot be
//! served without being documented (`tests::every_route_is_documented_and_served`).

mod auth;
mod error;
mod keys;
mod model;
mod offboardings;
mod runs;

use std::sync::{Arc, LazyLock};

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::App;
use auth::Caller;
use error::{json_answer, ApiError, ErrorBody};

/// The document's frame: title, version, the bearer scheme; the paths come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "offboard-host console API",
        description = "Request offboardings and read runs. Authenticate with an API token of [[console.api_tokens]]: `Authorization: Bearer <token>`. POST requests need an `Idempotency-Key` header: the same key with the same request is done once and answered the same way again; with another request it is refused (422)."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "offboardings", description = "Request an offboarding (a PSA's ticket webhook, an HR system)"),
        (name = "runs", description = "Runs of the clients the token may see"), (name = "meta", description = "This document")
    ),
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Every API route with its documentation.
fn api() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(runs::list_runs))
        .routes(routes!(runs::get_run))
        .routes(routes!(offboardings::request_offboarding))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document, made once.
static DOCUMENT: LazyLock<serde_json::Value> =
    LazyLock::new(|| serde_json::to_value(api().into_openapi()).expect("an OpenAPI document serialises"));

/// The API's routes, to merge into the console's router.
pub(super) fn router() -> axum::Router<Arc<App>> {
    let (router, _) = api().split_for_parts();
    // Any other path under /api: a JSON 401 or 404, never the pages' redirect to /login.
    router.route("/api/{*rest}", axum::routing::any(not_found))
}

/// The token's caller, or 401: the start of every handler.
fn authorized(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    auth::caller(&app.settings, headers)
}

/// A journal call off the async workers (SQLite calls block).
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> crate::journal::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || f(&app)).await {
        Ok(r) => r.map_err(|e| ApiError::internal(format!("the journal: {e}"))),
        Err(e) => Err(ApiError::internal(format!("the journal call stopped: {e}"))),
    }
}

/// This document (OpenAPI 3), for any valid token.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The OpenAPI document", content_type = "application/json"),
        (status = 401, description = "No token, or an unknown one", body = ErrorBody),
    )
)]
async fn openapi_json(axum::extract::State(app): axum::extract::State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorized(&app, &headers)?;
    Ok(json_answer(StatusCode::OK, &*DOCUMENT))
}

async fn not_found(axum::extract::State(app): axum::extract::State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorized(&app, &headers)?;
    Err(ApiError::not_found("there is no such API route (see /api/v1/openapi.json)"))
}

#[cfg(test)]
mod tests;
