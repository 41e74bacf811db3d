//! The JSON API's actions on the demo clients: `demo` needs an approval (so only "approval" goes
//! on), `demo-cw` does not (apply now, schedule) and has a PSA (a ticket to continue).

use super::api::{bearer, get_json, post, USER};
use super::*;
use offboard_host::journal::{WorkKind, WorkflowJournal};
use serde_json::Value;

fn asked(client: &str, user: &str, action: &str) -> Value {
    json!({"client": client, "user": user, "action": action})
}

#[tokio::test]
async fn a_request_for_approval_is_pending_for_the_approvers_and_names_the_token() {
    let f = fixture().await;
    let (status, a, _) = post(&f, Some(&bearer()), Some("k-approval"), &asked("demo", USER, "approval")).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["outcome"], "awaiting_approval", "{a}");
    assert_eq!(a["approvers"], json!(["casey.approver@msp.test"]));
    assert!(a["changes"].as_u64().unwrap() > 0 && a["expires_at"].is_string(), "{a}");
    let run_id = a["run_id"].as_str().unwrap();
    let item = f.journal.work_get(run_id).expect("read").expect("the approval is recorded");
    assert_eq!((item.kind, item.status.as_str(), item.requested_by.as_deref()), (WorkKind::Approval, "pending", Some("api:demo-psa")));
    let (_, run) = get_json(&f, &format!("/api/v1/runs/{run_id}"), Some(&bearer())).await;
    assert_eq!((run["workflow"]["kind"].as_str(), run["workflow"]["status"].as_str()), (Some("approval"), Some("pending")), "{run}");
    // The retry: the same answer, no second approval.
    let (status, again, replayed) = post(&f, Some(&bearer()), Some("k-approval"), &asked("demo", USER, "approval")).await;
    assert_eq!((status, replayed, &again), (201, true, &a));
    assert_eq!(f.journal.work_list(WorkKind::Approval, None).expect("list").len(), 1);
}

#[tokio::test]
async fn a_client_that_needs_an_approval_is_neither_applied_nor_scheduled() {
    let f = fixture().await;
    let (status, a, _) = post(&f, Some(&bearer()), Some("k-apply"), &asked("demo", USER, "apply")).await;
    assert_eq!(status, 422, "{a}");
    assert!(a["error"].as_str().unwrap().contains("requires approval"), "{a}");
    let mut schedule = asked("demo", USER, "schedule");
    schedule["at"] = json!((Utc::now() + chrono::Duration::days(1)).to_rfc3339());
    let (status, a, _) = post(&f, Some(&bearer()), Some("k-schedule"), &schedule).await;
    assert_eq!(status, 422, "{a}");
    assert!(f.journal.work_list(WorkKind::Schedule, None).expect("list").is_empty());
    assert!(f.journal.list_runs(100).expect("runs").iter().all(|r| r.mode != Mode::Apply || r.tenant != "demo" || r.run_id == RUN_DEMO));
    // Nor is a client without one sent for approval: there is no one to send it to.
    let (status, a, _) = post(&f, Some(&bearer()), Some("k-approval-cw"), &asked("demo-cw", USER, "approval")).await;
    assert_eq!(status, 400, "{a}");
    assert!(a["error"].as_str().unwrap().contains("no [approval] section"), "{a}");
}

#[tokio::test]
async fn a_client_without_approval_is_scheduled_or_applied_and_a_webhooks_ticket_is_continued() {
    let f = fixture().await;
    let mut schedule = asked("demo-cw", USER, "schedule");
    let due = Utc::now() + chrono::Duration::days(1);
    schedule["at"] = json!(due.to_rfc3339());
    let (status, s, _) = post(&f, Some(&bearer()), Some("k-schedule"), &schedule).await;
    assert_eq!((status, s["outcome"].as_str()), (201, Some("scheduled")), "{s}");
    let item = f.journal.work_get(s["run_id"].as_str().unwrap()).expect("read").expect("scheduled");
    assert_eq!((item.kind, item.requested_by.as_deref()), (WorkKind::Schedule, Some("api:demo-psa")));
    assert_eq!(item.at.timestamp(), due.timestamp());
    // Apply now: the run opens a ticket in the simulated ConnectWise.
    let (status, first, _) = post(&f, Some(&bearer()), Some("k-apply-1"), &asked("demo-cw", USER, "apply")).await;
    assert_eq!((status, first["outcome"].as_str(), first["run_status"].as_str()), (201, Some("applied"), Some("succeeded")), "{first}");
    let ticket = first["ticket"].as_str().expect("the run's ticket").to_string();
    // The ticket webhook: another user of the same ticket, by its number, continues it.
    let mut hook = asked("demo-cw", offboard_host::demo::ids::LEAVER_SYNCED_UPN, "apply");
    hook["ticket"] = json!(ticket.parse::<u64>().expect("a ticket number"));
    let (status, second, _) = post(&f, Some(&bearer()), Some(&format!("ticket-{ticket}")), &hook).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["ticket"].as_str(), Some(ticket.as_str()), "the webhook's ticket, not a new one: {second}");
    let (_, run) = get_json(&f, &format!("/api/v1/runs/{}", second["run_id"].as_str().unwrap()), Some(&bearer())).await;
    assert_eq!(run["ticket"].as_str(), Some(ticket.as_str()), "{run}");
    assert!(run["steps"].as_array().unwrap().iter().any(|s| s["status"] == "done"), "{run}");
}
