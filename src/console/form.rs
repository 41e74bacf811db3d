//! The offboarding form, first half: choose the client, search the user in its directory, set
//! the options. Every page works without JavaScript: the search is a GET form answered by the
//! server (the matches as radio buttons, and as a `<datalist>` for the browser's own type-ahead
//! on the next search), the options are generated from the settings schema
//! ([`crate::settings::schema`]) and pre-filled with the client's `[defaults]`.
//!
//! Only the clients the person may request for (`Role::Request`) are offered; any other client
//! named in a URL is refused with 403 before its configuration or directory is read. The plan
//! and what follows it are in `form_submit.rs`.
//!
//! Field ids (stable, for people and browser tests): search `client`, `q`, `search`; matches
//! `user-N` (radio, name `user`), `choose`; options `set-<setting>` (name `set.<setting>`),
//! `ticket` (clients with a PSA), `show-plan`.

use std::sync::Arc;

use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use maud::{html, Markup};
use rhai::Dynamic;
use serde::Deserialize;

use super::access::{signed_in_at, SignedIn};
use super::pages::page;
use super::App;
use crate::config::Role;
use crate::service::request::{self, client_settings};
use crate::service::{check_user, RunSpec, Session};
use crate::settings::schema::{Kind, Setting};

/// The clients the person may request offboardings for.
pub(super) fn requestable(app: &App, s: &SignedIn) -> Vec<String> {
    app.clients.iter().filter(|c| app.may(&s.who, Role::Request, c)).cloned().collect()
}

/// A page that refuses: the message, and nothing else done.
pub(super) fn refused(status: StatusCode, s: &SignedIn, title: &str, text: &str) -> Response {
    page(status, title, Some(s), html! { p role="alert" { (text) } p { a href="/offboard" { "Start again" } } })
}

/// Refuse a client the person may not request for (403), as the same answer for a client that
/// does not exist: which clients exist is not told.
pub(super) fn check_client(app: &App, s: &SignedIn, client: &str) -> Result<(), Box<Response>> {
    if app.may(&s.who, Role::Request, client) && app.clients.iter().any(|c| c == client) {
        return Ok(());
    }
    Err(Box::new(refused(StatusCode::FORBIDDEN, s, "Not allowed", &format!("You may not request offboardings for client '{client}'."))))
}

/// Open a service session for the console (off the async workers: it blocks), run `f` on it,
/// close it.
pub(super) async fn with_session<T: Send + 'static>(
    app: &Arc<App>,
    spec: RunSpec,
    f: impl FnOnce(&Session) -> crate::error::Result<T> + Send + 'static,
) -> crate::error::Result<T> {
    let app = app.clone();
    let job = tokio::task::spawn_blocking(move || {
        let session = Session::open_with(&app.home, &app.config, &spec, &app.reuse)?;
        let out = f(&session);
        session.close();
        out
    });
    job.await.unwrap_or_else(|e| Err(crate::error::Error::io("the console's request", std::io::Error::other(e.to_string()))))
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    client: Option<String>,
    q: Option<String>,
}

/// `GET /offboard`: the client and the user search; with `q`, the matches.
pub async fn search(AxState(app): AxState<Arc<App>>, headers: HeaderMap, uri: Uri, Query(f): Query<SearchQuery>) -> Response {
    let s = match signed_in_at(&app, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let clients = requestable(&app, &s);
    if clients.is_empty() {
        return refused(StatusCode::FORBIDDEN, &s, "Not allowed", "You may not request offboardings for any client.");
    }
    let client = f.client.filter(|c| !c.is_empty()).unwrap_or_else(|| clients[0].clone());
    if let Err(r) = check_client(&app, &s, &client) {
        return *r;
    }
    let q = f.q.map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
    let found = match &q {
        None => None,
        Some(text) => {
            let text = text.clone();
            let spec = RunSpec::for_tenant(&client, "default", vec![], None);
            Some(with_session(&app, spec, move |session| request::search_users(session, &text)).await)
        }
    };
    let body = html! {
        form method="get" action="/offboard" role="search" {
            p {
                label for="client" { "Client" }
                " "
                select id="client" name="client" {
                    @for c in &clients { option value=(c) selected[*c == client] { (c) } }
                }
            }
            p {
                label for="q" { "User: the start of the name or UPN" }
                " "
                input id="q" name="q" type="search" value=(q.clone().unwrap_or_default()) list="q-matches" autocomplete="off";
                " "
                button id="search" type="submit" { "Search" }
            }
        }
        @match &found {
            None => {}
            Some(Err(e)) => p role="alert" { "The directory could not be searched: " (e) }
            Some(Ok(list)) if list.users.is_empty() => p role="status" { "No user of " (client) " matches '" (q.clone().unwrap_or_default()) "'." }
            Some(Ok(list)) => {
                datalist id="q-matches" { @for u in &list.users { option value=(u.upn) {} } }
                form method="get" action="/offboard/options" {
                    input type="hidden" name="client" value=(client);
                    fieldset {
                        legend { (list.users.len()) " match" @if list.users.len() != 1 { "es" } ": choose the user to offboard" }
                        @for (i, u) in list.users.iter().enumerate() {
                            p {
                                input type="radio" name="user" id=(format!("user-{i}")) value=(u.upn) required;
                                " "
                                label for=(format!("user-{i}")) {
                                    (u.display_name) " (" (u.upn) ")"
                                    @if !u.account_enabled { " — sign-in already blocked" }
                                }
                            }
                        }
                        @if list.more { p role="status" { "More users match: type more of the name to narrow the list." } }
                    }
                    button id="choose" type="submit" { "Choose" }
                }
            }
        }
    };
    page(StatusCode::OK, "Offboard a user", Some(&s), body)
}

#[derive(Deserialize, Default)]
pub struct OptionsQuery {
    client: Option<String>,
    user: Option<String>,
}

/// One setting's field: a check box for a bool (after a hidden `false`, so an unticked box says
/// false rather than nothing), a number or a text field otherwise; each with its label.
fn field(setting: &Setting, value: &Dynamic) -> Markup {
    let (id, name) = (format!("set-{}", setting.name), format!("set.{}", setting.name));
    let help = format!("{id}-help");
    html! {
        p {
            @match setting.default.kind() {
                Kind::Bool => {
                    input type="hidden" name=(name) value="false";
                    input type="checkbox" id=(id) name=(name) value="true" checked[value.as_bool().unwrap_or(false)] aria-describedby=(help);
                    " "
                    label for=(id) { code { (setting.name) } }
                }
                Kind::Int => {
                    label for=(id) { code { (setting.name) } }
                    " "
                    input type="number" step="1" id=(id) name=(name) value=(value.to_string()) aria-describedby=(help);
                }
                Kind::Str => {
                    label for=(id) { code { (setting.name) } }
                    " "
                    input type="text" id=(id) name=(name) value=(value.to_string()) aria-describedby=(help);
                }
            }
            " "
            small id=(help) { (setting.description) }
        }
    }
}

/// `GET /offboard/options?client=C&user=U`: the options, pre-filled; then "Show plan".
pub async fn options(AxState(app): AxState<Arc<App>>, headers: HeaderMap, uri: Uri, Query(f): Query<OptionsQuery>) -> Response {
    let s = match signed_in_at(&app, &headers, &uri) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let client = f.client.unwrap_or_default();
    if let Err(r) = check_client(&app, &s, &client) {
        return *r;
    }
    let user = f.user.map(|u| u.trim().to_string()).unwrap_or_default();
    let Ok((_, tenant)) = app.config.tenant(Some(&client)) else {
        return refused(StatusCode::NOT_FOUND, &s, "No such client", &format!("Client '{client}' is not configured."));
    };
    if let Err(e) = check_user(tenant, &user) {
        return refused(StatusCode::BAD_REQUEST, &s, "Not a user name", &e.to_string());
    }
    let settings = match client_settings(tenant) {
        Ok(v) => v,
        Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &s, "Configuration error", &e.to_string()),
    };
    let body = html! {
        p { "Offboard " strong { (user) } " of client " strong { (client) } "." }
        form method="post" action="/offboard/plan" {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="client" value=(client);
            input type="hidden" name="user" value=(user);
            fieldset {
                legend { "Options (the client's defaults are filled in)" }
                @for (setting, value) in &settings { (field(setting, value)) }
            }
            @if tenant.psa.is_some() {
                p {
                    label for="ticket" { "PSA ticket number (optional: else a new ticket is opened)" }
                    " "
                    input id="ticket" name="ticket" type="text" inputmode="numeric";
                }
            }
            button id="show-plan" type="submit" { "Show plan" }
        }
    };
    page(StatusCode::OK, "Offboarding options", Some(&s), body)
}
