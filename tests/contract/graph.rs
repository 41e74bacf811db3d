//! The simulated Graph against Microsoft Graph's v1.0 CSDL: what it returns (property names,
//! casing, types, enum members, navigation properties, derived types named by `@odata.type`)
//! and the names it accepts in request bodies.

use offboard_host::demo::ids::*;
use offboard_host::demo::intune::DEVICE_PROPS;
use offboard_host::demo::model::{GROUP_PROPS, ROLE_PROPS, USER_PROPS};
use offboard_host::demo::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use serde_json::{json, Value};

use super::csdl::Model;
use super::{json_call, send, start, Sim};

pub async fn token(sim: &Sim) -> String {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let (s, _, v) = send(sim.http.post(sim.server.token_url()).form(&form)).await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().expect("token").to_string()
}

pub async fn call(sim: &Sim, tok: &str, method: reqwest::Method, rel: &str, body: Option<Value>) -> (u16, Value) {
    json_call(sim.http.request(method, format!("{}{rel}", sim.server.base_url())).bearer_auth(tok), body).await
}

#[tokio::test]
async fn every_entity_the_simulator_returns_matches_the_csdl() {
    let model = Model::load();
    let sim = start().await;
    let tok = token(&sim).await;
    let (users, groups) = (USER_PROPS.join(","), GROUP_PROPS.join(","));
    // (route, the type of the entity or of each item of `value`)
    let routes = [
        (format!("/users?$select={users}"), "user"),
        (format!("/users/{LEAVER_CLOUD_ID}"), "user"),
        (format!("/users/{LEAVER_SYNCED_ID}?$select={users}"), "user"),
        (format!("/groups?$select={groups}"), "group"),
        (format!("/groups/{GROUP_SALES_TEAM}"), "group"),
        (format!("/groups/{GROUP_SALES_TEAM}/members"), "directoryObject"),
        (format!("/users/{LEAVER_ADMIN_ID}/memberOf"), "directoryObject"),
        (format!("/users/{LEAVER_CLOUD_ID}/transitiveMemberOf/graph.group"), "group"),
        (format!("/users/{LEAVER_CLOUD_ID}/memberOf"), "directoryObject"),
        (format!("/users/{LEAVER_ADMIN_ID}/memberOf/microsoft.graph.directoryRole?$select={}", ROLE_PROPS.join(",")), "directoryRole"),
        (format!("/users/{LEAVER_CLOUD_ID}/manager"), "directoryObject"),
        (format!("/users/{LEAVER_CLOUD_ID}/licenseDetails"), "licenseDetails"),
        ("/subscribedSkus".to_string(), "subscribedSku"),
        (format!("/users/{LEAVER_CLOUD_ID}/mailboxSettings"), "mailboxSettings"),
        (format!("/users/{LEAVER_CLOUD_ID}/managedDevices?$select={}", DEVICE_PROPS.join(",")), "managedDevice"),
        (format!("/deviceManagement/managedDevices/{MANAGED_DEVICE_LAPTOP}"), "managedDevice"),
    ];
    let mut errors = Vec::new();
    for (route, ty) in &routes {
        let (s, v) = call(&sim, &tok, reqwest::Method::GET, route, None).await;
        assert_eq!(s, 200, "{route}: {v}");
        let items = match v.get("value").and_then(Value::as_array) {
            Some(items) => items.clone(),
            None => vec![v.clone()],
        };
        assert!(!items.is_empty(), "{route}: an empty answer proves nothing");
        for (i, item) in items.iter().enumerate() {
            errors.extend(model.check(ty, item, &format!("{route}[{i}]")));
        }
    }
    assert!(errors.is_empty(), "{} contract violations:\n{}", errors.len(), errors.join("\n"));
}

#[test]
fn every_selectable_property_is_declared_in_the_csdl() {
    let model = Model::load();
    for (ty, props) in [("user", USER_PROPS), ("group", GROUP_PROPS), ("directoryRole", ROLE_PROPS), ("managedDevice", DEVICE_PROPS)] {
        let unknown: Vec<&&str> = props.iter().filter(|p| model.prop(ty, p).is_none()).collect();
        assert!(unknown.is_empty(), "{ty}: not in the CSDL: {unknown:?}");
    }
}

/// A value of a CSDL type for a probe PATCH (the checker's own idea, not the simulator's).
fn sample(ty: &str) -> Value {
    match ty {
        "Edm.Boolean" => json!(true),
        "Edm.String" => json!("Probe"),
        _ => json!(null),
    }
}

#[tokio::test]
async fn the_user_properties_a_patch_accepts_are_csdl_properties_with_csdl_casing() {
    let model = Model::load();
    let sim = start().await;
    let tok = token(&sim).await;
    let user = model.chain("user");
    let mut accepted = Vec::new();
    let mut names: Vec<String> = user.iter().flat_map(|d| d.props.keys().cloned()).collect();
    // Casing variants of properties a client does write: Graph's JSON is case-sensitive.
    names.extend(["AccountEnabled", "accountenabled", "employeeID", "DisplayName"].map(String::from));
    names.sort();
    for name in &names {
        let ty = model.prop("user", name).map(|p| p.ty.as_str()).unwrap_or("Edm.String");
        let (s, v) =
            call(&sim, &tok, reqwest::Method::PATCH, &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({ name.as_str(): sample(ty) })))
                .await;
        let unknown = v["error"]["message"].as_str().is_some_and(|m| m.contains("does not exist as a declared property"));
        if s == 204 || !unknown {
            accepted.push(name.clone());
        }
    }
    assert!(accepted.iter().any(|n| n == "accountEnabled"), "the probe must reach accepted names: {accepted:?}");
    let not_csdl: Vec<&String> = accepted.iter().filter(|n| model.prop("user", n).is_none()).collect();
    assert!(not_csdl.is_empty(), "accepted but not CSDL properties of user: {not_csdl:?}");
    // The SDKs' @odata.type of the entity's own type is ignored; another type is refused.
    let path = format!("/users/{LEAVER_CLOUD_ID}");
    let body = json!({"@odata.type": "#microsoft.graph.user", "accountEnabled": false});
    assert_eq!(call(&sim, &tok, reqwest::Method::PATCH, &path, Some(body)).await.0, 204);
    let body = json!({"@odata.type": "#microsoft.graph.group", "accountEnabled": false});
    assert_eq!(call(&sim, &tok, reqwest::Method::PATCH, &path, Some(body)).await.0, 400);
}

#[tokio::test]
async fn action_bodies_use_the_csdl_parameter_names() {
    let model = Model::load();
    let params = |action: &str, on: &str| -> Vec<String> {
        model
            .actions
            .get(&(action.to_string(), on.to_string()))
            .unwrap_or_else(|| panic!("{action} on {on}"))
            .iter()
            .map(|p| p.0.clone())
            .collect()
    };
    assert_eq!(params("assignLicense", "user"), ["addLicenses", "removeLicenses"]);
    assert_eq!(params("sendMail", "user"), ["Message", "SaveToSentItems"]);
    let sim = start().await;
    let tok = token(&sim).await;
    // sendMail with the CSDL's own casing, and with the camelCase the docs show: both accepted.
    for (m, save) in [("Message", "SaveToSentItems"), ("message", "saveToSentItems")] {
        let mail = json!({"subject": "s", "body": {"contentType": "text", "content": "b"},
            "toRecipients": [{"emailAddress": {"address": MANAGER_UPN}}]});
        errors_of(&model, "message", &mail);
        let (s, v) =
            call(&sim, &tok, reqwest::Method::POST, &format!("/users/{LEAVER_CLOUD_ID}/sendMail"), Some(json!({m: mail, save: false})))
                .await;
        assert_eq!(s, 202, "{m}: {v}");
    }
    let body = json!({"addLicenses": [], "removeLicenses": []});
    let (s, v) = call(&sim, &tok, reqwest::Method::POST, &format!("/users/{LEAVER_CLOUD_ID}/assignLicense"), Some(body)).await;
    assert_eq!(s, 200, "{v}");
    errors_of(&model, "user", &v);
    // wipe's optional parameters are the CSDL's; retire takes none.
    let wipe = params("wipe", "managedDevice");
    assert!(wipe.contains(&"keepEnrollmentData".to_string()) && wipe.contains(&"keepUserData".to_string()), "{wipe:?}");
    assert!(params("retire", "managedDevice").is_empty());
    let route = format!("/users/{LEAVER_CLOUD_ID}/managedDevices/{MANAGED_DEVICE_LAPTOP}/retire");
    assert_eq!(call(&sim, &tok, reqwest::Method::POST, &route, None).await.0, 204);
    let other = format!("/users/{MANAGER_ID}/managedDevices/{MANAGED_DEVICE_LAPTOP}/retire");
    assert_eq!(call(&sim, &tok, reqwest::Method::POST, &other, None).await.0, 404, "another user's device is not found");
}

fn errors_of(model: &Model, ty: &str, v: &Value) {
    let errs = model.check(ty, v, ty);
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

#[test]
fn the_checker_refuses_what_the_csdl_does_not_declare() {
    let model = Model::load();
    let bad = [
        ("user", json!({"AccountEnabled": true})),
        ("user", json!({"accountEnabled": "yes"})),
        ("user", json!({"assignedLicenses": [{"skuId": "not-a-guid"}]})),
        ("managedDevice", json!({"complianceState": "fine"})),
        ("directoryObject", json!({"@odata.type": "#microsoft.graph.subscribedSku"})),
    ];
    for (ty, v) in bad {
        assert!(!model.check(ty, &v, ty).is_empty(), "{ty} {v} must fail");
    }
    assert!(model.check("user", &json!({"@odata.type": "#microsoft.graph.user", "accountEnabled": true}), "u").is_empty());
}
