//! Connecting to a client tenant: the real Graph endpoints from the configuration, or the demo
//! tenant started in this process on loopback (same HTTP client either way).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{TenantConfig, DEMO_TENANT};
use crate::demo::{DemoConfig, DemoServer, Knobs, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use crate::entra::{CloudDirectory, GraphDirectory};
use crate::error::{Error, Result};
use crate::exchange::{ExchangeOnline, InvokeCommandExchange};
use crate::exec::Providers;
use crate::graph::{GraphClient, GraphConfig};
use crate::secret::Secret;

pub struct Connection {
    pub tenant: String,
    graph: GraphConfig,
    /// Exchange Online: the same app and token URL as Graph, its own base URL and scope.
    exchange: Option<(GraphConfig, String)>,
    /// Keeps the in-process demo tenant alive for the connection's lifetime.
    pub demo: Option<DemoServer>,
}

/// The Graph settings re-aimed at Exchange Online: base URL and token scope.
fn exchange_config(graph: &GraphConfig, base_url: String) -> GraphConfig {
    let mut cfg = graph.clone();
    cfg.base_url = base_url;
    cfg.scope = crate::exchange::EXO_SCOPE.to_string();
    cfg.batching = false;
    cfg
}

pub fn demo_state_path(home: &Path) -> std::path::PathBuf {
    home.join("demo").join("tenant.json")
}

impl Connection {
    pub async fn open(name: &str, t: &TenantConfig, home: &Path) -> Result<Connection> {
        if t.demo {
            let cfg = DemoConfig { state_path: demo_state_path(home), knobs: Knobs::from_env() };
            let server = DemoServer::start(cfg, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| Error::io("starting the demo tenant", e))?;
            let mut graph = GraphConfig::new(server.base_url(), server.token_url(), DEMO_CLIENT_ID, Secret::new(DEMO_CLIENT_SECRET));
            if let Some(ms) = std::env::var("OFFBOARD_DEMO_RETRY_BASE_MS").ok().and_then(|v| v.parse().ok()) {
                graph.retry_base_delay = Duration::from_millis(ms);
            }
            if let Some(ms) = std::env::var("OFFBOARD_DEMO_CLIENT_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()) {
                graph.timeout = Duration::from_millis(ms);
            }
            let exchange = Some((exchange_config(&graph, server.exchange_base_url()), crate::demo::DEMO_TENANT_ID.to_string()));
            return Ok(Connection { tenant: name.to_string(), graph, exchange, demo: Some(server) });
        }
        let g = t.graph.as_ref().ok_or_else(|| Error::Provider {
            tenant: name.to_string(),
            message: "no [graph] section: this tenant has no cloud directory configured".into(),
        })?;
        let mut graph = GraphConfig::new(g.base_url(), g.token_url(), g.client_id.clone(), g.client_secret(name)?);
        if let Some(s) = g.timeout_secs {
            graph.timeout = Duration::from_secs(s);
        }
        if let Some(r) = g.max_retries {
            graph.max_retries = r;
        }
        if let Some(ms) = g.retry_base_ms {
            graph.retry_base_delay = Duration::from_millis(ms);
        }
        if let Some(b) = g.batching {
            graph.batching = b;
        }
        let exchange = Some((exchange_config(&graph, g.exchange_url.clone().unwrap_or_else(|| crate::exchange::EXO_BASE_URL.to_string())), g.tenant_id.clone()));
        Ok(Connection { tenant: name.to_string(), graph, exchange, demo: None })
    }

    /// The providers for one run. `read_only` (plan mode) makes every client refuse writes
    /// locally, a second fence behind the executor never calling `apply` in plan mode.
    pub async fn providers(&self, read_only: bool, batching: bool) -> Result<Providers> {
        let exchange = match &self.exchange {
            Some((cfg, tenant_id)) => Some(self.exchange(cfg, tenant_id, read_only)?),
            None => None,
        };
        Ok(Providers { cloud: Some(self.cloud(read_only, batching).await?), exchange })
    }

    /// Exchange Online over InvokeCommand. Its token is fetched on first use, not here: a tenant
    /// whose app has no Exchange role still runs its Graph steps.
    fn exchange(&self, cfg: &GraphConfig, tenant_id: &str, read_only: bool) -> Result<Arc<dyn ExchangeOnline>> {
        let mut cfg = cfg.clone();
        cfg.read_only = read_only;
        Ok(InvokeCommandExchange::new(cfg, tenant_id)?)
    }

    async fn cloud(&self, read_only: bool, batching: bool) -> Result<Arc<dyn CloudDirectory>> {
        let mut cfg = self.graph.clone();
        cfg.read_only = read_only;
        cfg.batching = cfg.batching && batching;
        let client = GraphClient::new(cfg)?;
        let dir = GraphDirectory::new(client);
        dir.authenticate().await.map_err(|e| Error::Provider {
            tenant: self.tenant.clone(),
            message: format!("{e}{}", if self.demo.is_some() && self.tenant == DEMO_TENANT { " (demo tenant)" } else { "" }),
        })?;
        Ok(dir)
    }

    pub async fn close(self) {
        if let Some(d) = self.demo {
            d.shutdown().await;
        }
    }
}
