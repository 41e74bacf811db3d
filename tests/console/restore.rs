//! Restore from a run's page: the reverse plan, then the restore itself, by the roles allowed.

use super::approvals::{approval_config, fixture_with, LEAVER};
use super::flow::{get, sign_in};
use super::*;
use offboard_host::config::Config;
use offboard_host::journal::RunQuery;
use offboard_host::service::{RunSpec, Session};

/// Offboard `user` in the demo tenant the console's sessions use: the run to restore.
async fn offboard(f: &Fixture, config: &Arc<Config>, user: &str) -> String {
    let (home, config, user) = (f._dir.path().to_path_buf(), config.clone(), user.to_string());
    tokio::task::spawn_blocking(move || {
        let session = Session::open(&home, &config, &RunSpec::from_stored("demo", "default", &json!({}))).expect("session");
        let report = session.run(&user, Mode::Apply).expect("apply");
        session.close();
        assert_eq!(report.status, "succeeded", "{report:?}");
        report.run_id
    })
    .await
    .expect("offboard")
}

#[tokio::test]
async fn a_technician_restores_a_run_from_its_page() {
    let (f, config) = fixture_with(Config::demo()).await;
    let run = offboard(&f, &config, LEAVER).await;
    let alex = Browser::new();
    sign_in(&f, &alex, "staff-tech-a").await;
    let (s, page) = get(&alex, &f.url(&format!("/runs/{run}"))).await;
    assert_eq!(s, 200);
    assert!(page.contains("Restore") && page.contains("Prior state"), "{page}");
    let csrf = csrf_of(&page).expect("csrf");
    // No token, no plan.
    let r = alex.http.post(f.url(&format!("/runs/{run}/restore"))).form(&[("csrf", "x")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = alex.http.post(f.url(&format!("/runs/{run}/restore"))).form(&[("csrf", &csrf)]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let plan = r.text().await.unwrap();
    assert!(plan.contains("Reverse plan") && plan.contains("Put back"), "{plan}");
    let before = f.journal.find_runs(&RunQuery { limit: 50, ..RunQuery::default() }).unwrap();
    let restore_plan = before.iter().find(|r| r.script == format!("restore {run}")).expect("the reverse plan is a journalled run");
    assert_eq!(restore_plan.mode, Mode::Plan);
    let r = alex.http.post(f.url(&format!("/runs/{run}/restore/confirm"))).form(&[("csrf", &csrf)]).send().await.unwrap();
    assert_eq!((r.status().as_u16(), location(&r)), (303, format!("/runs/{run}")));
    let started = std::time::Instant::now();
    let applied = loop {
        let runs = f.journal.find_runs(&RunQuery { limit: 50, mode: Some(Mode::Apply), ..RunQuery::default() }).unwrap();
        if let Some(r) = runs.into_iter().find(|r| r.script == format!("restore {run}") && r.status != RunStatus::Running) {
            break r;
        }
        assert!(started.elapsed().as_secs() < 60, "the restore did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(applied.status, RunStatus::Succeeded);
    // The page says so once the background task is done.
    let (_, page) = get(&alex, &f.url(&format!("/runs/{run}"))).await;
    assert!(page.contains("restore finished") || page.contains("restore is running"), "{page}");
    let audit = f.journal.audit_events(10).unwrap();
    for action in ["restore_plan", "restore"] {
        assert!(
            audit.iter().any(|e| e.action == action && e.email.as_deref() == Some("alex.tech@msp.test") && e.detail["run_id"] == run),
            "{action}"
        );
    }
}

#[tokio::test]
async fn only_requesters_and_admins_of_the_client_may_restore() {
    let (f, _) = fixture_with(Config::demo()).await;
    // The seeded-style run is enough: the refusals come before any plan.
    let journal = f.journal.clone();
    tokio::task::spawn_blocking(move || seed_run(&journal, RUN_DEMO, "demo", LEAVER)).await.unwrap();
    let casey = Browser::new();
    sign_in(&f, &casey, "staff-approver").await;
    let (_, page) = get(&casey, &f.url(&format!("/runs/{RUN_DEMO}"))).await;
    assert!(!page.contains("Restore…"), "an approver sees no restore button");
    let csrf = csrf_of(&page).unwrap();
    let r = casey.http.post(f.url(&format!("/runs/{RUN_DEMO}/restore"))).form(&[("csrf", &csrf)]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let blair = Browser::new();
    sign_in(&f, &blair, "staff-tech-b").await;
    let (_, page) = get(&blair, &f.url("/runs")).await;
    let csrf = csrf_of(&page).unwrap();
    for path in ["restore", "restore/confirm"] {
        let r = blair.http.post(f.url(&format!("/runs/{RUN_DEMO}/{path}"))).form(&[("csrf", &csrf)]).send().await.unwrap();
        assert_eq!(r.status(), 404, "another client's run is not found");
    }
    assert!(f.journal.audit_events(10).unwrap().iter().all(|e| !e.action.starts_with("restore")), "nothing was attempted");
}

#[tokio::test]
async fn a_client_that_requires_approval_has_no_restore() {
    // Restore has no approval step: it would be a way around the client's approval rule.
    let (f, _) = fixture_with(approval_config()).await;
    let journal = f.journal.clone();
    tokio::task::spawn_blocking(move || seed_run(&journal, RUN_DEMO, "demo", LEAVER)).await.unwrap();
    let alex = Browser::new();
    sign_in(&f, &alex, "staff-tech-a").await;
    let (_, page) = get(&alex, &f.url(&format!("/runs/{RUN_DEMO}"))).await;
    assert!(!page.contains("Restore…"), "no button");
    let csrf = csrf_of(&page).unwrap();
    let r = alex.http.post(f.url(&format!("/runs/{RUN_DEMO}/restore"))).form(&[("csrf", &csrf)]).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("requires approval"));
    let runs = f.journal.find_runs(&RunQuery { limit: 50, ..RunQuery::default() }).unwrap();
    assert!(runs.iter().all(|r| !r.script.starts_with("restore")), "no restore run was made");
}
