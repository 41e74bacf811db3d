//! Group membership: removal by group kind, memberOf paging and the group cast.

use super::*;

#[tokio::test]
async fn group_member_removal_by_group_kind() {
    let t = start().await;
    let del = |g: &str| format!("/groups/{g}/members/{LEAVER_CLOUD_ID}/$ref");
    let (s, _, _) = t.call("DELETE", &del(GROUP_SALES_TEAM), None).await;
    assert_eq!(s, 204);
    let (s, _, _) = t.call("DELETE", &del(GROUP_PROJECT_FALCON), None).await;
    assert_eq!(s, 204, "Microsoft 365 groups are writable even though mail-enabled");

    let cases = [
        (GROUP_ALL_SALES_DYNAMIC, "Insufficient privileges to complete the operation."),
        (GROUP_FINANCE_APPROVERS, "Cannot Update a mail-enabled security groups and or distribution list."),
        (GROUP_SALES_DL, "Cannot Update a mail-enabled security groups and or distribution list."),
        (
            GROUP_HQ_FILESHARE,
            "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
        ),
    ];
    for (g, msg) in cases {
        let (s, v, _) = t.call("DELETE", &del(g), None).await;
        assert_eq!(s, 400, "group {g}");
        assert_eq!(v["error"]["code"], "Request_BadRequest");
        assert_eq!(v["error"]["message"], msg);
    }
    // Graph names the member by object id only; a UPN is refused, not looked up.
    let (s, v, _) = t.call("DELETE", &format!("/groups/{GROUP_SALES_DL}/members/{LEAVER_CLOUD_UPN}/$ref"), None).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], format!("Invalid object identifier '{LEAVER_CLOUD_UPN}'."));
    let (s, v, _) = t.call("DELETE", &del(GROUP_SALES_TEAM), None).await;
    assert_eq!(s, 404, "no longer a member");
    assert_eq!(
        v["error"]["message"],
        "One or more removed object references do not exist for the following modified properties: 'members'."
    );

    let state = t.state().await;
    assert!(!group_members(&state, GROUP_SALES_TEAM).contains(&LEAVER_CLOUD_ID.to_string()));
    assert!(group_members(&state, GROUP_SALES_DL).contains(&LEAVER_CLOUD_ID.to_string()));
    let (_, mo) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/memberOf/microsoft.graph.group?$select=id")).await;
    let ids: Vec<&str> = mo["value"].as_array().expect("v").iter().filter_map(|g| g["id"].as_str()).collect();
    assert_eq!(ids.len(), 5);
    assert!(!ids.contains(&GROUP_SALES_TEAM) && !ids.contains(&GROUP_PROJECT_FALCON));
    assert_eq!(t.server.stats().writes_applied, 2);
}

#[tokio::test]
async fn member_of_pages_with_absolute_next_links_and_cast_drops_roles() {
    let t = start().await;
    let mut next = Some(t.url(&format!("/users/{LEAVER_CLOUD_ID}/memberOf?$top=2&$select=id,displayName")));
    let mut names = Vec::new();
    let mut pages = 0;
    while let Some(url) = next {
        assert!(url.starts_with(&format!("http://{}/v1.0/", t.server.addr())), "nextLink points at the server: {url}");
        let (s, v, _) = t.call("GET", &url, None).await;
        assert_eq!(s, 200);
        let page = v["value"].as_array().expect("value");
        assert!(page.len() <= 2);
        for g in page {
            assert_eq!(g["@odata.type"], "#microsoft.graph.group");
            names.push(g["displayName"].as_str().expect("name").to_string());
        }
        next = v["@odata.nextLink"].as_str().map(String::from);
        pages += 1;
    }
    assert_eq!(pages, 4);
    names.sort();
    assert_eq!(
        names,
        vec![
            "All Sales (dynamic)",
            "Finance Approvers",
            "HQ-FileShare-RW",
            "Licence - Visio Users",
            "Project Falcon",
            "Sales Team",
            "sales-dl"
        ]
    );

    // The one role holder: memberOf shows the role, the group cast does not.
    let state = t.state().await;
    let holder = state["directoryRoles"][0]["members"][0].as_str().expect("holder").to_string();
    let (_, all) = t.get(&format!("/users/{holder}/memberOf")).await;
    let roles: Vec<&Value> =
        all["value"].as_array().expect("v").iter().filter(|o| o["@odata.type"] == "#microsoft.graph.directoryRole").collect();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["displayName"], "Global Reader");
    let (_, groups) = t.get(&format!("/users/{holder}/memberOf/microsoft.graph.group")).await;
    assert_eq!(groups["value"].as_array().expect("v").len(), all["value"].as_array().expect("v").len() - 1);
    assert!(groups["value"].as_array().expect("v").iter().all(|o| o["@odata.type"] == "#microsoft.graph.group"));
}

#[tokio::test]
async fn transitive_member_of_matches_member_of_and_unknown_groups_404() {
    let t = start().await;
    let (s, direct) = t.get(&format!("/users/{LEAVER_SYNCED_ID}/memberOf?$select=id")).await;
    assert_eq!(s, 200);
    let (s, transitive) = t.get(&format!("/users/{LEAVER_SYNCED_ID}/transitiveMemberOf/microsoft.graph.group?$select=id")).await;
    assert_eq!(s, 200);
    assert_eq!(direct["value"], transitive["value"]);
    let ids: Vec<&str> = direct["value"].as_array().expect("v").iter().filter_map(|g| g["id"].as_str()).collect();
    assert_eq!(ids, vec![GROUP_SALES_TEAM, GROUP_PROJECT_FALCON, GROUP_HQ_FILESHARE]);

    let (s, g) = t.get(&format!("/groups/{GROUP_ALL_SALES_DYNAMIC}?$select=groupTypes,membershipRule")).await;
    assert_eq!(s, 200);
    assert_eq!(g["groupTypes"], json!(["DynamicMembership"]));
    assert_eq!(g["membershipRule"], "user.department -eq \"Sales\"");
    let (s, v) = t.get("/groups/00000000-0000-0000-0000-00000000dead").await;
    assert_eq!(s, 404);
    assert_eq!(v["error"]["code"], "Request_ResourceNotFound");
    let (s, v, _) = t.call("DELETE", &format!("/groups/{GROUP_SALES_TEAM}/members/{LEAVER_CLOUD_ID}/$ref?x=1"), None).await;
    assert_eq!(s, 204, "{v}");
    let (s, _, _) = t.call("POST", &format!("/groups/{GROUP_SALES_TEAM}"), Some(json!({}))).await;
    assert_eq!(s, 405);
}

#[tokio::test]
async fn dynamic_membership_follows_the_rule() {
    let t = start().await;
    let is_member = |state: &Value| group_members(state, GROUP_ALL_SALES_DYNAMIC).contains(&LEAVER_CLOUD_ID.to_string());
    assert!(is_member(&t.state().await));
    let (s, _, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"department": "Finance"}))).await;
    assert_eq!(s, 204);
    let state = t.state().await;
    assert!(!is_member(&state), "moving out of Sales drops the user from the dynamic group");
    assert!(group_members(&state, GROUP_ALL_SALES_DYNAMIC).contains(&MANAGER_ID.to_string()));
}

/// `memberOf/microsoft.graph.directoryRole` keeps only the roles; a role's members change by `$ref`
/// with Graph's error bodies, as a group's do.
#[tokio::test]
async fn directory_role_cast_and_role_member_refs() {
    let t = start().await;
    let (s, v) =
        t.get(&format!("/users/{LEAVER_ADMIN_ID}/memberOf/microsoft.graph.directoryRole?$select=id,displayName,roleTemplateId")).await;
    assert_eq!(s, 200, "{v}");
    let roles = v["value"].as_array().expect("v");
    assert_eq!(roles.len(), 1, "{v}");
    assert_eq!(roles[0]["displayName"], "Global Administrator");
    assert_eq!(roles[0]["roleTemplateId"], "62e90394-69f5-4237-9190-012177145e10");
    assert_eq!(roles[0]["@odata.type"], "#microsoft.graph.directoryRole");
    let (_, v) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/memberOf/microsoft.graph.directoryRole")).await;
    assert!(v["value"].as_array().expect("v").is_empty());
    let (s, _) = t.get(&format!("/users/{LEAVER_ADMIN_ID}/memberOf/microsoft.graph.directoryRole?$select=mail")).await;
    assert_eq!(s, 400, "a group property is not a role property");

    let del = format!("/directoryRoles/{ROLE_GLOBAL_ADMIN}/members/{LEAVER_ADMIN_ID}/$ref");
    assert_eq!(t.call("DELETE", &del, None).await.0, 204);
    let (s, v, _) = t.call("DELETE", &del, None).await;
    assert_eq!(s, 404);
    assert_eq!(
        v["error"]["message"],
        "One or more removed object references do not exist for the following modified properties: 'members'."
    );
    let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{LEAVER_ADMIN_ID}")});
    let add = format!("/directoryRoles/{ROLE_GLOBAL_ADMIN}/members/$ref");
    assert_eq!(t.call("POST", &add, Some(body.clone())).await.0, 204);
    let (s, v, _) = t.call("POST", &add, Some(body)).await;
    assert_eq!(s, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("already exist"), "{v}");
}
