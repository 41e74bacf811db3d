//! assignLicense, licence inheritance through groups, seats.

use super::*;

#[tokio::test]
async fn licence_removal_direct_inherited_missing_and_via_group() {
    let t = start().await;
    let url = format!("/users/{LEAVER_CLOUD_ID}/assignLicense");
    let (s, v, _) = t.call("POST", &url, Some(json!({"addLicenses": [], "removeLicenses": [SKU_POWER_BI_PRO]}))).await;
    assert_eq!(s, 200);
    assert_eq!(v["id"], LEAVER_CLOUD_ID);
    let (s, v, _) = t.call("POST", &url, Some(json!({"addLicenses": [], "removeLicenses": [SKU_VISIOCLIENT]}))).await;
    assert_eq!(s, 400);
    assert_eq!(v["error"]["message"], "User license is inherited from a group membership and it cannot be removed directly from the user.");
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
    let (s, _, _) =
        t.call("POST", &url, Some(json!({"addLicenses": [{"skuId": SKU_EMS, "disabledPlans": []}], "removeLicenses": []}))).await;
    assert_eq!(s, 200);
    let (_, u) = t.get(&format!("/users/{LEAVER_CLOUD_ID}?$select=assignedLicenses")).await;
    assert_eq!(u["assignedLicenses"].as_array().expect("al").len(), 2);
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

    let stats: SimStats =
        t.http.get(format!("http://{}/_sim/stats", t.server.addr())).send().await.expect("stats").json().await.expect("json");
    assert_eq!(stats, t.server.stats());
    assert_eq!((stats.operations, stats.writes, stats.writes_applied), (16, 15, 14));
    t.set_knobs(json!({"throttle_every": 9})).await;
    let knobs: Value =
        t.http.get(format!("http://{}/_sim/knobs", t.server.addr())).send().await.expect("knobs").json().await.expect("json");
    assert_eq!(knobs["throttle_every"], 9);
    assert_eq!(knobs["latency_ms"], 0);
}
