//! The console on the demo tenant (`serve --demo`): the demo server's OIDC issuer signs the
//! demo MSP's staff in, with these roles:
//!
//! | who | roles |
//! | --- | --- |
//! | alex.tech@msp.test | request for `demo` |
//! | blair.tech@msp.test | request for `demo-halo` |
//! | casey.approver@msp.test | approve for every client |
//! | dana.admin@msp.test | admin for every client |
//!
//! Client `demo` requires an approval here (from casey.approver@msp.test), so the demo shows both
//! ways through the form: `demo` is sent for approval, the other clients are applied or scheduled.
//!
//! The JSON API has one token here, [`DEMO_API_TOKEN`] (named `demo-psa`, request for `demo` and
//! `demo-cw`), fixed so the README's examples work as written. It is public, so it exists only here: a configured console
//! has only the tokens of its `[[console.api_tokens]]`, whose hashes its administrator made.

use std::sync::Arc;

use super::{ConsoleConfig, ConsoleServer};
use crate::config::{ApiToken, ApprovalSettings, Config, ConsoleSettings, Role, RoleGrant};
use crate::demo::oidc::{DEMO_CONSOLE_CLIENT_ID, DEMO_CONSOLE_CLIENT_SECRET};
use crate::demo::DemoServer;
use crate::journal::Journal;
use crate::secret::Secret;

/// The demo's approver (for every client; the approver of client `demo`'s requests).
pub const DEMO_APPROVER: &str = "casey.approver@msp.test";
/// The demo console's API token (demo only: it is in the source). Request for clients `demo`
/// (which needs an approval) and `demo-cw` (which does not).
pub const DEMO_API_TOKEN: &str = "demo-api-token-0000000000000000-not-a-secret";
/// Its name: the identity the journal records for what it does.
pub const DEMO_API_TOKEN_NAME: &str = "demo-psa";

fn grant(who: &str, role: Role, client: &str) -> RoleGrant {
    RoleGrant { who: vec![who.into()], roles: vec![role], clients: vec![client.into()] }
}

/// The `[console]` section the demo uses, for a console at `public_url`.
pub fn demo_settings(issuer_url: &str, public_url: &str, bind: std::net::SocketAddr) -> ConsoleSettings {
    ConsoleSettings {
        issuer_url: issuer_url.into(),
        client_id: DEMO_CONSOLE_CLIENT_ID.into(),
        client_secret_env: String::new(),
        public_url: public_url.into(),
        bind,
        allow: vec![
            grant("alex.tech@msp.test", Role::Request, "demo"),
            grant("blair.tech@msp.test", Role::Request, "demo-halo"),
            grant(DEMO_APPROVER, Role::Approve, "*"),
            grant("dana.admin@msp.test", Role::Admin, "*"),
        ],
        deny: vec![],
        api_tokens: vec![ApiToken {
            name: DEMO_API_TOKEN_NAME.into(),
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(DEMO_API_TOKEN.as_bytes())),
            clients: vec!["demo".into(), "demo-cw".into()],
            roles: vec![Role::Request],
        }],
    }
}

/// Serve the console on `listener` against `demo`'s issuer (registering the console's redirect
/// URI there), for the demo configuration's clients.
pub async fn start(
    demo: &DemoServer,
    journal: Arc<dyn Journal>,
    home: std::path::PathBuf,
    listener: tokio::net::TcpListener,
) -> Result<ConsoleServer, String> {
    let addr = listener.local_addr().map_err(|e| format!("the console's address: {e}"))?;
    let settings = demo_settings(demo.oidc().url(), &format!("http://{addr}"), addr);
    demo.oidc().register_redirect_uri(&settings.redirect_uri());
    let mut config = Config::demo();
    if let Some(t) = config.tenants.get_mut(crate::config::DEMO_TENANT) {
        // No mail: the demo client has no `mail_sender`; the approver finds the request in the console.
        t.approval = Some(ApprovalSettings { approvers: vec![DEMO_APPROVER.into()], expiry_hours: 72, email: false });
    }
    let clients = config.tenants.keys().cloned().collect();
    let cfg = ConsoleConfig {
        settings,
        secret: Secret::new(DEMO_CONSOLE_CLIENT_SECRET),
        clients,
        journal,
        config: Arc::new(config),
        home,
        demo: Some(demo.addr()),
    };
    ConsoleServer::start(cfg, listener).await
}
