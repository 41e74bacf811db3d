//! The InvokeCommand client against the demo tenant over real HTTP: each cmdlet the actions use
//! changes the simulated mailbox as Exchange would, errors come back as Exchange's own message,
//! paging, throttling and plan mode behave. Every test asserts on concrete values.

use std::time::Duration;

use serde_json::{json, Value};

use super::batch::is_busy;
use super::*;
use crate::demo::ids::*;
use crate::demo::{DemoConfig, DemoServer, Knobs, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID};
use crate::secret::Secret;

pub(super) struct T {
    pub server: DemoServer,
    _dir: tempfile::TempDir,
}

pub(super) async fn start(knobs: Knobs) -> T {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = DemoConfig { state_path: dir.path().join("state.json"), knobs };
    let server = DemoServer::start(cfg, "127.0.0.1:0".parse().expect("addr")).await.expect("start");
    T { server, _dir: dir }
}

impl T {
    pub fn cfg(&self) -> GraphConfig {
        let mut cfg =
            GraphConfig::new(self.server.exchange_base_url(), self.server.token_url(), DEMO_CLIENT_ID, Secret::new(DEMO_CLIENT_SECRET));
        cfg.scope = EXO_SCOPE.into();
        cfg.retry_base_delay = Duration::from_millis(5);
        cfg
    }
    pub fn exo(&self) -> InvokeCommandExchange {
        InvokeCommandExchange::client(self.cfg(), DEMO_TENANT_ID, 1000).expect("client")
    }
    async fn state(&self) -> Value {
        reqwest::get(format!("http://{}/_sim/state", self.server.addr())).await.expect("state").json().await.expect("json")
    }
    pub async fn mailbox(&self, upn: &str) -> Value {
        let st = self.state().await;
        st["exchange"]["mailboxes"].as_array().expect("mailboxes").iter().find(|m| m["upn"] == upn).expect("mailbox").clone()
    }
}

pub(super) const LEAVER: &str = LEAVER_CLOUD_UPN;

#[tokio::test]
async fn reads_the_seeded_mailbox() {
    let t = start(Knobs::default()).await;
    let exo = t.exo();
    let m = exo.get_mailbox(LEAVER).await.expect("get").expect("has a mailbox");
    assert_eq!(m.type_details, "UserMailbox");
    assert_eq!(m.forwarding_smtp.as_deref(), Some("smtp:lee.cloud@gmail.example"));
    assert!(m.deliver_and_forward && !m.hidden && !m.dir_synced);
    assert_eq!(exo.mailbox_size(LEAVER).await.expect("size"), Some(3 * 1024 * 1024 * 1024 + 456 * 1024 * 1024));
    let devices = exo.mobile_devices(LEAVER).await.expect("devices");
    assert_eq!(devices.iter().map(|d| d.device_id.as_str()).collect::<Vec<_>>(), ["ApplF17XK2Q1N3P4", "androidc1873361249"]);
    let rules = exo.inbox_rules(LEAVER).await.expect("rules");
    assert_eq!(rules.len(), 4, "three hidden system rules and one of the user's");
    assert_eq!(rules.iter().filter(|r| !r.is_system()).map(|r| r.name.as_str()).collect::<Vec<_>>(), ["Copy invoices home"]);
    assert_eq!(exo.accepted_domains().await.expect("domains"), ["contoso.test", "contoso.onmicrosoft.com"]);
    assert!(exo.get_mailbox("nobody@contoso.test").await.expect("no error").is_none());
    let r = exo.get_recipient("sales-dl@contoso.test").await.expect("dl");
    assert_eq!((r.identity.as_str(), r.type_details.as_str()), ("sales-dl", "MailUniversalDistributionGroup"));
}

#[tokio::test]
async fn each_write_changes_the_mailbox_as_exchange_would() {
    let t = start(Knobs::default()).await;
    let exo = t.exo();

    exo.set_mailbox_type(LEAVER, "Shared").await.expect("convert");
    exo.set_hidden_from_gal(LEAVER, true).await.expect("hide");
    exo.add_full_access(LEAVER, MANAGER_UPN, false).await.expect("full access");
    exo.add_send_as(LEAVER, MANAGER_UPN).await.expect("send as");
    exo.set_forwarding(LEAVER, &Forwarding { address: Some("manager".into()), smtp: None, keep_copy: false }).await.expect("forward");
    let devices = exo.mobile_devices(LEAVER).await.expect("devices");
    exo.block_device(LEAVER, &devices[0].device_id).await.expect("block");
    exo.remove_device(LEAVER, &devices[0].identity).await.expect("remove device");
    let rule = exo.inbox_rules(LEAVER).await.expect("rules").into_iter().find(|r| !r.is_system()).expect("user rule");
    exo.remove_inbox_rule(LEAVER, &rule.identity).await.expect("remove rule");
    exo.remove_distribution_group_member(GROUP_SALES_DL, LEAVER).await.expect("dl");

    let m = t.mailbox(LEAVER).await;
    assert_eq!(m["typeDetails"], "SharedMailbox");
    assert_eq!(m["hidden"], true);
    assert_eq!(m["fullAccess"], json!([{"user": MANAGER_UPN, "automapping": false}]));
    assert_eq!(m["sendAs"], json!([MANAGER_UPN]));
    assert_eq!((m["forwardingAddress"].clone(), m["forwardingSmtpAddress"].clone()), (json!("manager"), Value::Null));
    assert_eq!(m["deliverToMailboxAndForward"], false);
    assert_eq!(m["blockedDeviceIds"], json!(["ApplF17XK2Q1N3P4"]));
    assert_eq!(m["devices"].as_array().expect("devices").len(), 1);
    assert_eq!(m["rules"].as_array().expect("rules").len(), 3, "only the system rules remain");
    let st = t.state().await;
    let dl = st["groups"].as_array().expect("groups").iter().find(|g| g["id"] == GROUP_SALES_DL).expect("dl");
    assert!(!dl["members"].as_array().expect("members").iter().any(|m| m == LEAVER_CLOUD_ID), "Graph sees the change too");

    // Read back through the client: the permissions are what the actions compare against.
    let manager = exo.get_recipient(MANAGER_UPN).await.expect("manager");
    assert!(exo.mailbox_permissions(LEAVER).await.expect("perms").iter().any(|p| p.grants("FullAccess", &manager)));
    assert!(exo.recipient_permissions(LEAVER).await.expect("perms").iter().any(|p| p.grants("SendAs", &manager)));
    let fwd = exo.get_mailbox(LEAVER).await.expect("get").expect("mbx");
    assert_eq!(fwd.forwarding_address.as_deref(), Some("manager"));

    // Clearing removes both targets.
    exo.set_forwarding(LEAVER, &Forwarding { address: None, smtp: None, keep_copy: false }).await.expect("clear");
    let m = exo.get_mailbox(LEAVER).await.expect("get").expect("mbx");
    assert!(!m.has_forwarding());
}

#[tokio::test]
async fn exchange_errors_come_back_with_exchanges_message() {
    let t = start(Knobs::default()).await;
    let exo = t.exo();
    let e = exo.invoke("Set-Mailbox", json!({"Identity": LEAVER, "Colour": "blue"}), Some(LEAVER)).await.expect_err("unknown parameter");
    assert_eq!(
        e.to_string(),
        "Exchange Set-Mailbox failed: A parameter cannot be found that matches parameter name 'Colour'. (ParameterBindingException)"
    );
    let e = exo.invoke("Get-Mailboxx", json!({}), None).await.expect_err("unknown cmdlet");
    assert!(e.to_string().contains("The term 'Get-Mailboxx' is not recognized"), "{e}");
    let e = exo.get_recipient("typo@contoso.test").await.expect_err("no such recipient");
    assert!(e.is_not_found());
    assert!(e.to_string().contains("object 'typo@contoso.test' couldn't be found"), "{e}");
    let e = exo
        .set_forwarding(LEAVER, &Forwarding { address: Some("typo".into()), smtp: None, keep_copy: true })
        .await
        .expect_err("bad target");
    assert!(e.is_not_found(), "{e}");
    let e = exo.set_mailbox_type(LEAVER, "Sharde").await.expect_err("bad enum");
    assert!(e.to_string().contains("ConvertibleMailboxSubType"), "{e}");
    let e = exo.invoke("Add-MailboxPermission", json!({"Identity": LEAVER}), Some(LEAVER)).await.expect_err("mandatory");
    assert!(e.to_string().contains("missing mandatory parameters: User AccessRights"), "{e}");
    // A synced user's address-list flag is mastered on premises.
    let e = exo.set_hidden_from_gal(LEAVER_SYNCED_UPN, true).await.expect_err("synced");
    assert!(e.to_string().contains("being synchronized from your on-premises organization"), "{e}");
    // Nothing of that changed the tenant.
    let m = t.mailbox(LEAVER).await;
    assert_eq!((m["typeDetails"].clone(), m["forwardingAddress"].clone()), (json!("UserMailbox"), Value::Null));
    assert_eq!(t.server.stats().writes_applied, 0);
}

#[tokio::test]
async fn permission_denied_is_reported_not_retried() {
    let t = start(Knobs { exo_denied: vec!["Remove-MobileDevice".into()], ..Knobs::default() }).await;
    let exo = t.exo();
    let d = exo.mobile_devices(LEAVER).await.expect("devices");
    let e = exo.remove_device(LEAVER, &d[0].identity).await.expect_err("denied");
    assert!(matches!(e, ExoError::Cmdlet { status: 403, .. }), "{e:?}");
    assert!(e.to_string().contains("doesn't have the permissions required to run 'Remove-MobileDevice'"), "{e}");
    assert_eq!(exo.stats().retries, 0);
}

#[tokio::test]
async fn error_bodies_fall_back_to_inner_and_top_level_messages() {
    let inner = json!({"error": {"code": "X", "message": "Error executing cmdlet", "innererror": {"internalexception": {"message": "inner text"}}}});
    assert_eq!(cmdlet_error("Get-X", 500, &inner).to_string(), "Exchange Get-X failed: inner text");
    let top = json!({"error": {"code": "X", "message": "top text"}});
    assert_eq!(cmdlet_error("Get-X", 400, &top).to_string(), "Exchange Get-X failed: top text");
    let raw = json!("<html>bad gateway</html>");
    assert_eq!(cmdlet_error("Get-X", 502, &raw).to_string(), "Exchange Get-X failed: <html>bad gateway</html>");
    assert!(is_busy(
        &json!({"error": {"details": [{"message": "x|y|You have reached the maximum number of concurrent requests per tenant."}]}})
    ));
}

#[tokio::test]
async fn pages_are_followed_by_reposting_the_body() {
    let t = start(Knobs::default()).await;
    let exo = InvokeCommandExchange::client(t.cfg(), DEMO_TENANT_ID, 50).expect("client");
    let before = t.server.stats().exo_operations;
    let all = exo.invoke("Get-Mailbox", json!({}), None).await.expect("all mailboxes");
    // The named users, the ordinary ones and the legal-hold shared mailbox.
    let expected = crate::demo::seed::ORDINARY_USERS + crate::demo::seed::NAMED_USERS + 1;
    assert_eq!(all.value.len(), expected);
    let mut upns: Vec<&str> = all.value.iter().filter_map(|m| m["UserPrincipalName"].as_str()).collect();
    upns.dedup();
    assert_eq!(upns.len(), expected, "no page twice");
    assert_eq!(t.server.stats().exo_operations - before, expected.div_ceil(50) as u64);
}

#[tokio::test]
async fn throttling_and_busy_replies_are_survived() {
    let t = start(Knobs { throttle_every: 3, exo_busy_every: 4, retry_after_secs: 0, ..Knobs::default() }).await;
    let exo = t.exo();
    for _ in 0..6 {
        assert!(exo.get_mailbox(LEAVER).await.expect("survives").is_some());
    }
    exo.set_hidden_from_gal(LEAVER, true).await.expect("write survives");
    exo.add_send_as(LEAVER, MANAGER_UPN).await.expect("non-idempotent write survives too: nothing ran");
    let s = exo.stats();
    assert!(s.retries >= 3 && s.throttled >= 3, "{s:?}");
    let sim = t.server.stats();
    assert!(sim.throttled >= 3);
    assert_eq!(t.mailbox(LEAVER).await["sendAs"], json!([MANAGER_UPN]), "applied exactly once");
}

#[tokio::test]
async fn plan_mode_refuses_writes_before_sending() {
    let t = start(Knobs::default()).await;
    let mut cfg = t.cfg();
    cfg.read_only = true;
    let exo = InvokeCommandExchange::client(cfg, DEMO_TENANT_ID, 1000).expect("client");
    assert!(exo.get_mailbox(LEAVER).await.expect("reads work").is_some());
    let e = exo.set_mailbox_type(LEAVER, "Shared").await.expect_err("refused");
    assert!(matches!(e, ExoError::WriteRefused { .. }));
    let e = exo.remove_device(LEAVER, "x").await.expect_err("refused");
    assert!(matches!(e, ExoError::WriteRefused { .. }));
    assert_eq!(t.server.stats().exo_writes, 0);
    assert_eq!(exo.stats().writes, 0);
}

#[tokio::test]
async fn the_anchor_header_and_token_are_required() {
    let t = start(Knobs::default()).await;
    let exo = t.exo();
    exo.authenticate().await.expect("the Exchange scope is accepted");
    let url = format!("{}/adminapi/beta/{DEMO_TENANT_ID}/InvokeCommand", t.server.exchange_base_url());
    let body = json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Identity": LEAVER}}});
    let r = reqwest::Client::new().post(&url).json(&body).send().await.expect("send");
    assert_eq!(r.status(), 401);
    let token = {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("scope", EXO_SCOPE),
        ];
        let v: Value =
            reqwest::Client::new().post(t.server.token_url()).form(&form).send().await.expect("token").json().await.expect("json");
        v["access_token"].as_str().expect("token").to_string()
    };
    for (anchor, status) in [
        ("", 400),
        ("UPN:nobody", 400),
        ("APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@other", 400),
        (&*format!("UPN:{LEAVER}"), 200),
    ] {
        let r =
            reqwest::Client::new().post(&url).bearer_auth(&token).header("X-AnchorMailbox", anchor).json(&body).send().await.expect("send");
        assert_eq!(r.status(), status, "anchor {anchor:?}");
    }
}

#[tokio::test]
async fn conversion_becomes_visible_after_the_configured_delay() {
    let t = start(Knobs { shared_delay_ms: 400, ..Knobs::default() }).await;
    let exo = t.exo();
    exo.set_mailbox_type(LEAVER, "Shared").await.expect("convert");
    assert_eq!(exo.get_mailbox(LEAVER).await.expect("get").expect("mbx").type_details, "UserMailbox");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(exo.get_mailbox(LEAVER).await.expect("get").expect("mbx").type_details, "SharedMailbox");
    // Remote wipe is impossible once the mailbox is shared.
    let d = exo.mobile_devices(LEAVER).await.expect("devices");
    let e = exo.wipe_device(LEAVER, &d[0].identity).await.expect_err("shared");
    assert!(e.to_string().contains("is a shared mailbox"), "{e}");
}

#[tokio::test]
async fn an_unclear_write_is_not_blindly_resent() {
    let t = start(Knobs { fault_every: 1, ..Knobs::default() }).await;
    let mut cfg = t.cfg();
    cfg.max_retries = 2;
    let exo = InvokeCommandExchange::client(cfg, DEMO_TENANT_ID, 1000).expect("client");
    // Add-RecipientPermission answered 503: it may have run, so it is sent once and reported as
    // "maybe applied" (the executor then reads back instead of re-sending).
    let e = exo.add_send_as(LEAVER, MANAGER_UPN).await.expect_err("503");
    assert!(e.maybe_applied(), "{e:?}");
    assert!(crate::exec::ActionError::from(e).maybe_applied());
    assert_eq!(t.server.stats().exo_writes, 1);
    // Set-Mailbox sets a value: safe to re-send, so it is retried up to the budget.
    let e = exo.set_hidden_from_gal(LEAVER, true).await.expect_err("still 503");
    assert!(e.to_string().contains("gave up after 3 attempt(s)"), "{e}");
    assert_eq!(t.server.stats().exo_writes, 1 + 3);
}
