//! Approval requests in the console: the e-mail's link through sign-in, four eyes, expiry,
//! rejection, another client's approver, open redirects.

use super::flow::{get, sign_in, to_callback_from};
use super::*;
use chrono::Duration;
use offboard_host::config::{ApprovalSettings, Config, Role, RoleGrant};
use offboard_host::journal::{Transition, WorkItem, WorkKind, WorkflowJournal};
use offboard_host::service::{approval, RunSpec, Session};
use offboard_host::workflow::planned_steps;

pub const LEAVER: &str = offboard_host::demo::ids::LEAVER_CLOUD_UPN;

/// The demo configuration with approval required for client `demo`.
pub fn approval_config() -> Config {
    let mut c = Config::demo();
    c.tenants.get_mut("demo").expect("demo").approval = Some(ApprovalSettings {
        approvers: vec!["casey.approver@msp.test".into(), "blair.tech@msp.test".into()],
        expiry_hours: 24,
        email: false,
    });
    c
}

/// The console on `config`, with the demo roles plus Blair approving for `demo-halo` only
/// (Blair is a listed approver of `demo` in the client's configuration, not in the console).
pub async fn fixture_with(config: Config) -> (Fixture, Arc<Config>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (demo, journal) = tenant_and_journal(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let mut settings = offboard_host::console::demo::demo_settings(demo.oidc().url(), &format!("http://{addr}"), addr);
    settings.allow.push(RoleGrant {
        who: vec!["blair.tech@msp.test".into()],
        roles: vec![Role::Approve],
        clients: vec!["demo-halo".into()],
    });
    demo.oidc().register_redirect_uri(&settings.redirect_uri());
    let config = Arc::new(config);
    let cfg = offboard_host::console::ConsoleConfig {
        settings,
        secret: offboard_host::secret::Secret::new(offboard_host::demo::oidc::DEMO_CONSOLE_CLIENT_SECRET),
        clients: config.tenants.keys().cloned().collect(),
        journal: journal.clone() as Arc<dyn Journal>,
        config: config.clone(),
        home: dir.path().to_path_buf(),
        // The sessions start their own demo tenant on the home's state, as `request` below does.
        demo: None,
    };
    let console = ConsoleServer::start(cfg, listener).await.expect("console");
    (Fixture { _dir: dir, demo, console, journal }, config)
}

/// A request to offboard `user` in `demo`, made by `requester` (a console principal), as the
/// console's form records it: planned on the demo tenant, expiring `expires_in` from now.
async fn request(f: &Fixture, config: &Arc<Config>, user: &str, requester: &str, expires_in: Duration) -> String {
    let (home, config, user, requester) = (f._dir.path().to_path_buf(), config.clone(), user.to_string(), requester.to_string());
    tokio::task::spawn_blocking(move || {
        let spec = RunSpec::from_stored("demo", "default", &json!({}));
        let session = Session::open(&home, &config, &spec).expect("session");
        let plan = session.run(&user, Mode::Plan).expect("plan");
        let steps = planned_steps(&plan, &*session.journal).expect("steps");
        assert!(!steps.is_empty(), "something to approve");
        let settings = session.tenant.approval.clone().expect("approval");
        let item = WorkItem {
            policy: Some(approval::policy_of("demo", &session.tenant, &settings)),
            requested_by: Some(requester),
            ..session.pending_item(WorkKind::Approval, &plan.run_id, &user, spec.options(), steps, Utc::now() + expires_in)
        };
        session.journal.work_add(&item).expect("add");
        session.close();
        plan.run_id
    })
    .await
    .expect("request")
}

async fn post(b: &Browser, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = b.http.post(url).form(form).send().await.expect("post");
    let status = r.status().as_u16();
    let text = if status == 303 { location(&r) } else { r.text().await.unwrap() };
    (status, text)
}

/// The page at `path`, signed in, with its CSRF token.
async fn page_and_csrf(f: &Fixture, b: &Browser, path: &str) -> (String, String) {
    let (s, page) = get(b, &f.url(path)).await;
    assert_eq!(s, 200, "{path}: {page}");
    let csrf = csrf_of(&page).expect("csrf");
    (page, csrf)
}

/// The item once the background apply has carried it out (the journal says `applied`).
async fn applied(f: &Fixture, id: &str) -> WorkItem {
    let started = std::time::Instant::now();
    loop {
        let i = item(f, id);
        if i.status == "applied" {
            return i;
        }
        assert!(started.elapsed().as_secs() < 60, "still {} ({:?})", i.status, i.note);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn item(f: &Fixture, id: &str) -> WorkItem {
    f.journal.work_get(id).expect("read").expect("item")
}

#[tokio::test]
async fn the_mail_link_signs_the_approver_in_and_the_approved_run_is_carried_out() {
    let (f, config) = fixture_with(approval_config()).await;
    let id = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::hours(1)).await;
    assert!(config.console.is_none(), "no [console] in this configuration: no link in the mail");
    assert_eq!(approval::link(None, &id), None);
    let casey = Browser::new();
    // The link, unsigned: to /login, keeping where to return.
    let (s, to) = get(&casey, &f.url(&format!("/approvals/{id}"))).await;
    assert_eq!((s, to.clone()), (303, format!("/login?return_to=%2Fapprovals%2F{id}")));
    let callback = to_callback_from(&f.url(&to), &f, &casey, "staff-approver").await;
    let r = casey.http.get(callback).send().await.expect("callback");
    assert_eq!((r.status().as_u16(), location(&r)), (303, format!("/approvals/{id}")), "back to the link's page");
    let (page, csrf) = page_and_csrf(&f, &casey, &format!("/approvals/{id}")).await;
    let recorded = item(&f, &id);
    for p in &recorded.plan {
        assert!(page.contains(&p.action) && page.contains(&p.target_id), "the exact plan: {} {}", p.action, p.target_id);
    }
    for want in [recorded.script_hash.as_str(), "console:alex.tech@msp.test", "Approve and run", "for=\"reason\""] {
        assert!(page.contains(want), "{want}");
    }
    // No token, no decision.
    assert_eq!(post(&casey, &f.url(&format!("/approvals/{id}/approve")), &[]).await.0, 403);
    assert_eq!(item(&f, &id).status, "pending");
    let (s, to) = post(&casey, &f.url(&format!("/approvals/{id}/approve")), &[("csrf", &csrf)]).await;
    assert_eq!((s, to), (303, format!("/runs/{id}")));
    // Carried out in the background: wait for the journal to say so.
    let done = applied(&f, &id).await;
    assert_eq!(
        (done.decided_by.as_deref(), done.decided_os.as_deref()),
        (Some("casey.approver@msp.test"), Some("console:casey.approver@msp.test"))
    );
    let applied = done.applied_run_id.expect("applied run");
    let run = f.journal.get_run(&applied).unwrap().expect("apply run");
    assert_eq!((run.summary.mode, run.summary.status), (Mode::Apply, RunStatus::Succeeded));
    let (s, page) = get(&casey, &f.url(&format!("/runs/{id}"))).await;
    assert!(s == 200 && page.contains(&applied), "the run page links the applied run");
    let audit = f.journal.audit_events(10).unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "approve" && e.email.as_deref() == Some("casey.approver@msp.test") && e.detail["run_id"] == id));
    // Decided once.
    let (s, _) = post(&casey, &f.url(&format!("/approvals/{id}/approve")), &[("csrf", &csrf)]).await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn the_requester_cannot_approve_and_an_expired_request_cannot_be_approved() {
    let (f, config) = fixture_with(approval_config()).await;
    let own = request(&f, &config, LEAVER, "console:casey.approver@msp.test", Duration::hours(1)).await;
    let old = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::seconds(-1)).await;
    let casey = Browser::new();
    sign_in(&f, &casey, "staff-approver").await;
    let (page, csrf) = page_and_csrf(&f, &casey, &format!("/approvals/{own}")).await;
    assert!(!page.contains("Approve and run") && page.contains("four eyes"), "no approve button for one's own request");
    let (s, why) = post(&casey, &f.url(&format!("/approvals/{own}/approve")), &[("csrf", &csrf)]).await;
    assert!(s == 403 && why.contains("someone else must approve it"), "{s} {why}");
    assert_eq!(item(&f, &own).status, "pending");
    let audit = f.journal.audit_events(10).unwrap();
    assert!(audit.iter().any(|e| e.action == "approve_refused" && e.detail["run_id"] == own), "the refusal is journalled");
    let (page, _) = page_and_csrf(&f, &casey, &format!("/approvals/{old}")).await;
    assert!(page.contains("expired") && !page.contains("Approve and run"), "shown as expired");
    let (s, why) = post(&casey, &f.url(&format!("/approvals/{old}/approve")), &[("csrf", &csrf)]).await;
    assert!(s == 403 && why.contains("expired"), "{s} {why}");
    assert_eq!(item(&f, &old).status, "expired");
    // The list shows what waits (pending), expired ones marked.
    let (_, list) = get(&casey, &f.url("/approvals")).await;
    assert!(list.contains(&own) && !list.contains(&old), "{list}");
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_records_it() {
    let (f, config) = fixture_with(approval_config()).await;
    let id = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::hours(1)).await;
    let casey = Browser::new();
    sign_in(&f, &casey, "staff-approver").await;
    let (_, csrf) = page_and_csrf(&f, &casey, &format!("/approvals/{id}")).await;
    let url = f.url(&format!("/approvals/{id}/reject"));
    let (s, why) = post(&casey, &url, &[("csrf", &csrf), ("reason", "  ")]).await;
    assert!(s == 403 && why.contains("needs a reason"), "{s} {why}");
    let (s, to) = post(&casey, &url, &[("csrf", &csrf), ("reason", "wrong user: she stays")]).await;
    assert_eq!((s, to), (303, format!("/runs/{id}")));
    let i = item(&f, &id);
    assert_eq!((i.status.as_str(), i.reason.as_deref()), ("rejected", Some("wrong user: she stays")));
    assert!(i.applied_run_id.is_none());
    let (_, page) = get(&casey, &f.url(&format!("/approvals/{id}"))).await;
    assert!(page.contains("wrong user: she stays") && !page.contains("Approve and run"));
    assert!(f.journal.audit_events(10).unwrap().iter().any(|e| e.action == "reject" && e.detail["reason"] == "wrong user: she stays"));
}

#[tokio::test]
async fn an_approver_of_another_client_is_refused() {
    let (f, config) = fixture_with(approval_config()).await;
    let id = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::hours(1)).await;
    // Blair is in demo's [approval] list, but the console lets Blair approve for demo-halo only.
    let blair = Browser::new();
    sign_in(&f, &blair, "staff-tech-b").await;
    let (s, _) = get(&blair, &f.url(&format!("/approvals/{id}"))).await;
    assert_eq!(s, 404, "another client's request is not shown");
    let (_, list) = get(&blair, &f.url("/approvals")).await;
    assert!(!list.contains(&id));
    let (_, csrf) = page_and_csrf(&f, &blair, "/runs").await;
    let (s, _) = post(&blair, &f.url(&format!("/approvals/{id}/approve")), &[("csrf", &csrf)]).await;
    assert_eq!(s, 404);
    // Alex sees client demo (Request role) but may not decide.
    let alex = Browser::new();
    sign_in(&f, &alex, "staff-tech-a").await;
    let (page, csrf) = page_and_csrf(&f, &alex, &format!("/approvals/{id}")).await;
    assert!(!page.contains("Approve and run"));
    let (s, why) = post(&alex, &f.url(&format!("/approvals/{id}/approve")), &[("csrf", &csrf)]).await;
    assert!(s == 403 && why.contains("no approver role"), "{s} {why}");
    assert_eq!(item(&f, &id).status, "pending");
}

#[tokio::test]
async fn the_approvers_list_and_the_console_role_must_both_allow() {
    // Dana is no approver in the console; Casey has the role but is not in demo's list here.
    let mut config = approval_config();
    config.tenants.get_mut("demo").unwrap().approval.as_mut().unwrap().approvers = vec!["someone.else@msp.test".into()];
    let (f, config) = fixture_with(config).await;
    let id = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::hours(1)).await;
    let casey = Browser::new();
    sign_in(&f, &casey, "staff-approver").await;
    let (_, csrf) = page_and_csrf(&f, &casey, &format!("/approvals/{id}")).await;
    let (s, why) = post(&casey, &f.url(&format!("/approvals/{id}/approve")), &[("csrf", &csrf)]).await;
    assert!(s == 403 && why.contains("is not an approver"), "{s} {why}");
    assert_eq!(item(&f, &id).status, "pending");
}

#[tokio::test]
async fn sign_in_returns_only_to_a_page_of_the_console() {
    let (f, _) = fixture_with(approval_config()).await;
    for evil in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%252F%252Fevil.example",
        "/%09/evil.example",
        "javascript:alert(1)",
    ] {
        let b = Browser::new();
        let login =
            format!("{}?return_to={}", f.url("/login"), percent_encoding::utf8_percent_encode(evil, percent_encoding::NON_ALPHANUMERIC));
        let callback = to_callback_from(&login, &f, &b, "staff-approver").await;
        let r = b.http.get(callback).send().await.expect("callback");
        assert_eq!((r.status().as_u16(), location(&r)), (303, "/runs".to_string()), "{evil}");
    }
}

#[tokio::test]
async fn an_approved_plan_that_changed_meanwhile_is_not_applied() {
    let (f, config) = fixture_with(approval_config()).await;
    let id = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::hours(1)).await;
    // Meanwhile someone offboards the user another way: the plan is no longer the one to approve.
    let (home, cfg) = (f._dir.path().to_path_buf(), config.clone());
    tokio::task::spawn_blocking(move || {
        let s = Session::open(&home, &cfg, &RunSpec::from_stored("demo", "default", &json!({}))).expect("session");
        assert_eq!(s.run(LEAVER, Mode::Apply).expect("apply").status, "succeeded");
        s.close();
    })
    .await
    .unwrap();
    let casey = Browser::new();
    sign_in(&f, &casey, "staff-approver").await;
    let (_, csrf) = page_and_csrf(&f, &casey, &format!("/approvals/{id}")).await;
    let (s, _) = post(&casey, &f.url(&format!("/approvals/{id}/approve")), &[("csrf", &csrf)]).await;
    assert_eq!(s, 303);
    let started = std::time::Instant::now();
    let page = loop {
        let (_, page) = get(&casey, &f.url(&format!("/runs/{id}"))).await;
        if page.contains("did not complete") {
            break page;
        }
        assert!(started.elapsed().as_secs() < 60, "{page}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(page.contains("the plan changed since it was approved"), "{page}");
    let i = item(&f, &id);
    assert_eq!((i.status.as_str(), i.applied_run_id.as_deref()), ("approved", None), "approved, not applied");
    let (page, _) = page_and_csrf(&f, &casey, &format!("/approvals/{id}")).await;
    assert!(page.contains("Run the approved plan"), "another try is offered");
}

#[tokio::test]
async fn the_approval_routes_require_sign_in() {
    let (f, config) = fixture_with(approval_config()).await;
    let id = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::hours(1)).await;
    let b = Browser::new();
    assert_eq!(get(&b, &f.url("/approvals")).await, (303, "/login?return_to=%2Fapprovals".to_string()));
    for action in ["approve", "reject", "apply"] {
        let (s, to) = post(&b, &f.url(&format!("/approvals/{id}/{action}")), &[("csrf", "x"), ("reason", "r")]).await;
        assert_eq!((s, to.as_str()), (303, "/login"), "{action}");
    }
    for path in [format!("/runs/{id}/restore"), format!("/runs/{id}/restore/confirm")] {
        assert_eq!(post(&b, &f.url(&path), &[("csrf", "x")]).await, (303, "/login".to_string()), "{path}");
    }
    assert_eq!(item(&f, &id).status, "pending");
}

/// An approved apply whose process stopped part-way (the console restarted mid-run): the
/// approval page says so, and an approver continues it from there.
#[tokio::test]
async fn an_interrupted_approved_apply_is_continued_from_the_approval_page() {
    let (f, config) = fixture_with(approval_config()).await;
    let id = request(&f, &config, LEAVER, "console:alex.tech@msp.test", Duration::hours(1)).await;
    let decided = Transition { decided_by: Some("casey.approver@msp.test"), ..Default::default() };
    assert!(f.journal.work_transition(&id, "pending", "approved", &decided).unwrap());
    assert!(f.journal.work_transition(&id, "approved", "applying", &Transition::default()).unwrap());
    // The run its process had begun: never finished, its lock not held, so interrupted.
    f.journal
        .create_run(&NewRun {
            run_id: "run-interrupted".into(),
            tenant: "demo".into(),
            user: LEAVER.into(),
            script: "default".into(),
            script_hash: item(&f, &id).script_hash,
            mode: Mode::Apply,
            options: json!({"work_item": id}),
            started_at: Utc::now(),
        })
        .unwrap();
    let casey = Browser::new();
    sign_in(&f, &casey, "staff-approver").await;
    let (page, csrf) = page_and_csrf(&f, &casey, &format!("/approvals/{id}")).await;
    assert!(page.contains("The apply stopped part-way") && page.contains("run-interrupted"), "{page}");
    assert!(page.contains("Continue the approved run"), "{page}");
    let (s, to) = post(&casey, &f.url(&format!("/approvals/{id}/apply")), &[("csrf", &csrf)]).await;
    assert_eq!((s, to), (303, format!("/runs/{id}")));
    let done = applied(&f, &id).await;
    let applied = done.applied_run_id.expect("applied run");
    assert_ne!(applied, "run-interrupted");
    let run = f.journal.get_run(&applied).unwrap().expect("apply run");
    assert_eq!((run.summary.mode, run.summary.status), (Mode::Apply, RunStatus::Succeeded));
    let (_, page) = get(&casey, &f.url(&format!("/approvals/{id}"))).await;
    assert!(!page.contains("Continue the approved run"), "{page}");
}
