//! The runs history's filters and the run page's details.

use super::flow::{get, sign_in};
use super::*;

#[tokio::test]
async fn the_history_filters_by_user_text_date_range_and_status() {
    let f = fixture().await;
    // An older run of client demo, ten days ago, of another user.
    let old = Utc::now() - chrono::Duration::days(10);
    f.journal
        .create_run(&NewRun {
            run_id: "run-demo-old".into(),
            tenant: "demo".into(),
            user: "lee.gu@contoso.test".into(),
            script: "default".into(),
            script_hash: "0".repeat(64),
            mode: Mode::Plan,
            options: json!({}),
            started_at: old,
        })
        .unwrap();
    f.journal.finish_run("run-demo-old", RunStatus::Planned, &json!({})).unwrap();
    let alex = Browser::new();
    sign_in(&f, &alex, "staff-tech-a").await;
    let day = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let (today, old_day) = (day(Utc::now()), day(old));
    let cases: Vec<(String, bool, bool)> = vec![
        (String::new(), true, true),
        ("user=ADELE".into(), true, false),
        ("user=vance%40contoso".into(), true, false),
        ("user=%25".into(), false, false),
        ("user=nobody".into(), false, false),
        (format!("from={today}"), true, false),
        (format!("to={old_day}"), false, true),
        (format!("from={old_day}&to={old_day}"), false, true),
        (format!("from={old_day}&to={today}"), true, true),
        ("status=planned".into(), false, true),
        ("status=succeeded&user=lee".into(), false, false),
        ("client=demo&from=not-a-date".into(), true, true),
    ];
    for (query, recent, older) in cases {
        let (s, page) = get(&alex, &f.url(&format!("/runs?{query}"))).await;
        assert_eq!(s, 200, "{query}");
        assert_eq!((page.contains(RUN_DEMO), page.contains("run-demo-old")), (recent, older), "{query}");
        assert!(!page.contains(RUN_HALO), "{query}: never another client's");
    }
    let (_, page) = get(&alex, &f.url("/runs")).await;
    for (id, name) in [("f-client", "client"), ("f-user", "user"), ("f-status", "status"), ("f-from", "from"), ("f-to", "to")] {
        assert!(page.contains(&format!("label for=\"{id}\"")) && page.contains(&format!("id=\"{id}\" name=\"{name}\"")), "{id}");
    }
}

#[tokio::test]
async fn the_run_page_shows_results_prior_state_and_ticket() {
    let f = fixture().await;
    f.journal.set_run_ticket(RUN_DEMO, "4711").unwrap();
    let alex = Browser::new();
    sign_in(&f, &alex, "staff-tech-a").await;
    let (s, page) = get(&alex, &f.url(&format!("/runs/{RUN_DEMO}"))).await;
    assert_eq!(s, 200);
    for want in ["PSA ticket", "4711", "Prior state", "accountEnabled", "disabled adele.vance@contoso.test"] {
        assert!(page.contains(want), "{want}: {page}");
    }
}

#[tokio::test]
async fn the_ticket_links_into_the_psa_where_its_address_form_is_configured() {
    let mut config = offboard_host::config::Config::demo();
    // The run page reads the client's [psa] section (the demo's PSA comes with the session, not
    // the configuration): give `demo` one with the address form of its tickets.
    let psa = "kind = \"connectwise\"\ncompany = \"250\"\nsecret_env = \"X\"\nticket_url = \"https://psa.example/ticket?id={ticket}\"";
    config.tenants.get_mut("demo").expect("demo").psa = Some(toml::from_str(psa).expect("a [psa] section"));
    let (f, _) = super::approvals::fixture_with(config).await;
    let journal = f.journal.clone();
    tokio::task::spawn_blocking(move || {
        seed_run(&journal, RUN_DEMO, "demo", "adele.vance@contoso.test");
        journal.set_run_ticket(RUN_DEMO, "4711").unwrap();
    })
    .await
    .unwrap();
    let alex = Browser::new();
    sign_in(&f, &alex, "staff-tech-a").await;
    let (s, page) = get(&alex, &f.url(&format!("/runs/{RUN_DEMO}"))).await;
    assert_eq!(s, 200);
    assert!(page.contains("<a href=\"https://psa.example/ticket?id=4711\" rel=\"noreferrer\">4711 in ConnectWise Manage</a>"), "{page}");
}
