//! Contract tests: the demo tenant held to the services' own descriptions, copied into
//! `fixtures/` (see its README; nothing here reads outside the repository).
//!
//! - `graph`: every Graph entity the simulator returns, and the request bodies it accepts,
//!   against Microsoft Graph's v1.0 CSDL;
//! - `graph_access`: the routes over what a leaver can reach (authentication methods, consents,
//!   app role assignments, OneDrive sharing, group owners), against the same CSDL and Graph's
//!   documented refusals;
//! - `autotask`: every Autotask response against Datto's Swagger, with the query operators and
//!   paging the documentation describes;
//! - `exchange`: the Exchange admin API's InvokeCommand against its recorded envelopes, output
//!   names and parameters, the token audience (and a run of ours sending each API its own token),
//!   and the cmdlets custom steps call;
//! - `shapes`: ConnectWise and Halo against the request and response shapes their
//!   documentation publishes (one fixture each, naming its source).

mod autotask;
mod csdl;
mod exchange;
mod graph;
mod graph_access;
mod shapes;

use offboard_host::demo::{DemoConfig, DemoServer, Knobs};
use serde_json::Value;

pub struct Sim {
    pub server: DemoServer,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// A fresh demo tenant; `prepare` may rewrite the seeded state file before the server reads it.
pub async fn start_with(prepare: impl FnOnce(&mut Value)) -> Sim {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    offboard_host::demo::reset(&state).expect("seed");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&state).expect("read state")).expect("state json");
    prepare(&mut v);
    std::fs::write(&state, serde_json::to_vec(&v).expect("json")).expect("write state");
    let server = DemoServer::start(DemoConfig { state_path: state, knobs: Knobs::default() }, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    Sim { server, http: reqwest::Client::new(), dir }
}

pub async fn start() -> Sim {
    start_with(|_| {}).await
}

/// The status, headers and JSON body (Null when empty) of a request.
pub async fn send(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let v = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, headers, v)
}

/// Status and body of a request with an optional JSON body.
pub async fn json_call(req: reqwest::RequestBuilder, body: Option<Value>) -> (u16, Value) {
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let (s, _, v) = send(req).await;
    (s, v)
}

/// A fixture file under `fixtures/`, parsed.
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract/fixtures").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("fixture json")
}
