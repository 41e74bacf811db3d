//! The simulated Exchange admin API (`InvokeCommand`) against the recorded shapes in
//! `fixtures/exchange-shapes.json` (envelopes, output property names, accepted and mandatory
//! parameters), the token audience it accepts, and the cmdlets custom steps will call.

use offboard_host::demo::ids::*;
use offboard_host::demo::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID};
use serde_json::{json, Value};

use super::{fixture, send, start, Sim};

async fn token_for(sim: &Sim, scope: &str) -> String {
    let form =
        [("grant_type", "client_credentials"), ("client_id", DEMO_CLIENT_ID), ("client_secret", DEMO_CLIENT_SECRET), ("scope", scope)];
    let (s, _, v) = send(sim.http.post(sim.server.token_url()).form(&form)).await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().expect("token").to_string()
}

async fn exo_token(sim: &Sim) -> String {
    token_for(sim, "https://outlook.office365.com/.default").await
}

async fn invoke(sim: &Sim, tok: &str, cmdlet: &str, params: Value) -> (u16, Value) {
    let url = format!("{}/adminapi/beta/{DEMO_TENANT_ID}/InvokeCommand", sim.server.exchange_base_url());
    let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}});
    let req = sim.http.post(url).bearer_auth(tok).header("X-AnchorMailbox", format!("UPN:{MANAGER_UPN}")).json(&body);
    let (s, _, v) = send(req).await;
    (s, v)
}

fn names(v: &Value) -> Vec<String> {
    v.as_array().expect("names").iter().map(|n| n.as_str().expect("name").to_string()).collect()
}

#[tokio::test]
async fn outputs_and_envelopes_have_the_recorded_shapes() {
    let shapes = fixture("exchange-shapes.json");
    let sim = start().await;
    let tok = exo_token(&sim).await;
    for (cmdlet, params) in [
        ("Get-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN})),
        ("Get-MailboxAutoReplyConfiguration", json!({"Identity": LEAVER_CLOUD_UPN})),
        ("Get-CASMailbox", json!({"Identity": LEAVER_CLOUD_UPN})),
        ("Get-MailboxPermission", json!({"Identity": "legal.hold"})),
        ("Get-RecipientPermission", json!({"Identity": "legal.hold"})),
    ] {
        let (s, v) = invoke(&sim, &tok, cmdlet, params).await;
        assert_eq!(s, 200, "{cmdlet}: {v}");
        for k in names(&shapes["response"]["required"]) {
            assert!(v.get(&k).is_some(), "{cmdlet}: no {k} in {v}");
        }
        let known = names(&shapes["output"][cmdlet]);
        let items = v["value"].as_array().expect("value");
        assert!(!items.is_empty(), "{cmdlet}: an empty answer proves nothing");
        for item in items {
            let unknown: Vec<&String> = item.as_object().expect("object").keys().filter(|k| !known.contains(k)).collect();
            assert!(unknown.is_empty(), "{cmdlet}: not in the recorded shape: {unknown:?}");
        }
    }
    let (s, v) = invoke(&sim, &tok, "Get-Mailbox", json!({"Identity": "nobody@contoso.test"})).await;
    assert_eq!(s, 404);
    for k in names(&shapes["error"]["required"]) {
        assert!(v["error"].get(&k).is_some(), "no error.{k} in {v}");
    }
    assert_eq!(v["error"]["message"], shapes["error"]["top_message"]);
    assert_eq!(v["error"]["details"][0]["message"].as_str().expect("details").split('|').count(), 3);
}

#[tokio::test]
async fn parameters_are_bound_as_the_reference_lists_them() {
    let shapes = fixture("exchange-shapes.json");
    let sim = start().await;
    let tok = exo_token(&sim).await;
    for (cmdlet, spec) in shapes["parameters"].as_object().expect("parameters") {
        let base = || match cmdlet.as_str() {
            "Remove-CalendarEvents" => json!({"Identity": LEAVER_CLOUD_UPN, "QueryWindowInDays": 30}),
            _ => json!({"Identity": LEAVER_CLOUD_UPN}),
        };
        // An unknown parameter is refused, as PowerShell's binder does.
        let mut p = base();
        p["NoSuchParameter"] = json!(1);
        let (s, v) = invoke(&sim, &tok, cmdlet, p).await;
        assert_eq!(s, 400, "{cmdlet}: {v}");
        assert!(v.to_string().contains("A parameter cannot be found that matches parameter name 'NoSuchParameter'"), "{cmdlet}: {v}");
        // Each mandatory parameter, left out alone, is named as missing.
        for m in names(&spec["mandatory"]) {
            let mut p = base();
            p.as_object_mut().expect("params").remove(&m);
            let (s, v) = invoke(&sim, &tok, cmdlet, p).await;
            assert!(s == 400 && v.to_string().contains("missing mandatory parameters"), "{cmdlet} without {m}: {v}");
        }
        // Every documented parameter is known (a wrong value may be refused, never the name).
        for name in names(&spec["accepted"]) {
            let mut p = base();
            if p.get(&name).is_none() {
                p[&name] = Value::Null;
            }
            let (_, v) = invoke(&sim, &tok, cmdlet, p).await;
            assert!(!v.to_string().contains("A parameter cannot be found"), "{cmdlet} -{name}: {v}");
        }
    }
}

#[tokio::test]
async fn the_exchange_endpoint_takes_only_an_exchange_token() {
    let sim = start().await;
    let graph = token_for(&sim, "https://graph.microsoft.com/.default").await;
    let exo = exo_token(&sim).await;
    let (s, v) = invoke(&sim, &graph, "Get-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN})).await;
    assert_eq!(s, 401, "a Graph token is refused by Exchange: {v}");
    assert_eq!(invoke(&sim, &exo, "Get-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN})).await.0, 200);
    let (s, _, _) = send(sim.http.get(format!("{}/users/{LEAVER_CLOUD_ID}", sim.server.base_url())).bearer_auth(&exo)).await;
    assert_eq!(s, 401, "and an Exchange token by Graph");
}

/// Our side of the audience contract: a whole run of the default script (its mailbox phases run
/// Exchange cmdlets) against the demo, which refuses a Graph token at Exchange and an Exchange
/// token at Graph. A client that sent the wrong token, even once before retrying with the right
/// one, leaves a refusal in the demo's count.
#[test]
fn a_run_sends_each_api_its_own_token() {
    let home = tempfile::tempdir().expect("home");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_offboard-host"))
        .args(["run", "default.rhai", "--user", LEAVER_CLOUD_UPN, "--yes", "--json"])
        .current_dir(home.path())
        .env("OFFBOARD_HOME", home.path())
        .env_remove("OFFBOARD_CONFIG")
        .env_remove("OFFBOARD_TENANT")
        .env("OFFBOARD_DEMO_SHARED_DELAY_MS", "0")
        .output()
        .expect("run offboard-host");
    let out = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    assert_eq!(r["status"], "succeeded", "{out}");
    let stats = offboard_host::demo::read_stats(&home.path().join("demo").join("tenant.json")).expect("stats");
    assert!(stats.exo_operations > 0 && stats.operations > stats.exo_operations, "the run used both APIs: {stats:?}");
    assert_eq!(stats.bearer_refused, 0, "a request carried the other API's token: {stats:?}");
}

fn mailbox<'a>(state: &'a Value, alias: &str) -> &'a Value {
    state["exchange"]["mailboxes"].as_array().expect("mailboxes").iter().find(|m| m["alias"] == alias).expect("mailbox")
}

#[tokio::test]
async fn organised_meetings_are_cancelled_in_the_window_only() {
    let sim = start().await;
    let tok = exo_token(&sim).await;
    let state = |sim: &Sim| {
        let url = format!("{}/_sim/state", sim.server.exchange_base_url());
        let http = sim.http.clone();
        async move { send(http.get(url)).await.2 }
    };
    let p = json!({"Identity": LEAVER_CLOUD_UPN, "CancelOrganizedMeetings": true, "QueryWindowInDays": 120, "PreviewOnly": true});
    assert_eq!(invoke(&sim, &tok, "Remove-CalendarEvents", p).await.0, 200);
    let cancelled = |st: &Value| -> Vec<String> {
        mailbox(st, "leaver.cloud")["meetings"]
            .as_array()
            .expect("meetings")
            .iter()
            .filter(|m| !m["cancelledAt"].is_null())
            .map(|m| m["subject"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(cancelled(&state(&sim).await).is_empty(), "a preview cancels nothing");
    let (s, v) = invoke(&sim, &tok, "Remove-CalendarEvents", json!({"Identity": LEAVER_CLOUD_UPN, "QueryWindowInDays": 5000})).await;
    assert_eq!(s, 400, "the window is at most 1825 days: {v}");
    let p = json!({"Identity": LEAVER_CLOUD_UPN, "CancelOrganizedMeetings": true, "QueryWindowInDays": 120});
    assert_eq!(invoke(&sim, &tok, "Remove-CalendarEvents", p.clone()).await.0, 200);
    let st = state(&sim).await;
    assert_eq!(cancelled(&st), ["Weekly pipeline review", "Quarterly business review"], "not the appointment, the past or day 200");
    assert_eq!(invoke(&sim, &tok, "Remove-CalendarEvents", p).await.0, 200, "a re-run is harmless");
}

#[tokio::test]
async fn protocols_delegations_holds_and_addresses_are_set() {
    let sim = start().await;
    let tok = exo_token(&sim).await;
    let off = json!({"Identity": LEAVER_CLOUD_UPN, "ActiveSyncEnabled": false, "OWAEnabled": false, "PopEnabled": false,
        "ImapEnabled": false, "MAPIEnabled": false, "EwsEnabled": false});
    assert_eq!(invoke(&sim, &tok, "Set-CASMailbox", off).await.0, 200);
    let (_, v) = invoke(&sim, &tok, "Get-CASMailbox", json!({"Identity": LEAVER_CLOUD_UPN})).await;
    for p in ["ActiveSyncEnabled", "OWAEnabled", "PopEnabled", "ImapEnabled", "MAPIEnabled", "EwsEnabled"] {
        assert_eq!(v["value"][0][p], false, "{p}: {v}");
    }
    let (s, _) = invoke(&sim, &tok, "Set-CASMailbox", json!({"Identity": LEAVER_CLOUD_UPN, "OWAEnabled": "no"})).await;
    assert_eq!(s, 400, "a boolean is a boolean");

    // The leaver's rights on another mailbox, found by trustee.
    let (_, v) = invoke(&sim, &tok, "Get-RecipientPermission", json!({"Trustee": LEAVER_CLOUD_UPN})).await;
    let on: Vec<&str> = v["value"].as_array().expect("v").iter().filter_map(|e| e["Identity"].as_str()).collect();
    assert_eq!(on, ["legal.hold"], "{v}");
    let (_, v) = invoke(&sim, &tok, "Get-MailboxPermission", json!({"Identity": "legal.hold", "User": LEAVER_CLOUD_UPN})).await;
    assert_eq!(v["value"].as_array().map(Vec::len), Some(1), "{v}");
    let (_, v) = invoke(&sim, &tok, "Get-Mailbox", json!({"Identity": "legal.hold"})).await;
    assert_eq!(v["value"][0]["GrantSendOnBehalfTo"], json!(["leaver.cloud"]));
    let remove = json!({"@odata.type": "#Exchange.GenericHashTable", "remove": [LEAVER_CLOUD_UPN]});
    assert_eq!(invoke(&sim, &tok, "Set-Mailbox", json!({"Identity": "legal.hold", "GrantSendOnBehalfTo": remove})).await.0, 200);
    let (_, v) = invoke(&sim, &tok, "Get-Mailbox", json!({"Identity": "legal.hold"})).await;
    assert_eq!(v["value"][0]["GrantSendOnBehalfTo"], json!([]));

    // A litigation hold with a duration.
    let hold = json!({"Identity": LEAVER_CLOUD_UPN, "LitigationHoldEnabled": true, "LitigationHoldDuration": 2555});
    assert_eq!(invoke(&sim, &tok, "Set-Mailbox", hold).await.0, 200);
    let (_, v) = invoke(&sim, &tok, "Get-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN})).await;
    assert_eq!(
        (&v["value"][0]["LitigationHoldEnabled"], &v["value"][0]["LitigationHoldDuration"]),
        (&json!(true), &json!("2555.00:00:00"))
    );
    let bad = json!({"Identity": LEAVER_CLOUD_UPN, "LitigationHoldDuration": "forever"});
    assert_eq!(invoke(&sim, &tok, "Set-Mailbox", bad).await.0, 400);

    // Aliases: added and removed in accepted domains; the primary stays; a synced mailbox refuses.
    let add = json!({"@odata.type": "#Exchange.GenericHashTable", "add": ["smtp:lee@contoso.test"]});
    assert_eq!(invoke(&sim, &tok, "Set-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN, "EmailAddresses": add})).await.0, 200);
    let foreign = json!({"@odata.type": "#Exchange.GenericHashTable", "add": ["smtp:lee@fabrikam.example"]});
    assert_eq!(invoke(&sim, &tok, "Set-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN, "EmailAddresses": foreign})).await.0, 400);
    let primary = json!({"@odata.type": "#Exchange.GenericHashTable", "remove": [format!("SMTP:{LEAVER_CLOUD_UPN}")]});
    assert_eq!(invoke(&sim, &tok, "Set-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN, "EmailAddresses": primary})).await.0, 400);
    let (_, v) = invoke(&sim, &tok, "Get-Mailbox", json!({"Identity": LEAVER_CLOUD_UPN})).await;
    // The seeded aliases stay; the primary is first; the foreign address never went in.
    let addresses: Vec<&str> = v["value"][0]["EmailAddresses"].as_array().unwrap().iter().filter_map(|a| a.as_str()).collect();
    assert_eq!(addresses[0], format!("SMTP:{LEAVER_CLOUD_UPN}"), "{addresses:?}");
    assert!(addresses.contains(&"smtp:lee@contoso.test") && !addresses.iter().any(|a| a.contains("fabrikam")), "{addresses:?}");
    let synced = json!({"Identity": LEAVER_SYNCED_UPN, "EmailAddresses": ["SMTP:leaver.synced@contoso.test"]});
    assert_eq!(invoke(&sim, &tok, "Set-Mailbox", synced).await.0, 400, "mastered on premises");
}
