//! `/login`, `/auth/callback`, `/logout` and `/signed-out`: the only routes open without a
//! signed-in session.

use std::sync::Arc;

use axum::extract::{Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::access::{check_csrf, signed_in};
use super::pages::message;
use super::return_to;
use super::session::{cookie_id, same_token, set_cookie, State};
use super::App;
use crate::journal::AuditEvent;

fn redirect_with_cookie(to: &str, cookie: axum::http::HeaderValue) -> Response {
    let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    resp
}

#[derive(Deserialize)]
pub struct Login {
    return_to: Option<String>,
}

/// Start a sign-in: whatever session the browser had is dropped, a pending one is made, and
/// the browser is sent to the issuer. `return_to` (a page of this console, nothing else: see
/// `return_to::safe`) is where the callback sends the browser once signed in.
pub async fn login(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Query(q): Query<Login>) -> Response {
    if let Some(old) = cookie_id(&headers) {
        app.sessions.take(&old);
    }
    let start = app.oidc.start();
    let return_to = q.return_to.as_deref().and_then(return_to::safe);
    let Some(id) = app.sessions.create(State::Pending {
        oauth_state: start.oauth_state,
        nonce: start.nonce,
        pkce_verifier: start.pkce_verifier,
        return_to,
    }) else {
        return busy();
    };
    redirect_with_cookie(&start.url, set_cookie(Some(&id), app.secure_cookies))
}

fn busy() -> Response {
    message(StatusCode::SERVICE_UNAVAILABLE, "Sign-in unavailable", "Too many sign-ins are in progress. Try again in a few minutes.")
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The issuer's answer. The pending session is used up whatever happens; on success a new
/// session (new id) is made for the person, and the sign-in is journalled first: a sign-in
/// the journal could not record does not happen.
pub async fn callback(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Query(q): Query<Callback>) -> Response {
    let pending = cookie_id(&headers).and_then(|id| app.sessions.take(&id));
    let Some(State::Pending { oauth_state, nonce, pkce_verifier, return_to }) = pending.map(|s| s.state) else {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "No sign-in was started in this browser (or it took too long). Start again.",
        );
    };
    if !q.state.as_deref().is_some_and(|s| same_token(s, &oauth_state)) {
        return message(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The answer does not belong to the sign-in started here (state mismatch).",
        );
    }
    if let Some(e) = q.error {
        let why = q.error_description.unwrap_or_default();
        return message(StatusCode::UNAUTHORIZED, "Sign-in refused", &format!("The issuer refused the sign-in: {e} {why}"));
    }
    let Some(code) = q.code else {
        return message(StatusCode::BAD_REQUEST, "Sign-in failed", "The issuer's answer has no code.");
    };
    let who = match app.oidc.finish(&code, &pkce_verifier, &nonce).await {
        Ok(who) => who,
        Err(e) => return message(StatusCode::UNAUTHORIZED, "Sign-in refused", &e),
    };
    let roles = app.roles_of(&who);
    let allowed = roles.as_object().is_some_and(|r| !r.is_empty());
    let event = AuditEvent {
        at: chrono::Utc::now(),
        action: if allowed { "sign_in" } else { "sign_in_refused" }.into(),
        issuer: who.issuer.clone(),
        subject: who.subject.clone(),
        email: who.email.clone(),
        detail: serde_json::json!({ "name": who.name, "roles": roles }),
    };
    if let Err(e) = app.journal.record_audit(&event) {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in not recorded",
            &format!("The journal could not record the sign-in, so it was not completed: {e}"),
        );
    }
    if !allowed {
        return message(StatusCode::FORBIDDEN, "No access", &format!("{} has no role in this console. Ask an administrator.", who.label()));
    }
    let Some(id) = app.sessions.create(State::SignedIn(who)) else {
        return busy();
    };
    // Checked again on the way out: only a path of this console, whatever was stored.
    let to = return_to.as_deref().and_then(return_to::safe).unwrap_or_else(|| "/runs".into());
    redirect_with_cookie(&to, set_cookie(Some(&id), app.secure_cookies))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// Sign out (a form post with the session's CSRF token).
pub async fn logout(AxState(app): AxState<Arc<App>>, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    let session = match signed_in(&app, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(r) = check_csrf(&session, f.csrf.as_deref()) {
        return *r;
    }
    app.sessions.take(&session.id);
    redirect_with_cookie("/signed-out", set_cookie(None, app.secure_cookies))
}

pub async fn signed_out() -> Response {
    message(StatusCode::OK, "Signed out", "You are signed out.")
}
