//! `GET /oidc/authorize` (the sign-in page) and `POST /oidc/authorize` (a staff member picked:
//! a code is issued and the browser sent back to the client).
//!
//! Both check the whole request: an unknown client or a `redirect_uri` that is not registered
//! exactly gets an error page and never a redirect (RFC 6749 §4.1.2.1: the issuer must not send
//! the browser to an address it has not verified); any other fault is sent back to the client as
//! `error=` on its redirect URI, with the `state` it gave.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use maud::{html, DOCTYPE};
use serde::Deserialize;

use super::{lock, random_token, Grant, Issuer, DEMO_STAFF};

/// The authorization request's parameters (query on GET, form fields on POST).
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuthRequest {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// POST only: the `sub` of the staff member picked on the page.
    staff: Option<String>,
}

/// A checked request: what the code will be bound to.
struct Valid {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
}

enum Refusal {
    /// Shown to the user; the client's redirect URI is not trusted.
    Page(String),
    /// Sent back to the client on its (verified) redirect URI.
    Redirect { uri: String, error: &'static str, description: String, state: Option<String> },
}

fn check(issuer: &Issuer, r: &AuthRequest) -> Result<Valid, Refusal> {
    let Some(client_id) = r.client_id.clone() else {
        return Err(Refusal::Page("the request has no client_id".into()));
    };
    let Some(redirect_uri) = r.redirect_uri.clone() else {
        return Err(Refusal::Page("the request has no redirect_uri".into()));
    };
    if issuer.client_secret(&client_id).is_none() {
        return Err(Refusal::Page(format!("no application with client id '{client_id}' is registered")));
    }
    if !issuer.redirect_allowed(&client_id, &redirect_uri) {
        return Err(Refusal::Page(format!("the redirect URI '{redirect_uri}' is not registered for this application")));
    }
    let back = |error: &'static str, description: &str| Refusal::Redirect {
        uri: redirect_uri.clone(),
        error,
        description: description.to_string(),
        state: r.state.clone(),
    };
    if r.response_type.as_deref() != Some("code") {
        return Err(back("unsupported_response_type", "only the authorization code flow (response_type=code) is supported"));
    }
    if !r.scope.as_deref().unwrap_or("").split(' ').any(|s| s == "openid") {
        return Err(back("invalid_scope", "the scope must include openid"));
    }
    let Some(state) = r.state.clone().filter(|s| !s.is_empty()) else {
        return Err(back("invalid_request", "state is required"));
    };
    let Some(nonce) = r.nonce.clone().filter(|s| !s.is_empty()) else {
        return Err(back("invalid_request", "nonce is required"));
    };
    let Some(code_challenge) = r.code_challenge.clone().filter(|s| !s.is_empty()) else {
        return Err(back("invalid_request", "PKCE is required: code_challenge is missing"));
    };
    if r.code_challenge_method.as_deref() != Some("S256") {
        return Err(back("invalid_request", "PKCE code_challenge_method must be S256"));
    }
    Ok(Valid { client_id, redirect_uri, state, nonce, code_challenge })
}

fn refuse(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(msg) => {
            (StatusCode::BAD_REQUEST, Html(layout("Sign-in refused", html! { p role="alert" { (msg) } }).0)).into_response()
        }
        Refusal::Redirect { uri, error, description, state } => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("error", error).append_pair("error_description", &description);
            if let Some(s) = state {
                query.append_pair("state", &s);
            }
            redirect(&uri, &query.finish())
        }
    }
}

fn redirect(uri: &str, query: &str) -> Response {
    let sep = if uri.contains('?') { '&' } else { '?' };
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("{uri}{sep}{query}"))]).into_response()
}

fn layout(title: &str, body: maud::Markup) -> maud::Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) " — demo MSP sign-in" } }
            body { main { h1 { (title) } (body) } }
        }
    }
}

/// The sign-in page: the request's parameters carried in hidden fields, one radio button per
/// staff member.
pub(super) async fn page(State(issuer): State<Arc<Issuer>>, Query(r): Query<AuthRequest>) -> Response {
    if let Err(refusal) = check(&issuer, &r) {
        return refuse(refusal);
    }
    let hidden = [
        ("response_type", &r.response_type),
        ("client_id", &r.client_id),
        ("redirect_uri", &r.redirect_uri),
        ("scope", &r.scope),
        ("state", &r.state),
        ("nonce", &r.nonce),
        ("code_challenge", &r.code_challenge),
        ("code_challenge_method", &r.code_challenge_method),
    ];
    let body = html! {
        p { "Demo MSP staff. There are no passwords in the demo: pick who you are." }
        form method="post" action="authorize" {
            @for (name, value) in hidden {
                input type="hidden" name=(name) value=(value.as_deref().unwrap_or(""));
            }
            fieldset {
                legend { "Sign in as" }
                @for (i, s) in DEMO_STAFF.iter().enumerate() {
                    div {
                        input type="radio" name="staff" id=(format!("staff-{i}")) value=(s.sub) required;
                        label for=(format!("staff-{i}")) { (s.name) " <" (s.email) "> — " (s.role) }
                    }
                }
            }
            button type="submit" { "Sign in" }
        }
    };
    Html(layout("Sign in", body).0).into_response()
}

/// The form post: check everything again (the form is only a carrier), bind a code to the
/// client, the redirect URI, the PKCE challenge, the nonce and the person, and send it back.
pub(super) async fn choose(State(issuer): State<Arc<Issuer>>, Form(r): Form<AuthRequest>) -> Response {
    let valid = match check(&issuer, &r) {
        Ok(v) => v,
        Err(refusal) => return refuse(refusal),
    };
    let Some(staff) = DEMO_STAFF.iter().find(|s| Some(s.sub) == r.staff.as_deref()) else {
        return refuse(Refusal::Redirect {
            uri: valid.redirect_uri,
            error: "access_denied",
            description: "no such staff member".into(),
            state: Some(valid.state),
        });
    };
    let code = random_token();
    lock(&issuer.grants).insert(
        code.clone(),
        Grant {
            client_id: valid.client_id,
            redirect_uri: valid.redirect_uri.clone(),
            code_challenge: valid.code_challenge,
            nonce: valid.nonce,
            staff: *staff,
            issued: Instant::now(),
            used: false,
        },
    );
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("code", &code).append_pair("state", &valid.state).finish();
    redirect(&valid.redirect_uri, &query)
}
