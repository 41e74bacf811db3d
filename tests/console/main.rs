//! The console's routes over HTTP, signed in through the demo issuer as a browser would be
//! (reqwest with a cookie jar, redirects followed by hand so each hop is checked).

mod api;
mod api_actions;
mod approvals;
mod binary;
mod flow;
mod form;
mod history;
mod restore;

use std::sync::Arc;

use chrono::Utc;
use offboard_host::console::ConsoleServer;
use offboard_host::demo::{DemoConfig, DemoServer, Knobs};
use offboard_host::journal::{Journal, Mode, NewRun, RunStatus, SqliteJournal, StepRecord, StepStatus};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::json;

pub const COOKIE: &str = "offboard_console";

/// A demo tenant with its issuer, a journal holding one run of client `demo` and one of
/// `demo-halo`, and the console on both.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub demo: DemoServer,
    pub console: ConsoleServer,
    pub journal: Arc<SqliteJournal>,
}

pub const RUN_DEMO: &str = "run-demo-0001";
pub const RUN_HALO: &str = "run-halo-0001";

fn seed_run(j: &SqliteJournal, run_id: &str, tenant: &str, user: &str) {
    j.create_run(&NewRun {
        run_id: run_id.into(),
        tenant: tenant.into(),
        user: user.into(),
        script: "default".into(),
        script_hash: "0".repeat(64),
        mode: Mode::Apply,
        options: json!({}),
        started_at: Utc::now(),
    })
    .expect("create run");
    j.record_step(&StepRecord {
        run_id: run_id.into(),
        step_id: "s001".into(),
        phase: "contain".into(),
        action: "disable_account".into(),
        directory: "cloud".into(),
        target_kind: "user".into(),
        target_id: format!("id-{user}"),
        target_display: user.into(),
        subject_id: format!("id-{user}"),
        params: json!({}),
        required: true,
        idempotent: true,
        status: StepStatus::Done,
        detail: format!("disabled {user}"),
        prior: json!({"accountEnabled": true}),
        observed_at: Utc::now(),
    })
    .expect("record step");
    j.finish_run(run_id, RunStatus::Succeeded, &json!({})).expect("finish run");
}

/// The demo tenant (for its issuer) and an empty journal in `dir`.
pub async fn tenant_and_journal(dir: &std::path::Path) -> (DemoServer, Arc<SqliteJournal>) {
    let demo = DemoServer::start(DemoConfig { state_path: dir.join("tenant.json"), knobs: Knobs::default() }, ([127, 0, 0, 1], 0).into())
        .await
        .expect("demo tenant");
    (demo, Arc::new(SqliteJournal::open(&dir.join("journal.db")).expect("journal")))
}

pub async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let (demo, journal) = tenant_and_journal(dir.path()).await;
    seed_run(&journal, RUN_DEMO, "demo", "adele.vance@contoso.test");
    seed_run(&journal, RUN_HALO, "demo-halo", "megan.bowen@contoso.test");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let console = offboard_host::console::demo::start(&demo, journal.clone() as Arc<dyn Journal>, dir.path().to_path_buf(), listener)
        .await
        .expect("console");
    Fixture { _dir: dir, demo, console, journal }
}

/// A browser: its own cookie jar, no automatic redirects.
pub struct Browser {
    pub jar: Arc<Jar>,
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        let jar = Arc::new(Jar::default());
        let http =
            reqwest::Client::builder().cookie_provider(jar.clone()).redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Browser { jar, http }
    }

    /// The console session cookie this browser holds for `base`.
    pub fn session(&self, base: &str) -> Option<String> {
        let url = reqwest::Url::parse(base).expect("url");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|c| c.strip_prefix(&format!("{COOKIE}=")).map(str::to_string)).filter(|v| !v.is_empty())
    }
}

impl Fixture {
    pub fn base(&self) -> String {
        format!("http://{}", self.console.addr())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }
}

/// The `Location` of a redirect.
/// Where an unsigned request for the page `path` is sent: `/login`, keeping the page to come
/// back to (encoded as the console encodes it: RFC 3986's unreserved characters kept).
pub fn login_for(path: &str) -> String {
    const VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    format!("/login?return_to={}", percent_encoding::utf8_percent_encode(path, VALUE))
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("").to_string()
}

/// The value of the page's hidden `csrf` field.
pub fn csrf_of(page: &str) -> Option<String> {
    let at = page.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(page[at..].split('"').next()?.to_string())
}
