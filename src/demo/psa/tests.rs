//! The real PSA clients (`crate::psa`) against the simulated PSAs, over HTTP on loopback.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::demo_psa_settings as demo_settings;
use crate::demo::ids::{LEAVER_CLOUD_UPN, LEAVER_SYNCED_UPN};
use crate::demo::{DemoConfig, DemoServer, Knobs};
use crate::psa::settings::Overrides;
use crate::psa::{NewTicket, Psa, PsaError, TicketStatus};
use crate::secret::Secret;

const TENANTS: [&str; 3] = ["demo-cw", "demo-autotask", "demo-halo"];

async fn server(knobs: Knobs) -> (DemoServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = DemoConfig { state_path: dir.path().join("state.json"), knobs };
    (DemoServer::start(cfg, "127.0.0.1:0".parse().expect("addr")).await.expect("start"), dir)
}

/// The client for a demo tenant, built the way the CLI builds it.
fn client(tenant: &str, server: &DemoServer, secret: Option<&str>, read_only: bool) -> Arc<dyn Psa> {
    let (_, _, s) = demo_settings().into_iter().find(|(n, _, _)| *n == tenant).expect("demo tenant");
    let kind = s.kind.name_lower();
    let o = Overrides {
        base_url: Some(base_url(kind, server.addr())),
        secret: Some(Secret::new(secret.unwrap_or(super::secret(kind)))),
        retry_base: Some(Duration::from_millis(5)),
    };
    s.build(read_only, o).expect("build")
}

fn sim<'a>(st: &'a PsaState, tenant: &str) -> &'a SimPsa {
    match tenant {
        "demo-cw" => &st.connectwise,
        "demo-autotask" => &st.autotask,
        _ => &st.halo,
    }
}

#[tokio::test]
async fn each_psa_opens_a_ticket_adds_notes_sets_statuses_and_deactivates_the_contact() {
    let (srv, dir) = server(Knobs::default()).await;
    let mut tickets = Vec::new();
    for tenant in TENANTS {
        let psa = client(tenant, &srv, None, false);
        psa.authenticate().await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        // The same e-mail also exists in another company: only the client's contact counts.
        let found = psa.find_contacts(LEAVER_CLOUD_UPN).await.expect("find");
        assert_eq!(found.len(), 1, "{tenant}: {found:?}");
        assert!(found[0].active && found[0].company_id == psa.company_id(), "{tenant}: {found:?}");
        assert!(psa.find_contacts("nobody@contoso.test").await.expect("find").is_empty());

        let t = NewTicket { summary: "Offboarding: lee".into(), details: "details".into(), contact_id: Some(found[0].id.clone()) };
        let id = psa.create_ticket(&t).await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        psa.set_status(&id, TicketStatus::InProgress).await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        psa.add_note(&id, "[m1] first").await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        psa.add_note(&id, "[m2] second").await.expect("note");
        assert_eq!(psa.count_notes_with(&id, "[m1]").await.expect("count"), 1, "{tenant}");
        assert_eq!(psa.count_notes_with(&id, "[m3]").await.expect("count"), 0, "{tenant}");
        psa.set_status(&id, TicketStatus::Completed).await.expect("status");
        psa.deactivate_contact(&found[0]).await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        let again = psa.find_contacts(LEAVER_CLOUD_UPN).await.expect("find");
        assert!(again.len() == 1 && !again[0].active, "{tenant}: {again:?}");
        tickets.push((tenant, id, found[0].id.clone()));
    }
    let path = dir.path().join("state.json");
    srv.shutdown().await;
    let st = read_state(&path).expect("state");
    for ((tenant, id, contact), done) in tickets.iter().zip(["Completed", "Complete", "Closed"]) {
        let s = sim(&st, tenant);
        let t = s.tickets.iter().find(|t| t.id.to_string() == *id).expect("ticket stored");
        assert_eq!(t.status, done, "{tenant}");
        assert_eq!(t.contact_id.map(|c| c.to_string()).as_deref(), Some(contact.as_str()), "{tenant}");
        assert_eq!(t.notes.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(), ["[m1] first", "[m2] second"], "{tenant}");
        assert!(t.notes.iter().all(|n| n.internal), "{tenant}: notes must be internal");
        // The other company's contact with the same e-mail is untouched.
        assert!(s.contacts.iter().filter(|c| c.company_id == s.other_company_id).all(|c| c.active), "{tenant}");
    }
}

#[tokio::test]
async fn bad_credentials_fail_authentication_with_a_clear_message() {
    let (srv, _dir) = server(Knobs::default()).await;
    for (tenant, hint) in TENANTS.iter().zip(["HTTP 401", "HTTP 401", "invalid_client"]) {
        let e = client(tenant, &srv, Some("wrong-secret"), false).authenticate().await.unwrap_err();
        assert!(matches!(e, PsaError::Auth { .. }), "{tenant}: {e}");
        let msg = e.to_string();
        assert!(msg.contains("authentication failed") && msg.contains(hint), "{tenant}: {msg}");
        assert!(!msg.contains("wrong-secret"), "{tenant}: the secret must not be echoed");
    }
    assert_eq!(srv.stats().writes, 0);
}

#[tokio::test]
async fn plan_mode_clients_read_but_never_write() {
    let (srv, dir) = server(Knobs::default()).await;
    for tenant in TENANTS {
        let psa = client(tenant, &srv, None, true);
        psa.authenticate().await.expect("auth");
        let c = psa.find_contacts(LEAVER_CLOUD_UPN).await.expect("find");
        let e = psa.deactivate_contact(&c[0]).await.unwrap_err();
        assert!(matches!(e, PsaError::WriteRefused { .. }), "{tenant}: {e}");
    }
    let path = dir.path().join("state.json");
    srv.shutdown().await;
    assert_eq!(read_state(&path).expect("state").stats.writes, 0);
}

#[tokio::test]
async fn throttling_is_waited_out_and_an_outage_is_reported_as_unavailable() {
    let knobs = Knobs { psa_throttle_every: 2, retry_after_secs: 0, ..Knobs::default() };
    let (srv, _dir) = server(knobs).await;
    let psa = client("demo-halo", &srv, None, false);
    psa.authenticate().await.expect("auth despite 429s");
    assert_eq!(psa.find_contacts(LEAVER_SYNCED_UPN).await.expect("find").len(), 1);
    let s = psa.stats();
    assert!(s.throttled > 0 && s.retries >= s.throttled, "{s:?}");
    srv.shutdown().await;

    let (srv, _dir) = server(Knobs { psa_down_after_writes: Some(1), ..Knobs::default() }).await;
    let psa = client("demo-cw", &srv, None, false);
    psa.authenticate().await.expect("auth");
    let t = NewTicket { summary: "s".into(), details: "d".into(), contact_id: None };
    let id = psa.create_ticket(&t).await.expect("the first write lands");
    let e = psa.add_note(&id, "[x] note").await.unwrap_err();
    assert!(e.is_unavailable() && e.maybe_applied(), "a 503 to a POST is unclear: {e}");
    let e = psa.find_contacts(LEAVER_CLOUD_UPN).await.unwrap_err();
    assert!(e.is_unavailable() && !e.maybe_applied() && e.to_string().contains("gave up after"), "{e}");
}

/// Each PSA's server grants 2 records a page, far below what our clients ask for (ConnectWise
/// 1000, Autotask 500, Halo 100): a client that stops at a short page, or reads a page twice,
/// miscounts. ConnectWise's next page comes only from its `Link` header.
#[tokio::test]
async fn lists_longer_than_a_page_are_read_whole_each_record_once() {
    let (srv, _dir) = server(Knobs { psa_page_max: Some(2), ..Knobs::default() }).await;
    for tenant in TENANTS {
        let psa = client(tenant, &srv, None, false);
        let t = NewTicket { summary: "Offboarding: paging".into(), details: "[paging ticket] details".into(), contact_id: None };
        let id = psa.create_ticket(&t).await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        for i in 1..=7 {
            psa.add_note(&id, &format!("[paging] note {i}")).await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        }
        let before = psa.stats().requests;
        assert_eq!(psa.count_notes_with(&id, "[paging]").await.unwrap_or_else(|e| panic!("{tenant}: {e}")), 7, "{tenant}");
        let pages = psa.stats().requests - before;
        assert!(pages >= 4, "{tenant}: 7 notes at 2 a page are at least 4 pages, read in {pages} request(s)");
        for i in 1..=7 {
            assert_eq!(psa.count_notes_with(&id, &format!("[paging] note {i}")).await.expect("count"), 1, "{tenant}: note {i}");
        }
        assert_eq!(psa.find_ticket_with(&t.summary, "[paging ticket]").await.expect("find").as_deref(), Some(id.as_str()), "{tenant}");
        // The marker lookup that keeps one ticket per offboarding reads every page too: the
        // newest match is on the last one.
        let mut newest = String::new();
        for _ in 1..=5 {
            let t = NewTicket { summary: "Offboarding: many".into(), details: "[paging many] details".into(), contact_id: None };
            newest = psa.create_ticket(&t).await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        }
        let found = psa.find_ticket_with("Offboarding: many", "[paging many]").await.unwrap_or_else(|e| panic!("{tenant}: {e}"));
        assert_eq!(found.as_deref(), Some(newest.as_str()), "{tenant}: the newest of 5 matches at 2 a page");
    }
    srv.shutdown().await;
}
