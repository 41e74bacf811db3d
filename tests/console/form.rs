//! The offboarding form: search, options, plan, then send for approval, schedule or apply; and
//! what it refuses (another client, no CSRF token, an unknown setting, a user it cannot take).
//! In the demo console client `demo` requires approval (casey.approver), the others do not.

use super::flow::{get, sign_in};
use super::*;
use offboard_host::demo::ids;
use offboard_host::journal::{RunQuery, WorkKind, WorkflowJournal};

const LEAVER: &str = ids::LEAVER_CLOUD_UPN;

/// The form fields of a plan or submit POST for `user` of `client`, with `extra` fields.
fn fields<'a>(csrf: &'a str, client: &'a str, user: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("csrf", csrf), ("client", client), ("user", user)];
    v.extend_from_slice(extra);
    v
}

async fn post(b: &Browser, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = b.http.post(url).form(form).send().await.expect("post");
    let status = r.status().as_u16();
    let text = if status == 303 { location(&r) } else { r.text().await.unwrap() };
    (status, text)
}

/// A console, and `staff` signed in on the options page of the leaver of `client`: the page and
/// its CSRF token.
async fn on_options_page(staff: &str, client: &str) -> (Fixture, Browser, String, String) {
    let (f, b) = (fixture().await, Browser::new());
    sign_in(&f, &b, staff).await;
    let (status, page) = get(&b, &f.url(&format!("/offboard/options?client={client}&user={LEAVER}"))).await;
    assert_eq!(status, 200, "{page}");
    let csrf = csrf_of(&page).expect("csrf");
    (f, b, page, csrf)
}

/// The runs, work items and console actions other than sign-ins the journal holds.
fn recorded(f: &Fixture) -> (usize, usize, Vec<String>) {
    let runs = f.journal.find_runs(&RunQuery { limit: 1000, ..RunQuery::default() }).unwrap().len();
    let items = f.journal.work_list(WorkKind::Approval, None).unwrap().len() + f.journal.work_list(WorkKind::Schedule, None).unwrap().len();
    let actions = f.journal.audit_events(100).unwrap().into_iter().map(|e| e.action).filter(|a| !a.starts_with("sign_in")).collect();
    (runs, items, actions)
}

/// Two runs are seeded by the fixture; nothing else.
const NOTHING: (usize, usize, Vec<String>) = (2, 0, Vec::new());

#[tokio::test]
async fn a_technician_plans_and_sends_for_approval_with_one_option_changed() {
    let f = fixture().await;
    let b = Browser::new();
    sign_in(&f, &b, "staff-tech-a").await;
    // The search lists the matches as radio buttons, each with its label.
    let (status, page) = get(&b, &f.url("/offboard?client=demo&q=leaver")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("value=\"{LEAVER}\"")) && page.contains("<label for=\"user-0\""), "{page}");
    assert!(page.contains("<datalist id=\"q-matches\">"), "{page}");
    // The options come from the schema, each with a label.
    let (status, page) = get(&b, &f.url(&format!("/offboard/options?client=demo&user={LEAVER}"))).await;
    assert_eq!(status, 200, "{page}");
    for id in ["set-forward_to_manager", "set-shared_wait_secs", "set-out_of_office_internal"] {
        assert!(page.contains(&format!("id=\"{id}\"")) && page.contains(&format!("<label for=\"{id}\"")), "{id}: {page}");
    }
    let csrf = csrf_of(&page).expect("csrf");
    // One option changed (ticked: the hidden false, then the box's true); one left as it was.
    let changed = [
        ("set.forward_to_manager", "false"),
        ("set.forward_to_manager", "true"),
        ("set.remove_groups", "false"),
        ("set.remove_groups", "true"),
    ];
    let (status, plan) = post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo", LEAVER, &changed)).await;
    assert_eq!(status, 200, "{plan}");
    assert!(plan.contains("forward_to_manager=true") && !plan.contains("remove_groups=true"), "{plan}");
    assert!(plan.contains("id=\"send-approval\"") && !plan.contains("id=\"apply-now\""), "{plan}");
    // To-dos first, then the steps.
    let (todos, steps) = (plan.find("To do by hand").expect("to-dos"), plan.find("Steps (").expect("steps"));
    assert!(todos < steps, "{plan}");
    let submit = fields(&csrf, "demo", LEAVER, &[("set.forward_to_manager", "true"), ("action", "approval")]);
    let (status, to) = post(&b, &f.url("/offboard/submit"), &submit).await;
    assert_eq!(status, 303, "{to}");
    let id = to.strip_prefix("/offboard/requested/").expect("pending page").to_string();
    let item = f.journal.work_get(&id).unwrap().expect("work item");
    assert_eq!((item.kind, item.status.as_str(), item.user.as_str()), (WorkKind::Approval, "pending", LEAVER));
    assert_eq!(item.options["set"], json!(["forward_to_manager=true"]));
    assert_eq!(item.requested_by.as_deref(), Some("console:alex.tech@msp.test"));
    assert!(item.policy.is_some() && !item.plan.is_empty());
    let audit = f.journal.audit_events(10).unwrap();
    let sent = audit.iter().find(|e| e.action == "offboard_request_approval").expect("journalled");
    assert_eq!(
        (sent.email.as_deref(), &sent.detail["run_id"], &sent.detail["client"]),
        (Some("alex.tech@msp.test"), &json!(id), &json!("demo"))
    );
    assert!(audit.iter().any(|e| e.action == "offboard_plan"));
    assert_eq!(f.demo.stats().writes, 0, "nothing is written before the approval");
    let (status, page) = get(&b, &f.url(&to)).await;
    assert_eq!(status, 200);
    assert!(page.contains("console:alex.tech@msp.test") && page.contains("forward_to_manager=true"), "{page}");
    // The client requires approval: applying directly is refused.
    let (status, page) = post(&b, &f.url("/offboard/submit"), &fields(&csrf, "demo", LEAVER, &[("action", "apply")])).await;
    assert_eq!(status, 400, "{page}");
}

#[tokio::test]
async fn a_technician_cannot_use_the_form_for_another_client() {
    let (f, b, _, csrf) = on_options_page("staff-tech-a", "demo").await;
    assert_eq!(get(&b, &f.url("/offboard?client=demo-halo&q=leaver")).await.0, 403);
    assert_eq!(get(&b, &f.url(&format!("/offboard/options?client=demo-halo&user={LEAVER}"))).await.0, 403);
    assert_eq!(get(&b, &f.url(&format!("/offboard/options?client=no-such&user={LEAVER}"))).await.0, 403);
    assert_eq!(post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo-halo", LEAVER, &[])).await.0, 403);
    assert_eq!(post(&b, &f.url("/offboard/submit"), &fields(&csrf, "demo-halo", LEAVER, &[("action", "apply")])).await.0, 403);
    assert_eq!(recorded(&f), NOTHING);
    // An approver has no request role: no form at all.
    let c = Browser::new();
    sign_in(&f, &c, "staff-approver").await;
    assert_eq!(get(&c, &f.url("/offboard")).await.0, 403);
    assert_eq!(f.demo.stats().writes, 0);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let (f, b, _, _) = on_options_page("staff-tech-a", "demo").await;
    let no_token = [("client", "demo"), ("user", LEAVER), ("action", "approval")];
    assert_eq!(post(&b, &f.url("/offboard/plan"), &no_token).await.0, 403);
    assert_eq!(post(&b, &f.url("/offboard/submit"), &no_token).await.0, 403);
    assert_eq!(post(&b, &f.url("/offboard/submit"), &fields("0123", "demo", LEAVER, &[("action", "approval")])).await.0, 403);
    assert_eq!(recorded(&f), NOTHING);
}

#[tokio::test]
async fn an_unknown_setting_or_a_wrong_value_is_refused_as_set_refuses_it() {
    let (f, b, _, csrf) = on_options_page("staff-tech-a", "demo").await;
    let (status, page) = post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo", LEAVER, &[("set.forward_to_manger", "true")])).await;
    assert_eq!(status, 400);
    assert!(page.contains("unknown setting") && page.contains("did you mean forward_to_manager"), "{page}");
    let (status, page) = post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo", LEAVER, &[("set.shared_wait_secs", "soon")])).await;
    assert_eq!(status, 400);
    assert!(page.contains("shared_wait_secs is an integer"), "{page}");
    let (status, _) =
        post(&b, &f.url("/offboard/submit"), &fields(&csrf, "demo", LEAVER, &[("set.nope", "1"), ("action", "approval")])).await;
    assert_eq!(status, 400);
    // A field the form does not have is refused too, not ignored.
    assert_eq!(post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo", LEAVER, &[("allow_privileged", "true")])).await.0, 400);
    assert_eq!(recorded(&f), NOTHING);
}

#[tokio::test]
async fn a_privileged_malformed_or_missing_user_is_refused_and_nothing_is_requested() {
    let (f, b, _, csrf) = on_options_page("staff-tech-a", "demo").await;
    assert_eq!(get(&b, &f.url("/offboard/options?client=demo&user=not%20a%20name")).await.0, 400);
    let (status, page) = post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo", "x@@y", &[])).await;
    assert_eq!(status, 400, "{page}");
    let submit = |user| fields(&csrf, "demo", user, &[("action", "approval")]);
    let (status, page) = post(&b, &f.url("/offboard/submit"), &submit(ids::LEAVER_ADMIN_UPN)).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("protected account") && page.contains("The console never offboards"), "{page}");
    let (status, page) = post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo", ids::BREAK_GLASS_UPN, &[])).await;
    assert_eq!(status, 422, "{page}");
    let (status, page) = post(&b, &f.url("/offboard/submit"), &submit("nobody.here@contoso.test")).await;
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("was not found"), "{page}");
    assert_eq!(f.journal.work_list(WorkKind::Approval, None).unwrap().len(), 0, "nothing requested");
    assert_eq!(f.demo.stats().writes, 0);
}

#[tokio::test]
async fn a_client_without_approval_is_scheduled_or_applied_from_the_form() {
    let (f, b, page, csrf) = on_options_page("staff-tech-b", "demo-halo").await;
    assert!(page.contains("id=\"ticket\""), "a client with a PSA offers the ticket field: {page}");
    let (status, plan) = post(&b, &f.url("/offboard/plan"), &fields(&csrf, "demo-halo", LEAVER, &[])).await;
    assert_eq!(status, 200, "{plan}");
    assert!(plan.contains("id=\"apply-now\"") && plan.contains("id=\"schedule\"") && plan.contains("<label for=\"at\""), "{plan}");
    let past = [("action", "schedule"), ("at", "2020-01-01T09:00")];
    assert_eq!(post(&b, &f.url("/offboard/submit"), &fields(&csrf, "demo-halo", LEAVER, &past)).await.0, 400);
    let at = (Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT%H:%M").to_string();
    let later = [("set.hide_from_gal", "false"), ("action", "schedule"), ("at", at.as_str())];
    let (status, to) = post(&b, &f.url("/offboard/submit"), &fields(&csrf, "demo-halo", LEAVER, &later)).await;
    assert_eq!(status, 303, "{to}");
    let item = f.journal.work_get(to.strip_prefix("/offboard/requested/").unwrap()).unwrap().expect("scheduled");
    assert_eq!((item.kind, item.tenant.as_str(), item.at.format("%Y-%m-%dT%H:%M").to_string()), (WorkKind::Schedule, "demo-halo", at));
    assert_eq!(
        (item.options["set"].clone(), item.requested_by.as_deref()),
        (json!(["hide_from_gal=false"]), Some("console:blair.tech@msp.test"))
    );
    assert_eq!(f.demo.stats().writes, 0, "scheduling writes nothing");
    // Apply now: the run's page, and the tenant changed.
    let (status, to) = post(&b, &f.url("/offboard/submit"), &fields(&csrf, "demo-halo", LEAVER, &[("action", "apply")])).await;
    assert_eq!(status, 303, "{to}");
    let run = f.journal.get_run(to.strip_prefix("/runs/").unwrap()).unwrap().expect("apply run");
    assert_eq!((run.summary.mode, run.summary.user.as_str()), (Mode::Apply, LEAVER));
    assert!(f.demo.stats().writes > 0, "the apply wrote");
    let actions = recorded(&f).2;
    assert!(["offboard_plan", "offboard_schedule", "offboard_apply"].iter().all(|a| actions.iter().any(|x| x == a)), "{actions:?}");
}
