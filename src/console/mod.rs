//! The MSP console (`offboard-host serve`): staff sign in with OpenID Connect and see, for the
//! clients their roles cover, the runs in the journal.
//!
//! Layout: `oidc` talks to the issuer (authorization code + PKCE, ID token verification),
//! `session` holds the sessions, their cookie and CSRF tokens, `signin` the login, callback and
//! logout routes, `pages` the server-rendered pages (maud) behind sign-in, `access` who may see
//! which client (from `[console]` in the configuration: [`crate::config::ConsoleSettings`]),
//! `form` and `form_submit` the offboarding form (client, user search, options, plan, then apply,
//! schedule or send for approval through [`crate::service::request`]).
//! `approvals` lists and decides approval requests (the e-mail's link lands there, through
//! sign-in: `return_to`), `restore` puts back a run from its page, `tasks` follows the runs
//! those start in the background.
//!
//! Every route but the sign-in flow (`/login`, `/auth/callback`, `/signed-out`) and the JSON API
//! (`api`: `/api/v1`, with API tokens instead of sign-in) requires a signed-in session; without
//! one a request is sent to `/login`. Every sign-in is journalled
//! with the identity ([`crate::journal::Journal::record_audit`]).

mod access;
mod api;
mod approvals;
pub mod demo;
mod form;
mod form_submit;
mod oidc;
mod pages;
mod restore;
mod return_to;
pub mod session;
mod signin;
mod tasks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::config::ConsoleSettings;
use crate::journal::Journal;
use crate::secret::Secret;

pub use oidc::verify;

/// What the console needs to run.
pub struct ConsoleConfig {
    pub settings: ConsoleSettings,
    pub secret: Secret,
    /// The configured clients (tenant names), in order.
    pub clients: Vec<String>,
    pub journal: Arc<dyn Journal>,
    /// The configuration the clients come from: the console plans and requests runs with it
    /// through [`crate::service::Session`], as the CLI does.
    pub config: Arc<crate::config::Config>,
    /// The home directory (the demo tenant's state, a local journal).
    pub home: std::path::PathBuf,
    /// The demo tenant this process runs (`serve --demo`): the console's sessions reach it
    /// rather than start a second server on the same state file.
    pub demo: Option<SocketAddr>,
}

/// The state every handler shares.
struct App {
    settings: ConsoleSettings,
    clients: Vec<String>,
    journal: Arc<dyn Journal>,
    /// What the service layer plans, requests, approves and restores with.
    config: Arc<crate::config::Config>,
    home: std::path::PathBuf,
    /// What the console's sessions share with it: its journal, the demo tenant.
    reuse: crate::service::Reuse,
    /// Runs started in the background (an approved run, a restore), by the page that shows them.
    tasks: tasks::Tasks,
    oidc: oidc::Oidc,
    sessions: session::Sessions,
    /// Secure cookies: whenever the public URL is https (see `session` for the loopback case).
    secure_cookies: bool,
}

/// On every answer: no framing (clickjacking), no script or style from anywhere (the pages
/// have none), no content sniffing, and no referrer (the callback's URL holds a code).
async fn security_headers(mut resp: axum::response::Response) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

/// A running console.
pub struct ConsoleServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ConsoleServer {
    /// Discover the issuer, then serve on `listener` (bound by the caller, who may need its
    /// address for the public URL first).
    pub async fn start(cfg: ConsoleConfig, listener: tokio::net::TcpListener) -> Result<ConsoleServer, String> {
        let addr = listener.local_addr().map_err(|e| format!("the console's address: {e}"))?;
        let s = &cfg.settings;
        let oidc = oidc::Oidc::discover(&s.issuer_url, &s.client_id, cfg.secret, &s.redirect_uri()).await?;
        let secure_cookies = s.public_url.trim_start().to_ascii_lowercase().starts_with("https://");
        let sessions = session::Sessions::in_journal(cfg.journal.clone());
        let app = Arc::new(App {
            settings: cfg.settings,
            clients: cfg.clients,
            reuse: crate::service::Reuse { journal: Some(cfg.journal.clone()), demo: cfg.demo, pacer: None },
            journal: cfg.journal,
            config: cfg.config,
            home: cfg.home,
            oidc,
            sessions,
            tasks: tasks::Tasks::default(),
            secure_cookies,
        });
        let router = Router::new()
            .route("/login", get(signin::login))
            .route("/auth/callback", get(signin::callback))
            .route("/signed-out", get(signin::signed_out))
            .route("/logout", post(signin::logout))
            .route("/", get(pages::home))
            .route("/runs", get(pages::runs))
            .route("/runs/{id}", get(pages::run))
            .route("/offboard", get(form::search))
            .route("/offboard/options", get(form::options))
            .route("/offboard/plan", post(form_submit::plan))
            .route("/offboard/submit", post(form_submit::submit))
            .route("/offboard/requested/{id}", get(form_submit::requested))
            .route("/runs/{id}/restore", post(restore::plan))
            .route("/runs/{id}/restore/confirm", post(restore::confirm))
            .route("/approvals", get(approvals::list))
            .route("/approvals/{id}", get(approvals::show))
            .route("/approvals/{id}/approve", post(approvals::approve))
            .route("/approvals/{id}/reject", post(approvals::reject))
            .route("/approvals/{id}/apply", post(approvals::apply))
            .merge(api::router())
            .fallback(pages::not_found)
            .layer(axum::middleware::map_response(security_headers))
            .with_state(app);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!("console: server stopped: {e}");
            }
        });
        Ok(ConsoleServer { addr, stop: Some(stop_tx), task: Some(task) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop serving, waiting briefly for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.task.take() {
            let abort = t.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(3), t).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for ConsoleServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
