//! End-to-end tests of the demo tenant over real HTTP on loopback, with reqwest, the way the
//! project's Graph client talks to it. Every test asserts on concrete values so none can pass by
//! accident against an empty or broken tenant.

mod auth;
mod batch;
mod groups;
mod intune;
mod knobs;
mod licences;
mod persistence;
mod user_search;
mod users;

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
    let server =
        DemoServer::start(DemoConfig { state_path: state_path(&dir), knobs }, "127.0.0.1:0".parse().expect("addr")).await.expect("start");
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
        let r = self.http.put(format!("http://{}/_sim/knobs", self.server.addr())).json(&k).send().await.expect("knobs");
        assert_eq!(r.status(), 200);
    }
    async fn state(&self) -> Value {
        self.http.get(format!("http://{}/_sim/state", self.server.addr())).send().await.expect("state").json().await.expect("state json")
    }
}

fn user_in<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["users"].as_array().and_then(|u| u.iter().find(|u| u["id"] == id)).expect("user in state")
}

fn group_members(state: &Value, gid: &str) -> Vec<String> {
    let g = state["groups"].as_array().and_then(|g| g.iter().find(|g| g["id"] == gid)).expect("group");
    g["members"].as_array().expect("members").iter().filter_map(|m| m.as_str().map(String::from)).collect()
}
