//! `serve`: the web console (see `console`), on the configured issuer or, with `--demo`, on the
//! demo tenant's.

use super::out::outln;
use std::io::Write;
use std::sync::Arc;

use super::args::ServeArgs;
use super::{demo_state_path, open_journal, runtime, Ctx};
use crate::config::Config;
use crate::console::{ConsoleConfig, ConsoleServer};
use crate::error::{Error, Result};

pub(super) fn cmd_serve(ctx: &Ctx, a: ServeArgs) -> Result<u8> {
    let journal = open_journal(ctx)?;
    let rt = runtime()?;
    rt.block_on(async {
        if a.demo {
            let bind = a.bind.unwrap_or_else(|| ([127, 0, 0, 1], 8080).into());
            if !bind.ip().is_loopback() {
                // The demo serves plain http with a cookie that is not Secure: loopback only.
                return Err(Error::Usage(format!("serve --demo listens on loopback only, not {bind}")));
            }
            let cfg = crate::demo::DemoConfig { state_path: demo_state_path(&ctx.home), knobs: crate::demo::Knobs::from_env() };
            let demo = crate::demo::DemoServer::start(cfg, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| Error::io("starting the demo tenant", e))?;
            let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| Error::io(format!("listening on {bind}"), e))?;
            let console = crate::console::demo::start(&demo, journal, ctx.home.clone(), listener).await.map_err(Error::Usage)?;
            announce(&console, Some(demo.oidc().url()));
            let _ = tokio::signal::ctrl_c().await;
            console.shutdown().await;
            demo.shutdown().await;
            return Ok(0);
        }
        let config = Config::load(ctx.config_path.as_deref(), &ctx.home)?;
        let Some(settings) = config.console.clone() else {
            return Err(Error::Usage("the configuration has no [console] section (or use serve --demo)".into()));
        };
        let secret = settings.client_secret()?;
        let bind = a.bind.unwrap_or(settings.bind);
        settings.check_bind(bind).map_err(|m| Error::Usage(format!("[console] {m}")))?;
        let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| Error::io(format!("listening on {bind}"), e))?;
        let clients = config.tenants.keys().cloned().collect();
        let cfg = ConsoleConfig {
            settings,
            secret,
            clients,
            journal: Arc::clone(&journal),
            config: Arc::new(config),
            home: ctx.home.clone(),
            demo: None,
        };
        let console = ConsoleServer::start(cfg, listener).await.map_err(Error::Usage)?;
        announce(&console, None);
        let _ = tokio::signal::ctrl_c().await;
        console.shutdown().await;
        Ok(0)
    })
}

/// The addresses, on stdout, for a person (or a test) to open; for the demo also its issuer and
/// its API token (public: it is in the source, and the demo listens on loopback only).
fn announce(console: &ConsoleServer, issuer: Option<&str>) {
    outln!("console http://{}", console.addr());
    if let Some(i) = issuer {
        outln!("issuer {i}");
        outln!("api token {} (demo only; Authorization: Bearer <token>)", crate::console::demo::DEMO_API_TOKEN);
    }
    let _ = std::io::stdout().flush();
}
