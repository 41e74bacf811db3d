//! End-to-end tests of the demo tenant over real HTTP on loopback, with reqwest, the way the
//! project's Graph client talks to it. Every test asserts on concrete values so none can pass by
//! accident against an empty or broken tenant.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::ids::*;
use super::*;

struct T {
    server: DemoServer,
    http: reqwest::Client,
    token: String,
    dir: tempfile::TempDir,
}

fn state_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("sub").join("state.json")
}

async fn start_with(knobs: Knobs) -> T {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = DemoServer::start(
        DemoConfig { state_path: state_path(&dir), knobs },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("start");
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &server).await;
    T { server, http, token, dir }
}

async fn start() -> T {
    start_with(Knobs::default()).await
}

async fn fetch_token(http: &reqwest::Client, server: &DemoServer) -> String {
    let resp = http
        .post(server.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("token json");
    v["access_token"].as_str().expect("access_token").to_string()
}

impl T {
    fn url(&self, rel: &str) -> String {
        format!("{}{}", self.server.base_url(), rel)
    }
    async fn call(&self, method: &str, rel: &str, body: Option<Value>) -> (u16, Value, reqwest::header::HeaderMap) {
        let url = if rel.starts_with("http") { rel.to_string() } else { self.url(rel) };
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("json body") };
        (status, v, headers)
    }
    async fn get(&self, rel: &str) -> (u16, Value) {
        let (s, v, _) = self.call("GET", rel, None).await;
        (s, v)
    }
    async fn set_knobs(&self, k: Value) {
        let r = self
            .http
            .put(format!("http://{}/_sim/knobs", self.server.addr()))
            .json(&k)
            .send()
            .await
            .expect("knobs");
        assert_eq!(r.status(), 200);
    }
    async fn state(&self) -> Value {
        self.http
            .get(format!("http://{}/_sim/state", self.server.addr()))
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("state json")
    }
}

fn user_in<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["users"].as_array().and_then(|u| u.iter().find(|u| u["id"] == id)).expect("user in state")
}

fn group_members(state: &Value, gid: &str) -> Vec<String> {
    let g = state["groups"].as_array().and_then(|g| g.iter().find(|g| g["id"] == gid)).expect("group");
    g["members"].as_array().expect("members").iter().filter_map(|m| m.as_str().map(String::from)).collect()
}

#[tokio::test]
async fn token_ok_bad_secret_and_missing_bearer() {
    let t = start().await;
    assert!(t.token.starts_with("demo.") && t.token.len() > 40);

    let bad = t
        .http
        .post(t.server.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", "wrong"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status(), 401);
    let v: Value = bad.json().await.expect("json");
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"], json!([7000215]));
    assert!(v["error_description"].as_str().expect("desc").starts_with("AADSTS7000215: Invalid client secret provided."));

    let tenant = t
        .http
        .post(format!("http://{}/nope.example/oauth2/v2.0/token", t.server.addr()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(tenant.status(), 400);
    let v: Value = tenant.json().await.expect("json");
    assert!(v["error_description"].as_str().expect("desc").starts_with("AADSTS90002: Tenant 'nope.example' not found."));

    let grant = t
        .http
        .post(t.server.token_url())
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("send");
    assert_eq!(grant.status(), 400);
    assert_eq!(grant.json::<Value>().await.expect("json")["error"], "unsupported_grant_type");

    let none = t.http.get(t.url("/users/manager@contoso.test")).send().await.expect("send");
    assert_eq!(none.status(), 401);
    let v: Value = none.json().await.expect("json");
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(v["error"]["message"], "Access token is empty.");

    let forged = t.http.get(t.url("/users/manager@contoso.test")).bearer_auth("forged").send().await.expect("send");
    assert_eq!(forged.status(), 401);
    let v: Value = forged.json().await.expect("json");
    assert_eq!(v["error"]["message"], "Access token validation failure. Invalid audience.");

    let stats = t.server.stats();
    assert_eq!(stats.token_requests, 4);
    assert_eq!(stats.http_requests, 6);
    assert_eq!(stats.operations, 0, "unauthenticated requests are not Graph operations");
}

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
        .get(&format!("/users/{LEAVER_CLOUD_ID}?$select=id,accountEnabled,employeeId,onPremisesSyncEnabled,assignedLicenses,licenseAssignmentStates"))
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
    let (s, _, _) = t
        .call("PATCH", &format!("/users/{LEAVER_SYNCED_ID}"), Some(json!({"passwordProfile": {"password": "Xy7!abcdefg"}})))
        .await;
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
    let (s, v, _) = t
        .call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"passwordProfile": {"password": "weakpass"}})))
        .await;
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
async fn licence_removal_direct_inherited_missing_and_via_group() {
    let t = start().await;
    let url = format!("/users/{LEAVER_CLOUD_ID}/assignLicense");
    let (s, v, _) = t.call("POST", &url, Some(json!({"addLicenses": [], "removeLicenses": [SKU_POWER_BI_PRO]}))).await;
    assert_eq!(s, 200);
    assert_eq!(v["id"], LEAVER_CLOUD_ID);
    let (s, v, _) = t.call("POST", &url, Some(json!({"addLicenses": [], "removeLicenses": [SKU_VISIOCLIENT]}))).await;
    assert_eq!(s, 400);
    assert_eq!(
        v["error"]["message"],
        "User license is inherited from a group membership and it cannot be removed directly from the user."
    );
    let (s, v, _) = t.call("POST", &url, Some(json!({"addLicenses": [], "removeLicenses": [SKU_EMS]}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], "User does not have a corresponding license.");
    let (s, _, _) = t.call("POST", &url, Some(json!({"removeLicenses": [SKU_EMS]}))).await;
    assert_eq!(s, 400, "addLicenses is required");
    let bogus = "00000000-0000-0000-0000-000000000000";
    let (s, v, _) = t.call("POST", &url, Some(json!({"addLicenses": [{"skuId": bogus}], "removeLicenses": []}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], format!("License {bogus} does not correspond to a valid company License."));

    let (_, d) = t.get(&format!("/users/{LEAVER_CLOUD_ID}/licenseDetails")).await;
    let parts: Vec<&str> = d["value"].as_array().expect("v").iter().filter_map(|l| l["skuPartNumber"].as_str()).collect();
    assert_eq!(parts, vec!["SPE_E3", "VISIOCLIENT"]);

    // Leaving the licensing group takes the inherited licence with it.
    let (_, skus) = t.get("/subscribedSkus").await;
    let visio_used = |v: &Value| {
        v["value"].as_array().expect("v").iter().find(|s| s["skuPartNumber"] == "VISIOCLIENT").expect("visio")["consumedUnits"]
            .as_u64()
            .expect("n")
    };
    let before = visio_used(&skus);
    assert_eq!(before, 6);
    let (s, _, _) = t.call("DELETE", &format!("/groups/{GROUP_VISIO_LICENCE}/members/{LEAVER_CLOUD_ID}/$ref"), None).await;
    assert_eq!(s, 204);
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=assignedLicenses,licenseAssignmentStates")).await;
    assert_eq!(u["assignedLicenses"], json!([{"disabledPlans": [], "skuId": SKU_SPE_E3}]));
    assert_eq!(u["licenseAssignmentStates"].as_array().expect("las").len(), 1);
    let (_, skus) = t.get("/subscribedSkus").await;
    assert_eq!(visio_used(&skus), before - 1);

    // Adding a SKU back consumes a seat and shows as a direct state.
    let (s, _, _) = t.call("POST", &url, Some(json!({"addLicenses": [{"skuId": SKU_EMS, "disabledPlans": []}], "removeLicenses": []}))).await;
    assert_eq!(s, 200);
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=assignedLicenses")).await;
    assert_eq!(u["assignedLicenses"].as_array().expect("al").len(), 2);
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
        vec!["All Sales (dynamic)", "Finance Approvers", "HQ-FileShare-RW", "Licence - Visio Users", "Project Falcon", "Sales Team", "sales-dl"]
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
    assert_eq!(upns.len(), 3 + seed::ORDINARY_USERS);
    assert_eq!(pages, 3, "233 users at the default page size of 100");

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
    let (s, v) = t.get("/users?$filter=department eq 'Sales'").await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "Request_UnsupportedQuery");
    assert_eq!(v["error"]["message"], "Unsupported Query.");
    let (s, _) = t.get("/users?$top=1000").await;
    assert_eq!(s, 400);

    let (_, v) = t.get("/groups?$filter=displayName eq 'sales-dl'&$select=id,mailEnabled,securityEnabled").await;
    assert_eq!(v["value"], json!([{"id": GROUP_SALES_DL, "mailEnabled": true, "securityEnabled": false}]));
    let (_, v) = t.get(&format!("/groups/{GROUP_SALES_TEAM}/members?$top=5")).await;
    assert_eq!(v["value"].as_array().expect("v").len(), 5);
    assert!(v["@odata.nextLink"].is_string());
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
    let (b, a) = (
        before["signInSessionsValidFromDateTime"].as_str().expect("b"),
        after["signInSessionsValidFromDateTime"].as_str().expect("a"),
    );
    assert!(a > b, "{a} > {b}");
    assert_eq!(a.len(), "2026-11-28T16:30:05Z".len());
    assert!(a.ends_with('Z'));
}

#[tokio::test]
async fn batch_runs_sub_requests_and_validates_the_envelope() {
    let t = start().await;
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/users/{LEAVER_CLOUD_ID}?$select=id,accountEnabled")},
        {"id": "2", "method": "GET", "url": "users/ghost@contoso.test"},
        {"id": "3", "method": "PATCH", "url": format!("/users/{LEAVER_CLOUD_ID}"),
         "headers": {"Content-Type": "application/json"}, "body": {"accountEnabled": false}},
        {"id": "4", "method": "GET", "url": "/users/ghost@contoso.test/manager", "dependsOn": ["2"]},
        {"id": "5", "method": "PATCH", "url": format!("/users/{LEAVER_CLOUD_ID}"), "body": {"jobTitle": "x"}},
    ]});
    let (s, v, _) = t.call("POST", "/$batch", Some(body)).await;
    assert_eq!(s, 200);
    let r = v["responses"].as_array().expect("responses");
    let by = |id: &str| r.iter().find(|x| x["id"] == id).expect("sub-response").clone();
    assert_eq!(by("1")["status"], 200);
    assert_eq!(by("1")["body"]["accountEnabled"], true);
    assert_eq!(by("2")["status"], 404);
    assert_eq!(by("2")["body"]["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(by("3")["status"], 204);
    assert_eq!(by("4")["status"], 424);
    assert_eq!(by("5")["status"], 400, "a body without Content-Type is refused");
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=jobTitle,accountEnabled")).await;
    assert_eq!(u["accountEnabled"], false);
    assert_eq!(u["jobTitle"], "Account Executive");
    let st = t.server.stats();
    assert_eq!(st.operations, 5 + 1, "five sub-requests plus the GET");
    assert_eq!((st.writes, st.writes_applied), (2, 1));

    let many: Vec<Value> = (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/x"})).collect();
    let (s, v, _) = t.call("POST", "/$batch", Some(json!({"requests": many}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["code"], "BadRequest");
    let dup = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/users/x"}, {"id": "a", "method": "GET", "url": "/users/y"}]});
    let (s, _, _) = t.call("POST", "/$batch", Some(dup)).await;
    assert_eq!(s, 400);
    assert_eq!(t.server.stats().operations, 6, "refused envelopes run nothing");
}

#[tokio::test]
async fn throttling_hits_direct_and_batch_operations() {
    let t = start_with(Knobs { throttle_every: 2, retry_after_secs: 7, ..Knobs::default() }).await;
    let (s1, _, _) = t.call("GET", &format!("/users/{MANAGER_ID}"), None).await;
    let (s2, v2, h2) = t.call("GET", &format!("/users/{MANAGER_ID}"), None).await;
    assert_eq!((s1, s2), (200, 429));
    assert_eq!(h2.get("retry-after").expect("Retry-After"), "7");
    assert_eq!(v2["error"]["code"], "TooManyRequests");
    assert_eq!(v2["error"]["message"], "Please retry again later.");

    let reqs: Vec<Value> =
        (0..4).map(|i| json!({"id": i.to_string(), "method": "GET", "url": format!("/users/{MANAGER_ID}?$select=id")})).collect();
    let (s, v, _) = t.call("POST", "/$batch", Some(json!({"requests": reqs}))).await;
    assert_eq!(s, 200);
    let statuses: Vec<u64> = v["responses"].as_array().expect("r").iter().map(|r| r["status"].as_u64().expect("s")).collect();
    assert_eq!(statuses, vec![200, 429, 200, 429]);
    assert_eq!(v["responses"][1]["headers"]["Retry-After"], "7");
    assert_eq!(t.server.stats().throttled, 3);
}

#[tokio::test]
async fn faults_are_not_applied() {
    let t = start_with(Knobs { fault_every: 1, ..Knobs::default() }).await;
    let (s, v, h) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"accountEnabled": false}))).await;
    assert_eq!(s, 503);
    assert_eq!(v["error"]["code"], "ServiceUnavailable");
    assert!(h.get("retry-after").is_none());
    t.set_knobs(json!({})).await;
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=accountEnabled")).await;
    assert_eq!(u["accountEnabled"], true);
    let st = t.server.stats();
    assert_eq!((st.faults, st.writes, st.writes_applied), (1, 1, 0));
}

#[tokio::test]
async fn hang_applies_the_write_then_delays_the_answer() {
    let t = start_with(Knobs { hang_every: 1, hang_ms: 1500, ..Knobs::default() }).await;
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let began = Instant::now();
    let res = client
        .patch(t.url(&format!("/users/{LEAVER_CLOUD_ID}")))
        .bearer_auth(&t.token)
        .json(&json!({"accountEnabled": false}))
        .send()
        .await;
    assert!(res.is_err_and(|e| e.is_timeout()), "the client times out");
    assert!(began.elapsed() < Duration::from_millis(1400));
    // The write landed even though the client never saw an answer, and it is on disk already.
    let file = store::load(&state_path(&t.dir)).expect("state file");
    let u = file.users.iter().find(|u| u.id == LEAVER_CLOUD_ID).expect("user");
    assert!(!u.account_enabled);
    t.set_knobs(json!({})).await;
    assert_eq!(t.server.stats().writes_applied, 1);
}

#[tokio::test]
async fn latency_is_added_per_http_request() {
    let t = start_with(Knobs { latency_ms: 150, ..Knobs::default() }).await;
    let began = Instant::now();
    let (s, _) = t.get(&format!("/users/{MANAGER_ID}")).await;
    assert_eq!(s, 200);
    assert!(began.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn state_persists_across_restart_and_reset_restores_the_seed() {
    let t = start().await;
    let (s, _, _) = t.call("PATCH", &format!("/users/{LEAVER_CLOUD_ID}"), Some(json!({"employeeId": null}))).await;
    assert_eq!(s, 204);
    let addr = t.server.addr();
    let path = state_path(&t.dir);
    t.server.shutdown().await;

    let stats = read_stats(&path).expect("read_stats");
    assert_eq!((stats.token_requests, stats.writes, stats.writes_applied, stats.http_requests), (1, 1, 1, 2));

    let server = DemoServer::start(DemoConfig { state_path: path.clone(), knobs: Knobs::default() }, "127.0.0.1:0".parse().expect("a"))
        .await
        .expect("restart");
    assert_ne!(server.addr(), addr);
    assert_eq!(server.stats(), stats, "stats carry over");
    let http = reqwest::Client::new();
    let token = fetch_token(&http, &server).await;
    let u: Value = http
        .get(format!("{}/users/{LEAVER_CLOUD_ID}?$select=employeeId", server.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(u["employeeId"], Value::Null);

    // Reset over HTTP reseeds in place and zeroes the stats.
    let r = http.post(format!("http://{}/_sim/reset", server.addr())).send().await.expect("reset");
    assert_eq!(r.status(), 200);
    assert_eq!(server.stats(), SimStats::default());
    let u: Value = http
        .get(format!("{}/users/{LEAVER_CLOUD_ID}?$select=employeeId", server.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(u["employeeId"], "E1001");
    server.shutdown().await;
    assert_eq!(read_stats(&path).expect("stats").operations, 1);

    // The file-level reset does the same for a tenant nobody is serving.
    reset(&path).expect("reset");
    assert_eq!(read_stats(&path).expect("stats"), SimStats::default());
    let st = store::load(&path).expect("load");
    assert_eq!(st.users.len(), 3 + seed::ORDINARY_USERS);
}

#[test]
fn seed_is_deterministic_and_consistent() {
    let a = seed::seed();
    let b = seed::seed();
    let ids = |s: &model::State| s.users.iter().map(|u| (u.id.clone(), u.user_principal_name.clone())).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert!(a.users.len() >= 223);
    let mut upns: Vec<&str> = a.users.iter().map(|u| u.user_principal_name.as_str()).collect();
    upns.sort();
    upns.dedup();
    assert_eq!(upns.len(), a.users.len(), "UPNs are unique");
    for u in &a.users {
        if let Some(m) = &u.manager_id {
            assert!(a.user_index(m).is_some(), "manager of {} exists", u.user_principal_name);
        }
        for s in &u.license_assignment_states {
            if let Some(g) = &s.assigned_by_group {
                let g = &a.groups[a.group_index(g).expect("group")];
                assert!(g.members.contains(&u.id), "{} holds a licence from a group it is in", u.user_principal_name);
            }
        }
    }
    for s in &a.skus {
        assert!(a.consumed_units(&s.sku_id) <= s.enabled_units, "{} not oversubscribed", s.sku_part_number);
    }
    assert_eq!(a.directory_roles[0].members.len(), 1);
}

#[test]
fn knobs_from_env_defaults_retry_after_to_one() {
    // Only unset-variable behaviour is checked: setting env vars would race other tests.
    if std::env::var_os("OFFBOARD_DEMO_RETRY_AFTER").is_none() {
        assert_eq!(Knobs::from_env().retry_after_secs, 1);
    }
}

#[tokio::test]
async fn adding_a_licence_consumes_seats_until_none_are_left() {
    let t = start().await;
    let state = t.state().await;
    // Visio has 20 seats and 6 in use; 15 new assignees in one batch leave the last one without.
    let takers: Vec<String> = state["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| !u["licenseAssignmentStates"].as_array().expect("las").iter().any(|l| l["skuId"] == SKU_VISIOCLIENT))
        .take(15)
        .map(|u| u["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(takers.len(), 15);
    let reqs: Vec<Value> = takers
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({"id": i.to_string(), "method": "POST", "url": format!("/users/{id}/assignLicense"),
                   "headers": {"Content-Type": "application/json"},
                   "body": {"addLicenses": [{"skuId": SKU_VISIOCLIENT, "disabledPlans": []}], "removeLicenses": []}})
        })
        .collect();
    let (s, v, _) = t.call("POST", "/$batch", Some(json!({"requests": reqs}))).await;
    assert_eq!(s, 200);
    let r = v["responses"].as_array().expect("responses");
    assert!(r[..14].iter().all(|x| x["status"] == 200));
    assert_eq!(r[14]["status"], 400);
    assert_eq!(
        r[14]["body"]["error"]["message"],
        format!("Subscription {SKU_VISIOCLIENT} for VISIOCLIENT does not have any available licenses.")
    );
    let (_, skus) = t.get("/subscribedSkus").await;
    let visio = skus["value"].as_array().expect("v").iter().find(|s| s["skuId"] == SKU_VISIOCLIENT).expect("visio").clone();
    assert_eq!(visio["consumedUnits"], 20);
    assert_eq!(visio["prepaidUnits"]["enabled"], 20);

    let stats: SimStats = t
        .http
        .get(format!("http://{}/_sim/stats", t.server.addr()))
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats, t.server.stats());
    assert_eq!((stats.operations, stats.writes, stats.writes_applied), (16, 15, 14));
    t.set_knobs(json!({"throttle_every": 9})).await;
    let knobs: Value = t
        .http
        .get(format!("http://{}/_sim/knobs", t.server.addr()))
        .send()
        .await
        .expect("knobs")
        .json()
        .await
        .expect("json");
    assert_eq!(knobs["throttle_every"], 9);
    assert_eq!(knobs["latency_ms"], 0);
}
