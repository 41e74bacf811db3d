//! The Graph routes over what a leaver can reach (authentication methods, OAuth2 consents, app
//! role assignments, OneDrive sharing, group owners) against the v1.0 CSDL, and the refusals
//! Microsoft documents for them, which custom offboarding steps will meet.

use offboard_host::demo::ids::*;
use reqwest::Method;
use serde_json::{json, Value};

use super::csdl::Model;
use super::graph::{call, token};
use super::{start, Sim};

async fn get(sim: &Sim, tok: &str, route: &str) -> Value {
    let (s, v) = call(sim, tok, Method::GET, route, None).await;
    assert_eq!(s, 200, "{route}: {v}");
    v
}

fn items(v: &Value) -> Vec<Value> {
    v.get("value").and_then(Value::as_array).cloned().unwrap_or_else(|| vec![v.clone()])
}

#[tokio::test]
async fn every_access_route_matches_the_csdl() {
    let model = Model::load();
    let sim = start().await;
    let tok = token(&sim).await;
    let drive = get(&sim, &tok, &format!("/users/{LEAVER_CLOUD_ID}/drive")).await;
    let (drive_id, root) = (drive["id"].as_str().expect("drive id"), format!("/users/{LEAVER_CLOUD_ID}/drive/root"));
    let root_id = get(&sim, &tok, &root).await["id"].as_str().expect("root id").to_string();
    let u = LEAVER_CLOUD_ID;
    let mut routes = vec![
        (format!("/users/{u}/authentication/methods"), "authenticationMethod"),
        (format!("/users/{LEAVER_ADMIN_ID}/authentication/methods"), "authenticationMethod"),
        (format!("/users/{u}/oauth2PermissionGrants"), "oAuth2PermissionGrant"),
        (format!("/oauth2PermissionGrants?$filter=principalId eq '{u}'"), "oAuth2PermissionGrant"),
        ("/oauth2PermissionGrants".to_string(), "oAuth2PermissionGrant"),
        (format!("/users/{u}/appRoleAssignments"), "appRoleAssignment"),
        (format!("/users/{u}/drive"), "drive"),
        (format!("/drives/{drive_id}"), "drive"),
        (root.clone(), "driveItem"),
        (format!("/drives/{drive_id}/items/{root_id}"), "driveItem"),
        (format!("/drives/{drive_id}/items/{root_id}/permissions"), "permission"),
        (format!("/groups/{GROUP_PROJECT_FALCON}/owners"), "directoryObject"),
        (format!("/groups/{GROUP_SALES_PIPELINE_TEAM}"), "group"),
        (format!("/users/{u}?$select=proxyAddresses,displayName"), "user"),
    ];
    for (seg, ty) in [
        ("phoneMethods", "phoneAuthenticationMethod"),
        ("microsoftAuthenticatorMethods", "microsoftAuthenticatorAuthenticationMethod"),
        ("fido2Methods", "fido2AuthenticationMethod"),
        ("windowsHelloForBusinessMethods", "windowsHelloForBusinessAuthenticationMethod"),
        ("softwareOathMethods", "softwareOathAuthenticationMethod"),
        ("temporaryAccessPassMethods", "temporaryAccessPassAuthenticationMethod"),
        ("emailMethods", "emailAuthenticationMethod"),
        ("passwordMethods", "passwordAuthenticationMethod"),
    ] {
        routes.push((format!("/users/{u}/authentication/{seg}"), ty));
    }
    let mut errors = Vec::new();
    for (route, ty) in &routes {
        let list = items(&get(&sim, &tok, route).await);
        assert!(!list.is_empty(), "{route}: an empty answer proves nothing");
        for (i, item) in list.iter().enumerate() {
            errors.extend(model.check(ty, item, &format!("{route}[{i}]")));
        }
    }
    // Every derived type is listed, each named by its @odata.type.
    let types: Vec<String> = items(&get(&sim, &tok, &format!("/users/{u}/authentication/methods")).await)
        .iter()
        .map(|m| m["@odata.type"].as_str().unwrap_or("none").to_string())
        .collect();
    for t in
        ["phone", "microsoftAuthenticator", "fido2", "windowsHelloForBusiness", "softwareOath", "temporaryAccessPass", "email", "password"]
    {
        let want = format!("#microsoft.graph.{t}AuthenticationMethod");
        assert!(types.contains(&want), "{want} missing from {types:?}");
        assert!(model.derives(&want, "authenticationMethod"), "{want} is not an authenticationMethod in the CSDL");
    }
    // The answers of the writes, too.
    let invite = json!({"recipients": [{"email": MANAGER_UPN}], "roles": ["write"], "requireSignIn": true, "sendInvitation": false});
    let (s, v) = call(&sim, &tok, Method::POST, &format!("/drives/{drive_id}/items/{root_id}/invite"), Some(invite)).await;
    assert_eq!(s, 200, "{v}");
    for (i, p) in items(&v).iter().enumerate() {
        errors.extend(model.check("permission", p, &format!("invite[{i}]")));
    }
    assert!(errors.is_empty(), "{} contract violations:\n{}", errors.len(), errors.join("\n"));
}

#[tokio::test]
async fn the_invite_body_takes_the_csdl_parameter_names_only() {
    let model = Model::load();
    let params: Vec<String> = model.actions[&("invite".to_string(), "driveItem".to_string())].iter().map(|p| p.0.clone()).collect();
    for p in ["recipients", "roles", "requireSignIn", "sendInvitation", "message"] {
        assert!(params.iter().any(|x| x == p), "{p} is not an invite parameter in the CSDL: {params:?}");
    }
    let sim = start().await;
    let tok = token(&sim).await;
    let route = format!("/users/{LEAVER_CLOUD_ID}/drive/root/invite");
    let base = json!({"recipients": [{"objectId": MANAGER_ID}], "roles": ["read"]});
    for name in &params {
        let mut body = base.clone();
        if body.get(name).is_none() {
            body[name] = match model.actions[&("invite".to_string(), "driveItem".to_string())].iter().find(|p| &p.0 == name) {
                Some((_, p)) if p.ty == "Edm.Boolean" => json!(false),
                _ => json!("2030-01-01T00:00:00Z"),
            };
        }
        let (s, v) = call(&sim, &tok, Method::POST, &route, Some(body)).await;
        let refused_name = v["error"]["message"].as_str().is_some_and(|m| m.contains("is not a valid parameter"));
        assert!(s == 200 || !refused_name, "{name}: a CSDL parameter was refused: {v}");
    }
    // Names are case-sensitive, and roles are read or write.
    for body in [
        json!({"Recipients": [{"objectId": MANAGER_ID}], "roles": ["read"]}),
        json!({"recipients": [{"objectId": MANAGER_ID}], "roles": ["owner"]}),
        json!({"recipients": [], "roles": ["read"]}),
        json!({"recipients": [{"objectId": MANAGER_ID, "mail": "x"}], "roles": ["read"]}),
    ] {
        let (s, v) = call(&sim, &tok, Method::POST, &route, Some(body.clone())).await;
        assert_eq!((s, v["error"]["code"].as_str()), (400, Some("invalidRequest")), "{body}: {v}");
    }
}

#[tokio::test]
async fn authentication_methods_are_deleted_as_graph_allows() {
    let sim = start().await;
    let tok = token(&sim).await;
    let base = format!("/users/{LEAVER_CLOUD_ID}/authentication");
    let methods = items(&get(&sim, &tok, &format!("{base}/methods")).await);
    let id_of = |t: &str| -> Vec<String> {
        let want = format!("#microsoft.graph.{t}");
        methods.iter().filter(|m| m["@odata.type"] == want.as_str()).map(|m| m["id"].as_str().unwrap_or("").to_string()).collect()
    };
    let password = id_of("passwordAuthenticationMethod").into_iter().next().expect("password");
    let (s, _) = call(&sim, &tok, Method::DELETE, &format!("{base}/passwordMethods/{password}"), None).await;
    assert_eq!(s, 405, "the password method has no DELETE");
    let (s, _) = call(&sim, &tok, Method::DELETE, &format!("{base}/methods/{password}"), None).await;
    assert_eq!(s, 405, "nor does the generic collection");
    // The mobile number is the default: refused while other methods remain.
    let phones: Vec<Value> = items(&get(&sim, &tok, &format!("{base}/phoneMethods")).await);
    let mobile = phones.iter().find(|p| p["phoneType"] == "mobile").expect("mobile")["id"].as_str().expect("id").to_string();
    let (s, v) = call(&sim, &tok, Method::DELETE, &format!("{base}/phoneMethods/{mobile}"), None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("badRequest")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap_or("").starts_with("Cannot delete default method with other methods configured"));
    // A method under another type's collection is not found.
    let fido = id_of("fido2AuthenticationMethod").into_iter().next().expect("fido2");
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{base}/phoneMethods/{fido}"), None).await.0, 404);
    // Every other method, then the default: each goes once.
    let segs = [
        ("microsoftAuthenticator", "microsoftAuthenticatorMethods"),
        ("fido2", "fido2Methods"),
        ("windowsHelloForBusiness", "windowsHelloForBusinessMethods"),
        ("softwareOath", "softwareOathMethods"),
        ("temporaryAccessPass", "temporaryAccessPassMethods"),
        ("email", "emailMethods"),
    ];
    for (t, seg) in segs {
        for id in id_of(&format!("{t}AuthenticationMethod")) {
            let route = format!("{base}/{seg}/{id}");
            assert_eq!(call(&sim, &tok, Method::DELETE, &route, None).await.0, 204, "{route}");
            assert_eq!(call(&sim, &tok, Method::DELETE, &route, None).await.0, 404, "{route} again");
        }
    }
    let alternate = phones.iter().find(|p| p["phoneType"] == "alternateMobile").expect("alternate")["id"].as_str().expect("id").to_string();
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{base}/phoneMethods/{alternate}"), None).await.0, 204);
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{base}/phoneMethods/{mobile}"), None).await.0, 204, "the default, last");
    let left = items(&get(&sim, &tok, &format!("{base}/methods")).await);
    assert_eq!(left.len(), 1, "only the password is left: {left:?}");
    assert_eq!(left[0]["@odata.type"], "#microsoft.graph.passwordAuthenticationMethod");
}

#[tokio::test]
async fn a_mobile_number_cannot_go_before_the_alternate_one() {
    let sim = super::start_with(|st| {
        // Make another method the default, so only the alternate-mobile rule is left in the way.
        for m in st["authMethods"].as_array_mut().expect("methods") {
            m["isDefault"] = json!(m["kind"] == "emailAuthenticationMethod");
        }
    })
    .await;
    let tok = token(&sim).await;
    let route = format!("/users/{LEAVER_CLOUD_ID}/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7");
    let (s, v) = call(&sim, &tok, Method::DELETE, &route, None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("badRequest")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("alternateMobile"), "{v}");
}

#[tokio::test]
async fn consents_and_app_roles_are_revoked_and_restored() {
    let sim = start().await;
    let tok = token(&sim).await;
    let u = LEAVER_CLOUD_ID;
    let all = items(&get(&sim, &tok, "/oauth2PermissionGrants").await);
    let mine = items(&get(&sim, &tok, &format!("/oauth2PermissionGrants?$filter=principalId eq '{u}'")).await);
    let nav = items(&get(&sim, &tok, &format!("/users/{u}/oauth2PermissionGrants")).await);
    assert_eq!(mine, nav, "the filter and the navigation agree");
    assert!(all.iter().any(|g| g["consentType"] == "AllPrincipals"), "an admin consent exists");
    assert!(mine.iter().all(|g| g["principalId"] == u && g["consentType"] == "Principal"), "{mine:?}");
    let grant = mine[0].clone();
    let gid = grant["id"].as_str().expect("id");
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("/oauth2PermissionGrants/{gid}"), None).await.0, 204);
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("/oauth2PermissionGrants/{gid}"), None).await.0, 404);
    let restore: Value =
        ["clientId", "consentType", "principalId", "resourceId", "scope"].iter().map(|k| (k.to_string(), grant[k].clone())).collect();
    let (s, v) = call(&sim, &tok, Method::POST, "/oauth2PermissionGrants", Some(restore.clone())).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["scope"], grant["scope"]);
    assert_eq!(call(&sim, &tok, Method::POST, "/oauth2PermissionGrants", Some(restore)).await.0, 409, "a second grant is refused");
    let bad = json!({"clientId": grant["clientId"], "consentType": "AllPrincipals", "principalId": u, "resourceId": grant["resourceId"]});
    assert_eq!(call(&sim, &tok, Method::POST, "/oauth2PermissionGrants", Some(bad)).await.0, 400, "principalId goes with Principal only");

    let route = format!("/users/{u}/appRoleAssignments");
    let assignments = items(&get(&sim, &tok, &route).await);
    assert!(assignments.len() >= 2, "{assignments:?}");
    let a = assignments[0].clone();
    let aid = a["id"].as_str().expect("id");
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{route}/{aid}"), None).await.0, 204);
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{route}/{aid}"), None).await.0, 404);
    let body = json!({"principalId": u, "resourceId": a["resourceId"], "appRoleId": a["appRoleId"]});
    let (s, v) = call(&sim, &tok, Method::POST, &route, Some(body.clone())).await;
    assert_eq!((s, &v["appRoleId"]), (201, &a["appRoleId"]), "{v}");
    assert_eq!(call(&sim, &tok, Method::POST, &route, Some(body)).await.0, 400, "the same assignment twice");
    let wrong = json!({"principalId": u, "resourceId": a["resourceId"], "appRoleId": "11111111-1111-1111-1111-111111111111"});
    assert_eq!(call(&sim, &tok, Method::POST, &route, Some(wrong)).await.0, 400, "an app role the resource does not define");
    let other = json!({"principalId": MANAGER_ID, "resourceId": a["resourceId"], "appRoleId": a["appRoleId"]});
    assert_eq!(call(&sim, &tok, Method::POST, &route, Some(other)).await.0, 400, "the principal must be the user");
}

#[tokio::test]
async fn the_last_owner_of_a_group_cannot_be_removed() {
    let sim = start().await;
    let tok = token(&sim).await;
    let team = get(&sim, &tok, &format!("/groups/{GROUP_SALES_PIPELINE_TEAM}")).await;
    assert_eq!(team["resourceProvisioningOptions"], json!(["Team"]));
    for g in [GROUP_PROJECT_FALCON, GROUP_SALES_PIPELINE_TEAM] {
        let owners = items(&get(&sim, &tok, &format!("/groups/{g}/owners")).await);
        assert_eq!(
            owners.iter().map(|o| o["id"].clone()).collect::<Vec<_>>(),
            [json!(LEAVER_CLOUD_ID)],
            "the leaver is the only owner of {g}"
        );
        let remove = format!("/groups/{g}/owners/{LEAVER_CLOUD_ID}/$ref");
        let (s, v) = call(&sim, &tok, Method::DELETE, &remove, None).await;
        assert_eq!((s, v["error"]["code"].as_str()), (400, Some("Request_BadRequest")), "{v}");
        assert_eq!(v["error"]["message"], "The group must have at least one owner, hence this owner cannot be removed.");
        let add = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{MANAGER_ID}")});
        assert_eq!(call(&sim, &tok, Method::POST, &format!("/groups/{g}/owners/$ref"), Some(add.clone())).await.0, 204);
        assert_eq!(call(&sim, &tok, Method::POST, &format!("/groups/{g}/owners/$ref"), Some(add)).await.0, 400, "already an owner");
        assert_eq!(call(&sim, &tok, Method::DELETE, &remove, None).await.0, 204, "with a second owner it goes");
        assert_eq!(call(&sim, &tok, Method::DELETE, &remove, None).await.0, 404);
    }
    let by_upn = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{MANAGER_UPN}")});
    assert_eq!(call(&sim, &tok, Method::POST, &format!("/groups/{GROUP_SALES_TEAM}/owners/$ref"), Some(by_upn)).await.0, 404, "ids only");
}

#[tokio::test]
async fn onedrive_sharing_is_granted_and_removed() {
    let sim = start().await;
    let tok = token(&sim).await;
    let drive = get(&sim, &tok, &format!("/users/{LEAVER_CLOUD_UPN}/drive")).await;
    assert_eq!(drive["driveType"], "business");
    let did = drive["id"].as_str().expect("id");
    let perms_route = format!("/drives/{did}/items/root/permissions");
    let before = items(&get(&sim, &tok, &perms_route).await);
    assert_eq!(before.len(), 1, "only the owner's: {before:?}");
    let owner = before[0]["id"].as_str().expect("id");
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{perms_route}/{owner}"), None).await.0, 403, "the owner's stays");
    let invite = json!({"recipients": [{"email": MANAGER_UPN}], "roles": ["write"], "requireSignIn": true, "sendInvitation": false});
    let (s, v) = call(&sim, &tok, Method::POST, &format!("/drives/{did}/items/root/invite"), Some(invite.clone())).await;
    assert_eq!(s, 200, "{v}");
    let p = &v["value"][0];
    assert_eq!((&p["roles"], &p["grantedTo"]["user"]["id"]), (&json!(["write"]), &json!(MANAGER_ID)), "{v}");
    // Sent again, the invitation leaves one permission, not two.
    assert_eq!(call(&sim, &tok, Method::POST, &format!("/drives/{did}/items/root/invite"), Some(invite)).await.0, 200);
    assert_eq!(items(&get(&sim, &tok, &perms_route).await).len(), 2);
    let pid = p["id"].as_str().expect("id");
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{perms_route}/{pid}"), None).await.0, 204);
    assert_eq!(call(&sim, &tok, Method::DELETE, &format!("{perms_route}/{pid}"), None).await.0, 404);
    let guest = json!({"recipients": [{"email": "someone@outside.example"}], "roles": ["read"]});
    assert_eq!(call(&sim, &tok, Method::POST, &format!("/drives/{did}/items/root/invite"), Some(guest)).await.0, 403);
    assert_eq!(call(&sim, &tok, Method::GET, &format!("/drives/{did}/items/01NOTANITEM"), None).await.0, 404);
    // An ordinary user never opened their OneDrive.
    let (s, v) = call(&sim, &tok, Method::GET, "/users/alex.adams@contoso.test/drive", None).await;
    assert_eq!((s, v["error"]["message"].as_str()), (404, Some("User's mysite not found.")), "{v}");
}
