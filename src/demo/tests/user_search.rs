//! Searching users as Graph's directory answers it: what works by default, what only as an
//! advanced query (`ConsistencyLevel: eventual` + `$count=true`), and what is refused.

use serde_json::Value;

use super::*;

impl T {
    /// GET with `ConsistencyLevel: eventual` when `eventual`.
    async fn query(&self, rel: &str, eventual: bool) -> (u16, Value) {
        let mut req = self.http.get(self.url(rel)).bearer_auth(&self.token);
        if eventual {
            req = req.header("ConsistencyLevel", "eventual");
        }
        let resp = req.send().await.expect("send");
        (resp.status().as_u16(), resp.json().await.expect("json"))
    }
}

fn upns(v: &Value) -> Vec<String> {
    v["value"].as_array().expect("value").iter().map(|u| u["userPrincipalName"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn counts_sorting_and_advanced_operators_need_the_advanced_query_parameters() {
    let t = start().await;
    let sales = "/users?$select=userPrincipalName,department&$filter=department%20eq%20'sales'";
    // By default: the filter works, `$count=true` is silently ignored.
    let (s, v) = t.query(&format!("{sales}&$count=true&$top=999"), false).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["@odata.nextLink"].is_null(), "every Sales user on one page");
    let n = upns(&v).len();
    assert!(n >= 1 && v["value"].as_array().unwrap().iter().all(|u| u["department"] == "Sales"), "{v}");
    assert!(v.get("@odata.count").is_none(), "no count without ConsistencyLevel: {v}");
    // As an advanced query: the count.
    let (_, v) = t.query(&format!("{sales}&$count=true&$top=1"), true).await;
    assert_eq!(v["@odata.count"], n as u64, "{v}");
    assert_eq!(upns(&v).len(), 1);
    assert!(v["@odata.nextLink"].is_string() || n == 1);

    // `ne` needs both parameters: the header alone is not enough.
    let ne = "/users?$select=userPrincipalName&$filter=accountEnabled%20ne%20true";
    for (rel, eventual) in [(ne.to_string(), false), (ne.to_string(), true), (format!("{ne}&$count=true"), false)] {
        let (s, v) = t.query(&rel, eventual).await;
        assert_eq!(s, 400, "{rel} eventual={eventual}: {v}");
        assert_eq!(v["error"]["code"], "Request_UnsupportedQuery");
        assert!(v["error"]["message"].as_str().unwrap().starts_with("Operator 'ne' is not supported"), "{v}");
    }
    let (s, _) = t.query(&format!("{ne}&$count=true"), true).await;
    assert_eq!(s, 200);

    // $orderby with $filter: advanced only; sorted by display name.
    let sorted = format!("{sales}&$orderby=displayName");
    let (s, v) = t.query(&sorted, false).await;
    assert_eq!((s, v["error"]["message"].as_str()), (400, Some("Sorting not supported for current query.")));
    let (s, v) = t.query(&format!("{sorted}&$count=true&$select=displayName,userPrincipalName"), true).await;
    assert_eq!(s, 200, "{v}");
    let names: Vec<String> = v["value"].as_array().unwrap().iter().map(|u| u["displayName"].as_str().unwrap().to_lowercase()).collect();
    let mut want = names.clone();
    want.sort();
    assert_eq!(names, want);
}

#[tokio::test]
async fn prefixes_disabled_accounts_and_licences_filter_and_quotes_stay_literal() {
    let t = start().await;
    // Encoded here, not with the client's helpers: the simulator shares no code with the clients.
    let q = |f: &str| {
        format!("/users?$select=userPrincipalName&$filter={}", percent_encoding::utf8_percent_encode(f, percent_encoding::NON_ALPHANUMERIC))
    };
    let (s, v) = t.query(&q("startswith(displayName,'morgan manager') or startswith(userPrincipalName,'MANAGER@')"), false).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(upns(&v), vec![crate::demo::ids::MANAGER_UPN]);
    let (_, v) = t.query(&q(&format!("assignedLicenses/any(x:x/skuId eq {})", crate::demo::ids::SKU_SPE_E3)), false).await;
    assert!(upns(&v).contains(&crate::demo::ids::MANAGER_UPN.to_string()), "{v}");
    // Disabled accounts only (the demo's leavers are enabled until offboarded: disable one).
    let (s, _, _) =
        t.call("PATCH", &format!("/users/{}", crate::demo::ids::LEAVER_CLOUD_ID), Some(serde_json::json!({"accountEnabled": false}))).await;
    assert_eq!(s, 204);
    let (_, v) = t.query("/users?$select=userPrincipalName,accountEnabled&$top=999&$filter=accountEnabled%20eq%20false", false).await;
    let disabled = upns(&v);
    assert!(disabled.contains(&crate::demo::ids::LEAVER_CLOUD_UPN.to_string()), "{v}");
    assert!(v["value"].as_array().unwrap().iter().all(|u| u["accountEnabled"] == false), "{v}");
    // An injection attempt, escaped as the client escapes it, is one literal that matches nobody.
    let (s, v) = t.query(&q("department eq 'x'' or accountEnabled eq true or department eq ''y'"), false).await;
    assert_eq!(s, 200, "{v}");
    assert!(upns(&v).is_empty(), "{v}");
    // Pasted raw, it is a syntax error, not a wider query.
    let (s, v) = t.query(&q("department eq 'x' or 'y'"), false).await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("BadRequest")), "{v}");
}
