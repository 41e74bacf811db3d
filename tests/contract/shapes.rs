//! ConnectWise and Halo against the shapes their documentation publishes (fixtures naming their
//! sources): ConnectWise's navigable paging (`Link` with rel="next"/"last", at most 1000 a
//! page), its companyinfo, companies and contacts; Halo's `pageinate` paging with `record_count`
//! and its case-insensitive booleans.

use offboard_host::demo::psa::{base_url, CW_CLIENT_ID, CW_LOGIN_COMPANY, CW_PRIVATE_KEY, CW_PUBLIC_KEY, HALO_CLIENT_ID, HALO_SECRET};
use serde_json::Value;

use super::{fixture, send, start, start_with};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    k.sort();
    k
}

fn sorted(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect();
    k.sort();
    k
}

#[tokio::test]
async fn connectwise_pages_with_the_link_header_and_serves_the_documented_routes() {
    let spec = fixture("connectwise-shapes.json");
    let sim = start_with(|st| {
        let contacts = st["psa"]["connectwise"]["contacts"].as_array_mut().expect("contacts");
        let first = contacts[0].clone();
        for i in 0..5 {
            let mut c = first.clone();
            c["id"] = serde_json::json!(32000 + i);
            contacts.push(c);
        }
    })
    .await;
    let base = base_url("connectwise", sim.server.addr());
    let cw = |path: &str| {
        sim.http
            .get(format!("{base}{path}"))
            .basic_auth(format!("{CW_LOGIN_COMPANY}+{CW_PUBLIC_KEY}"), Some(CW_PRIVATE_KEY))
            .header("clientId", CW_CLIENT_ID)
    };
    let (s, h, v) = send(cw("/company/contacts?pageSize=4")).await;
    assert_eq!((s, v.as_array().map(Vec::len)), (200, Some(4)));
    let link = h.get("link").and_then(|l| l.to_str().ok()).expect("Link header").to_string();
    for rel in sorted(&spec["paging"]["link_rels_while_more"]) {
        assert!(link.contains(&format!("rel=\"{rel}\"")), "{link}");
    }
    let next = link
        .split(',')
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| l.trim().strip_prefix('<'))
        .and_then(|l| l.split('>').next())
        .expect("next");
    let (_, h2, v2) = send(
        sim.http.get(next).basic_auth(format!("{CW_LOGIN_COMPANY}+{CW_PUBLIC_KEY}"), Some(CW_PRIVATE_KEY)).header("clientId", CW_CLIENT_ID),
    )
    .await;
    let ids = |v: &Value| v.as_array().into_iter().flatten().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert!(ids(&v2).iter().all(|i| !ids(&v).contains(i)) && ids(&v2).len() == 4, "page 2 repeats page 1");
    assert!(h2.get("link").and_then(|l| l.to_str().ok()).is_some_and(|l| l.contains("rel=\"prev\"")));
    assert_eq!(keys(&v[0]), sorted(&spec["contact_fields"]));
    let (s, _, c) = send(cw("/company/companies/250")).await;
    assert_eq!((s, keys(&c)), (200, sorted(&spec["company_fields"])));
    let (s, _, list) = send(cw("/company/companies?conditions=identifier=\"CONTOSO\"")).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)), "{list}");
    let (s, _, one) = send(cw("/company/contacts/31001")).await;
    assert_eq!((s, one["id"].as_i64()), (200, Some(31001)));
    let info = format!("http://{}/cw/login/companyinfo/{CW_LOGIN_COMPANY}", sim.server.addr());
    let (s, _, i) = send(sim.http.get(info)).await;
    assert_eq!((s, keys(&i)), (200, sorted(&spec["companyinfo_fields"])));
}

#[tokio::test]
async fn connectwise_status_patch_takes_replace_and_add_but_not_remove() {
    let sim = start().await;
    let base = base_url("connectwise", sim.server.addr());
    let req = |m: reqwest::Method, path: &str| {
        sim.http
            .request(m, format!("{base}{path}"))
            .basic_auth(format!("{CW_LOGIN_COMPANY}+{CW_PUBLIC_KEY}"), Some(CW_PRIVATE_KEY))
            .header("clientId", CW_CLIENT_ID)
    };
    let (_, _, t) =
        send(req(reqwest::Method::POST, "/service/tickets").json(&serde_json::json!({"summary": "s", "company": {"id": 250}}))).await;
    let path = format!("/service/tickets/{}", t["id"]);
    for (op, want) in [("replace", 200), ("add", 200), ("remove", 400)] {
        let body = serde_json::json!([{"op": op, "path": "status", "value": {"name": "In Progress"}}]);
        assert_eq!(send(req(reqwest::Method::PATCH, &path).json(&body)).await.0, want, "{op}");
    }
}

#[tokio::test]
async fn halo_pages_with_pageinate_and_reads_booleans_in_any_case() {
    let spec = fixture("halo-shapes.json");
    let sim = start().await;
    let base = base_url("halo", sim.server.addr());
    let form = [("grant_type", "client_credentials"), ("client_id", HALO_CLIENT_ID), ("client_secret", HALO_SECRET), ("scope", "all")];
    let (_, _, t) = send(sim.http.post(format!("{base}/auth/token")).form(&form)).await;
    let tok = t["access_token"].as_str().expect("token").to_string();
    let get = |q: &str| sim.http.get(format!("{base}/api/{q}")).bearer_auth(&tok);
    let (_, _, all) = send(get("Users?client_id=12")).await;
    let total = all["record_count"].as_u64().expect("record_count");
    assert!(total >= 3 && sorted(&serde_json::json!(keys(&all))) == sorted(&spec["list_keys"]["users"]), "{all}");
    let mut seen = Vec::new();
    for page in 1..=total {
        let (_, _, p) = send(get(&format!("Users?client_id=12&pageinate=true&page_size=1&page_no={page}"))).await;
        assert_eq!(p["record_count"].as_u64(), Some(total));
        seen.extend(p["users"].as_array().expect("users").iter().map(|u| u["id"].clone()));
    }
    assert_eq!(seen.len() as u64, total);
    // Deactivate one, then includeinactive=True (as .NET clients write it) must still find it.
    let id = all["users"][0]["id"].clone();
    send(sim.http.post(format!("{base}/api/Users")).bearer_auth(&tok).json(&serde_json::json!([{"id": id, "inactive": true}]))).await;
    let (_, _, active) = send(get("Users?client_id=12")).await;
    let (_, _, with) = send(get("Users?client_id=12&includeinactive=True")).await;
    assert_eq!((active["record_count"].as_u64(), with["record_count"].as_u64()), (Some(total - 1), Some(total)));
    let (s, _, c) = send(get("Client/12")).await;
    assert_eq!((s, c["id"].as_i64()), (200, Some(12)));
    let (_, _, cl) = send(get("Client")).await;
    assert_eq!(keys(&cl), sorted(&spec["list_keys"]["clients"]));
}
