//! The simulated Autotask against Datto's Swagger (`fixtures/autotask-rest-v1-subset.json`): each
//! entity's fields are Swagger properties in Autotask's JSON casing (the first letters lower-cased,
//! as its serializer writes them: `CompanyID` → `companyID`) with the declared type, and the
//! envelopes (`item`, `items` + `pageDetails`, `itemId`) are the documented ones. Then the query
//! language and paging of REST_Basic_Query_Calls.htm / REST_Advanced_Query_Features.htm.

use offboard_host::demo::psa::{base_url, AT_API_USER, AT_COMPANY, AT_INTEGRATION_CODE, AT_SECRET};
use serde_json::{json, Value};

use super::{fixture, json_call, start, start_with, Sim};

/// Newtonsoft's camel case: the leading run of capitals lower-cased (`ID` → `id`, `CompanyID` → `companyID`).
fn camel(name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    for i in 0..chars.len() {
        // A capital followed by a lower-case letter starts the next word and stays (`IDNumber` → `idNumber`).
        let starts_word = i > 0 && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        if !chars[i].is_uppercase() || starts_word {
            break;
        }
        chars[i] = chars[i].to_ascii_lowercase();
    }
    chars.into_iter().collect()
}

#[test]
fn autotask_casing_is_newtonsofts_camel_case() {
    assert_eq!(["Id", "CompanyID", "CI", "IDNumber", "ticketID"].map(camel), ["id", "companyID", "ci", "idNumber", "ticketID"]);
}

/// Every way `v` breaks definition `def` of the Swagger.
fn check(spec: &Value, def: &str, v: &Value, path: &str) -> Vec<String> {
    let props = spec["definitions"][def]["properties"].as_object().unwrap_or_else(|| panic!("no definition {def}"));
    let Some(obj) = v.as_object() else { return vec![format!("{path}: not an object")] };
    let mut errs = Vec::new();
    for (k, val) in obj {
        let Some((_, p)) = props.iter().find(|(n, _)| camel(n) == *k) else {
            errs.push(format!("{path}.{k}: not a property of {def} (in Autotask's casing)"));
            continue;
        };
        let ok = val.is_null()
            || match p["type"].as_str() {
                Some("integer") => val.is_i64(),
                Some("number") => val.is_number(),
                Some("boolean") => val.is_boolean(),
                Some("string") if p["format"] == "date-time" => {
                    val.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
                }
                Some("string") => val.is_string(),
                Some("array") => val.is_array(),
                _ => true,
            };
        if !ok {
            errs.push(format!("{path}.{k}: {val} is not {}", p["type"]));
        }
    }
    errs
}

fn zone(sim: &Sim) -> String {
    format!("{}/atservicesrest", base_url("autotask", sim.server.addr()).replace("/autotask/atservicesrest", "/autotask/ws5"))
}

async fn at(sim: &Sim, method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    let r = sim.http.request(method, url).header("ApiIntegrationCode", AT_INTEGRATION_CODE).header("UserName", AT_API_USER);
    json_call(r.header("Secret", AT_SECRET), body).await
}

#[tokio::test]
async fn every_autotask_response_matches_the_swagger() {
    let spec = fixture("autotask-rest-v1-subset.json");
    let sim = start().await;
    let z = format!("{}/v1.0", zone(&sim));
    let (_, created) = at(
        &sim,
        reqwest::Method::POST,
        &format!("{z}/Tickets"),
        Some(json!({"title": "t", "companyID": AT_COMPANY, "status": 1, "priority": 2})),
    )
    .await;
    let tid = created["itemId"].as_i64().expect("itemId, as OperationResultModel.ItemId");
    let (_, note) = at(
        &sim,
        reqwest::Method::POST,
        &format!("{z}/Tickets/{tid}/Notes"),
        Some(json!({"title": "n", "description": "d", "noteType": 1, "publish": 1})),
    )
    .await;
    let nid = note["itemId"].as_i64().expect("note itemId");
    let everything = json!({"filter": [{"op": "exist", "field": "id"}]});
    // (method, url, body, envelope key, definition)
    let calls = [
        ("GET", format!("{z}/Tickets/{tid}"), None, "item", "TicketModel"),
        ("GET", format!("{z}/Tickets/{tid}/Notes/{nid}"), None, "item", "TicketNoteModel"),
        ("GET", format!("{z}/Tickets/{tid}/Notes"), None, "items", "TicketNoteModel"),
        ("POST", format!("{z}/TicketNotes/query"), Some(everything.clone()), "items", "TicketNoteModel"),
        ("POST", format!("{z}/Contacts/query"), Some(everything.clone()), "items", "ContactModel"),
        ("GET", format!("{z}/Contacts/30500001"), None, "item", "ContactModel"),
        ("POST", format!("{z}/Companies/query"), Some(everything.clone()), "items", "CompanyModel"),
        ("GET", format!("{z}/Companies/{AT_COMPANY}"), None, "item", "CompanyModel"),
        ("GET", format!("{z}/Tickets/entityInformation"), None, "info", "EntityInformationModel"),
        ("GET", format!("{z}/Tickets/entityInformation/fields"), None, "fields", "FieldInformationModel"),
        ("GET", format!("{z}/TicketNotes/entityInformation/fields"), None, "fields", "FieldInformationModel"),
        ("GET", format!("{}/versionInformation", zone(&sim)), None, "", "ApiVersionResultModel"),
        (
            "GET",
            format!("{}/v1.0/zoneInformation?user={AT_API_USER}", base_url("autotask", sim.server.addr())),
            None,
            "",
            "ZoneInformationResultModel",
        ),
        ("POST", format!("{z}/Companies/query/count"), Some(everything), "", "QueryCountResultModel"),
    ];
    let mut errs = Vec::new();
    for (m, url, body, key, def) in calls {
        let (s, v) = at(&sim, m.parse().expect("method"), &url, body).await;
        assert_eq!(s, 200, "{m} {url}: {v}");
        let items = match &v[key] {
            _ if key.is_empty() => vec![v.clone()],
            Value::Array(a) => a.clone(),
            Value::Object(_) => vec![v[key].clone()],
            other => panic!("{url}: no {key}: {other}"),
        };
        assert!(!items.is_empty(), "{url}: empty");
        if key == "items" {
            // The query envelope of REST_Basic_Query_Calls.htm ("Anatomy of a query response").
            let pd = v["pageDetails"].as_object().expect("pageDetails");
            let mut keys: Vec<&str> = pd.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["count", "nextPageUrl", "prevPageUrl", "requestCount"], "{url}");
        }
        for (i, it) in items.iter().enumerate() {
            errs.extend(check(&spec, def, it, &format!("{url}[{i}]")));
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    // picklist values inside fields are PickListValue
    let (_, f) = at(&sim, reqwest::Method::GET, &format!("{z}/Tickets/entityInformation/fields"), None).await;
    let pl = f["fields"].as_array().into_iter().flatten().flat_map(|x| x["picklistValues"].as_array().cloned().unwrap_or_default());
    let errs: Vec<String> = pl.flat_map(|p| check(&spec, "PickListValue", &p, "picklistValues")).collect();
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    assert!(
        check(&spec, "ContactModel", &json!({"IsActive": 1, "isActive": true}), "x").len() == 2,
        "the checker must catch casing and type"
    );
}

#[tokio::test]
async fn every_documented_operator_works_and_an_unknown_one_is_refused() {
    let sim = start().await;
    let z = format!("{}/v1.0", zone(&sim));
    let q = |f: Value| json!({"filter": [f, {"op": "eq", "field": "companyID", "value": AT_COMPANY}]});
    let cases = [
        (json!({"op": "noteq", "field": "lastName", "value": "cloud"}), 2),
        (json!({"op": "gt", "field": "id", "value": 30500000}), 2),
        (json!({"op": "gte", "field": "id", "value": 30500000}), 3),
        (json!({"op": "lt", "field": "id", "value": 30500001}), 1),
        (json!({"op": "lte", "field": "id", "value": 30500001}), 2),
        (json!({"op": "beginsWith", "field": "emailAddress", "value": "LEAVER."}), 2),
        (json!({"op": "endsWith", "field": "emailAddress", "value": "synced@contoso.test"}), 1),
        (json!({"op": "exist", "field": "emailAddress"}), 3),
        (json!({"op": "notExist", "field": "emailAddress"}), 0),
        (json!({"op": "in", "field": "firstName", "value": ["Sam", "Morgan"]}), 2),
        (json!({"op": "notIn", "field": "firstName", "value": ["Sam", "Morgan"]}), 1),
        (
            json!({"op": "or", "items": [{"op": "eq", "field": "firstName", "value": "Sam"}, {"op": "eq", "field": "firstName", "value": "Lee"}]}),
            2,
        ),
    ];
    for (f, n) in cases {
        let (s, v) = at(&sim, reqwest::Method::POST, &format!("{z}/Contacts/query"), Some(q(f.clone()))).await;
        assert_eq!((s, v["items"].as_array().map(Vec::len)), (200, Some(n)), "{f}: {v}");
    }
    // Before, an unknown operator silently matched nothing; Autotask refuses the query.
    let (s, v) =
        at(&sim, reqwest::Method::POST, &format!("{z}/Contacts/query"), Some(q(json!({"op": "equals", "field": "id", "value": 1})))).await;
    assert_eq!(s, 500, "{v}");
    assert!(v["errors"][0].as_str().is_some_and(|e| e.contains("equals")), "{v}");
    // entityInformation is a route, not an id.
    let (s, v) = at(&sim, reqwest::Method::GET, &format!("{z}/Contacts/entityInformation"), None).await;
    assert_eq!((s, v["info"]["name"].as_str()), (200, Some("Contact")), "{v}");
}

#[tokio::test]
async fn max_records_pages_and_next_page_url_is_followed_to_the_end() {
    // 7 more contacts, so 10 in the client's company: pages of 4, 4 and 2.
    let sim = start_with(|st| {
        let contacts = st["psa"]["autotask"]["contacts"].as_array_mut().expect("contacts");
        let first = contacts[0].clone();
        for i in 0..7 {
            let mut c = first.clone();
            c["id"] = json!(30600000 + i);
            contacts.push(c);
        }
    })
    .await;
    let z = format!("{}/v1.0", zone(&sim));
    let body = json!({"MaxRecords": 4, "filter": [{"op": "eq", "field": "companyID", "value": AT_COMPANY}]});
    let (_, mut v) = at(&sim, reqwest::Method::POST, &format!("{z}/Contacts/query"), Some(body)).await;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        ids.extend(v["items"].as_array().expect("items").iter().map(|c| c["id"].as_i64().expect("id")));
        let Some(next) = v["pageDetails"]["nextPageUrl"].as_str().map(String::from) else { break };
        assert!(next.starts_with("http://"), "absolute: {next}");
        v = at(&sim, reqwest::Method::GET, &next, None).await.1;
        assert!(pages < 10, "paging must end");
    }
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!((pages, ids.len(), unique.len()), (3, 10, 10), "{ids:?}");
    let (s, _) = at(&sim, reqwest::Method::POST, &format!("{z}/Contacts/query"), Some(json!({"MaxRecords": 501, "filter": []}))).await;
    assert_eq!(s, 500, "MaxRecords is 1 to 500");
}
