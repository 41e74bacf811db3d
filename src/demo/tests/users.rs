//! Reading, listing and changing users, and the manager reference.

use super::*;

#[tokio::test]
async fn get_user_by_upn_and_id_default_vs_select() {
    let t = start().await;
    let (s, by_upn) = t.get("/users/LEAVER.CLOUD@contoso.test").await;
    assert_eq!(s, 200);
    assert_eq!(by_upn["id"], LEAVER_CLOUD_ID);
    assert_eq!(by_upn["displayName"], "Lee Cloud");
    assert!(by_upn.get("accountEnabled").is_none(), "accountEnabled is not in Graph's default set");
    assert!(by_upn.get("employeeId").is_none());
    assert_eq!(by_upn["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#users/$entity");
    let keys = by_upn.as_object().expect("obj").len();
    assert_eq!(keys, 12, "11 default properties plus @odata.context");

    let (s, by_id) = t
        .get(&format!(
            "/users/{LEAVER_CLOUD_ID}?$select=id,accountEnabled,employeeId,onPremisesSyncEnabled,assignedLicenses,licenseAssignmentStates"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(by_id["accountEnabled"], true);
    assert_eq!(by_id["employeeId"], "E1001");
    assert_eq!(by_id["onPremisesSyncEnabled"], Value::Null);
    assert!(by_id.get("displayName").is_none());
    assert_eq!(by_id["assignedLicenses"].as_array().expect("al").len(), 3);
    let states = by_id["licenseAssignmentStates"].as_array().expect("las");
    let visio = states.iter().find(|s| s["skuId"] == SKU_VISIOCLIENT).expect("visio");
    assert_eq!(visio["assignedByGroup"], GROUP_VISIO_LICENCE);

    let (s, synced) = t.get(&format!("/users/{LEAVER_SYNCED_UPN}?$select=onPremisesSyncEnabled,onPremisesSamAccountName")).await;
    assert_eq!(s, 200);
    assert_eq!(synced["onPremisesSyncEnabled"], true);
    assert_eq!(synced["onPremisesSamAccountName"], "ssynced");

    let (s, err) = t.get("/users/manager@contoso.test?$select=id,favouriteColour").await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["code"], "Request_BadRequest");
    assert_eq!(err["error"]["message"], "Could not find a property named 'favouriteColour' on type 'microsoft.graph.user'.");
}

#[tokio::test]
async fn unknown_user_and_unknown_segment_errors_have_graph_shape() {
    let t = start().await;
    let (s, v, h) = t.call("GET", "/users/nobody%23EXT%23@contoso.test", None).await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        v["error"]["message"],
        "Resource 'nobody#EXT#@contoso.test' does not exist or one of its queried reference-property objects are not present."
    );
    let inner = &v["error"]["innerError"];
    assert!(inner["date"].as_str().expect("date").ends_with('Z'));
    assert_eq!(inner["request-id"].as_str().expect("rid").len(), 36);
    assert!(inner["client-request-id"].is_string());
    assert!(h.get("content-type").expect("ct").to_str().expect("ct").starts_with("application/json"));

    let (s, v) = t.get("/userz/x").await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "BadRequest");
    assert_eq!(v["error"]["message"], "Resource not found for the segment 'userz'.");

    let (s, v) = t.get("/users/manager@contoso.test/frobnicate").await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], "Resource not found for the segment 'frobnicate'.");
}

#[tokio::test]
async fn patch_account_enabled_is_applied_and_counted() {
    let t = start().await;
    let (s, v, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_UPN}"), Some(json!({"accountEnabled": false}))).await;
    assert_eq!(s, 204);
    assert_eq!(v, Value::Null);
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=accountEnabled")).await;
    assert_eq!(u["accountEnabled"], false);

    let (s, v, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"accountEnabled": "no"}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "BadRequest");
    let (s, v, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"shoeSize": 9}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], "Property 'shoeSize' does not exist as a declared property or extension property.");

    let st = t.server.stats();
    assert_eq!(st.writes, 3);
    assert_eq!(st.writes_applied, 1);
    assert_eq!(st.operations, 4);
}

#[tokio::test]
async fn synced_user_rejects_on_prem_mastered_changes_but_not_disable() {
    let t = start().await;
    let msg = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";
    let (s, v, _) = t.call("PATCH", &format!("/users/{LEAVER_SYNCED_ID}"), Some(json!({"employeeId": null}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "Request_BadRequest");
    assert_eq!(v["error"]["message"], msg);
    let (s, _, _) =
        t.call("PATCH", &format!("/users/{LEAVER_SYNCED_ID}"), Some(json!({"passwordProfile": {"password": "Xy7!abcdefg"}}))).await;
    assert_eq!(s, 400);
    let (s, _, _) = t.call("DELETE", &format!("/users/{LEAVER_SYNCED_ID}/manager/$ref"), None).await;
    assert_eq!(s, 400);
    let (s, _, _) = t.call("PATCH", &format!("/users/{LEAVER_SYNCED_ID}"), Some(json!({"accountEnabled": false}))).await;
    assert_eq!(s, 204);
    let state = t.state().await;
    let u = user_in(&state, LEAVER_SYNCED_ID);
    assert_eq!(u["employeeId"], "E1002");
    assert_eq!(u["accountEnabled"], false);
    assert_eq!(u["managerId"], MANAGER_ID);
}

#[tokio::test]
async fn password_change_checks_complexity_and_stores_only_a_hash() {
    let dir = tempfile::tempdir().expect("tmp");
    let canary_file = dir.path().join("passwords.txt");
    let t = start_with(Knobs { record_passwords: Some(canary_file.clone()), ..Knobs::default() }).await;
    let (s, v, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"passwordProfile": {"password": "weakpass"}}))).await;
    assert_eq!(s, 400);
    assert_eq!(
        v["error"]["message"],
        "The specified password does not comply with password complexity requirements. Please provide a different password."
    );
    let canary = "Canary-7f3e!Zq";
    let before = t.state().await;
    let (s, _, _) = t
        .call(
            "PATCH",
            &format!("/users/{LEAVER_CLOUD_ID}"),
            Some(json!({"passwordProfile": {"password": canary, "forceChangePasswordNextSignIn": true}})),
        )
        .await;
    assert_eq!(s, 204);
    let after = t.state().await;
    let u = user_in(&after, LEAVER_CLOUD_ID);
    assert_ne!(u["lastPasswordChangeDateTime"], user_in(&before, LEAVER_CLOUD_ID)["lastPasswordChangeDateTime"]);
    use sha2::Digest;
    assert_eq!(u["passwordSha256"], hex::encode(sha2::Sha256::digest(canary.as_bytes())));
    t.server.shutdown().await;
    let file = std::fs::read_to_string(state_path(&t.dir)).expect("state file");
    assert!(!file.contains(canary), "the password itself is never stored");
    let recorded = std::fs::read_to_string(&canary_file).expect("canary file");
    assert_eq!(recorded, format!("weakpass\n{canary}\n"));
}

#[tokio::test]
async fn manager_get_delete_and_put() {
    let t = start().await;
    let (s, m) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/manager?$select=id,displayName")).await;
    assert_eq!(s, 200);
    assert_eq!(m["id"], MANAGER_ID);
    assert_eq!(m["displayName"], "Morgan Manager");
    let (s, _, _) = t.call("DELETE", &format!("/users/{LEAVER_CLOUD_ID}/manager/$ref"), None).await;
    assert_eq!(s, 204);
    let (s, v) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/manager")).await;
    assert_eq!(s, 404);
    assert_eq!(
        v["error"]["message"],
        "Resource 'manager' does not exist or one of its queried reference-property objects are not present."
    );
    let (s, _, _) = t.call("DELETE", &format!("/users/{LEAVER_CLOUD_ID}/manager/$ref"), None).await;
    assert_eq!(s, 404);
    let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{MANAGER_ID}")});
    let (s, _, _) = t.call("PUT", &format!("/users/{LEAVER_CLOUD_ID}/manager/$ref"), Some(body)).await;
    assert_eq!(s, 204);
    let (_, m) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/manager?$select=id")).await;
    assert_eq!(m["id"], MANAGER_ID);
}

#[tokio::test]
async fn revoke_sign_in_sessions_moves_the_timestamp() {
    let t = start().await;
    let (_, before) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=signInSessionsValidFromDateTime")).await;
    let (s, v, _) = t.call("POST", &format!("/users/{LEAVER_CLOUD_ID}/revokeSignInSessions"), None).await;
    assert_eq!(s, 200);
    assert_eq!(v, json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true}));
    let (_, after) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=signInSessionsValidFromDateTime")).await;
    let (b, a) =
        (before["signInSessionsValidFromDateTime"].as_str().expect("b"), after["signInSessionsValidFromDateTime"].as_str().expect("a"));
    assert!(a > b, "{a} > {b}");
    assert_eq!(a.len(), "2026-11-28T16:30:05Z".len());
    assert!(a.ends_with('Z'));
}

#[tokio::test]
async fn users_list_pages_filters_and_counts() {
    let t = start().await;
    let mut next = Some(t.url("/users?$select=id,userPrincipalName"));
    let mut upns = std::collections::HashSet::new();
    let mut pages = 0;
    while let Some(url) = next {
        let (s, v, _) = t.call("GET", &url, None).await;
        assert_eq!(s, 200);
        for u in v["value"].as_array().expect("value") {
            upns.insert(u["userPrincipalName"].as_str().expect("upn").to_string());
        }
        next = v["@odata.nextLink"].as_str().map(String::from);
        pages += 1;
    }
    assert_eq!(upns.len(), seed::NAMED_USERS + seed::ORDINARY_USERS);
    assert_eq!(pages, 3, "235 users at the default page size of 100");

    let (s, v) = t.get("/users?$filter=employeeId%20eq%20'E1002'&$select=id").await;
    assert_eq!(s, 200);
    assert_eq!(v["value"], json!([{"id": LEAVER_SYNCED_ID}]));
    let (_, v) = t.get("/users?$filter=userPrincipalName eq 'LEAVER.CLOUD@contoso.test'").await;
    assert_eq!(v["value"][0]["id"], LEAVER_CLOUD_ID);
    let (_, v) = t.get("/users?$filter=startswith(displayName,'Morgan')&$select=displayName").await;
    assert_eq!(v["value"], json!([{"displayName": "Morgan Manager"}]));
    let (s, v) = t.get("/users?$filter=mail eq 'o''brien@contoso.test'").await;
    assert_eq!(s, 200);
    assert_eq!(v["value"], json!([]));
    // Graph filters no user by a property it does not index (the password's change date here).
    let (s, v) = t.get("/users?$filter=lastPasswordChangeDateTime eq '2020-01-01'").await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "Request_UnsupportedQuery");
    assert_eq!(
        v["error"]["message"],
        "Unsupported or invalid query filter clause specified for property 'lastPasswordChangeDateTime' of resource 'User'."
    );
    let (s, _) = t.get("/users?$top=1000").await;
    assert_eq!(s, 400);

    let (_, v) = t.get("/groups?$filter=displayName eq 'sales-dl'&$select=id,mailEnabled,securityEnabled").await;
    assert_eq!(v["value"], json!([{"id": GROUP_SALES_DL, "mailEnabled": true, "securityEnabled": false}]));
    let (_, v) = t.get(&format!("/groups/{GROUP_SALES_TEAM}/members?$top=5")).await;
    assert_eq!(v["value"].as_array().expect("v").len(), 5);
    assert!(v["@odata.nextLink"].is_string());
}
