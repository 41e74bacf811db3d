//! Who is signed in, and which clients they may see.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::session::{cookie_id, same_token, Identity, State};
use super::App;
use crate::config::Role;

/// A request's signed-in session.
pub struct SignedIn {
    pub id: String,
    pub who: Identity,
    pub csrf: String,
}

/// The answer given instead of the page (boxed: a `Response` is large beside the `Ok` side).
pub type Refusal = Box<Response>;

/// The request's signed-in session, or the answer to give instead: a redirect to `/login`.
pub fn signed_in(app: &App, headers: &HeaderMap) -> Result<SignedIn, Refusal> {
    let found = cookie_id(headers).and_then(|id| app.sessions.get(&id).map(|s| (id, s)));
    match found {
        Some((id, s)) => match s.state {
            State::SignedIn(who) => Ok(SignedIn { id, who, csrf: s.csrf }),
            State::Pending { .. } => Err(to_login()),
        },
        None => Err(to_login()),
    }
}

/// [`signed_in`], but an unsigned request is sent to `/login` with `path` to return to after
/// sign-in: every page a person can open by its address (an approval link from an e-mail, a run's
/// page from a ticket, a filtered history); forms' POSTs go to `/login` alone.
pub fn signed_in_at(app: &App, headers: &HeaderMap, path: &axum::http::Uri) -> Result<SignedIn, Refusal> {
    signed_in(app, headers).map_err(|_| {
        let to = super::return_to::login_url(path.path_and_query().map_or("/", |p| p.as_str()));
        Box::new((StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response())
    })
}

fn to_login() -> Refusal {
    Box::new((StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response())
}

/// The form's CSRF token is the session's, or the request is refused (403).
pub fn check_csrf(session: &SignedIn, form_token: Option<&str>) -> Result<(), Refusal> {
    match form_token {
        Some(t) if same_token(t, &session.csrf) => Ok(()),
        _ => Err(Box::new(
            (StatusCode::FORBIDDEN, "the form's CSRF token is missing or wrong: reload the page and try again").into_response(),
        )),
    }
}

impl App {
    /// Whether the person has `role` for `client`.
    pub fn may(&self, who: &Identity, role: Role, client: &str) -> bool {
        self.settings.may(who.email.as_deref(), &who.subject, role, client)
    }

    /// Whether the person may restore runs of `client` (see `console::restore` for why these roles).
    pub fn may_restore(&self, who: &Identity, client: &str) -> bool {
        self.may(who, Role::Request, client) || self.may(who, Role::Admin, client)
    }

    /// The clients whose runs the person may see: those any of their roles covers.
    pub fn visible_clients(&self, who: &Identity) -> Vec<String> {
        self.clients.iter().filter(|c| [Role::Request, Role::Approve, Role::Admin].iter().any(|r| self.may(who, *r, c))).cloned().collect()
    }

    /// Journal a console action with the signed-in identity (off the async workers); the error
    /// is the message to show, and the action must not go ahead without its record.
    pub async fn audit(self: &std::sync::Arc<Self>, who: &Identity, action: &str, detail: serde_json::Value) -> Result<(), String> {
        let event = crate::journal::AuditEvent {
            at: chrono::Utc::now(),
            action: action.into(),
            issuer: who.issuer.clone(),
            subject: who.subject.clone(),
            email: who.email.clone(),
            detail,
        };
        let app = self.clone();
        match tokio::task::spawn_blocking(move || app.journal.record_audit(&event)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("the journal could not record the {action}, so it was not done: {e}")),
            Err(e) => Err(format!("the journal could not record the {action}: {e}")),
        }
    }

    /// The roles the person holds for each client, for the journal and the page header.
    pub fn roles_of(&self, who: &Identity) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for c in &self.clients {
            let roles: Vec<&str> =
                [Role::Request, Role::Approve, Role::Admin].iter().filter(|r| self.may(who, **r, c)).map(|r| r.as_str()).collect();
            if !roles.is_empty() {
                out.insert(c.clone(), serde_json::json!(roles));
            }
        }
        serde_json::Value::Object(out)
    }
}
