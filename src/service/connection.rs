//! Connecting to a client tenant: the real Graph endpoints from the configuration, or the demo
//! tenant started in this process on loopback (same HTTP client either way).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::ad::{AdPolicy, LdapConfig, LdapDirectory, OnPremDirectory};
use crate::config::{AdSettings, TenantConfig, DEMO_TENANT};
use crate::demo::{DemoConfig, DemoServer, Knobs, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use crate::entra::{CloudDirectory, GraphDirectory};
use crate::error::{Error, Result};
use crate::exchange::{ExchangeOnline, InvokeCommandExchange};
use crate::exec::Providers;
use crate::graph::{GraphClient, GraphConfig, WritePacer};
use crate::psa::settings::{Overrides, PsaSettings};
use crate::psa::Psa;
use crate::secret::Secret;

pub struct Connection {
    pub tenant: String,
    /// None: no cloud directory (an on-premises-only client).
    graph: Option<GraphConfig>,
    /// Exchange Online: the same app and token URL as Graph, its own base URL and scope.
    exchange: Option<(GraphConfig, String)>,
    ad: Option<AdSettings>,
    /// The tenant's PSA section and, for the demo, where its simulator listens.
    psa: Option<(PsaSettings, Overrides)>,
    /// Keeps the in-process demo tenant alive for the connection's lifetime (none when the
    /// connection uses a demo server someone else runs).
    pub demo: Option<DemoServer>,
}

/// The Graph settings re-aimed at Exchange Online: base URL and token scope.
fn exchange_config(graph: &GraphConfig, base_url: String) -> GraphConfig {
    let mut cfg = graph.clone();
    cfg.base_url = base_url;
    cfg.scope = crate::exchange::EXO_SCOPE.to_string();
    // `batching` carries over: Exchange has its own `$batch` (`exchange/batch.rs`).
    // Exchange's limits are its own; Graph's write quota does not count cmdlets.
    cfg.write_pacer = None;
    cfg
}

/// The tenant's write pacer, from `graph_write_quota` (the documented quota when unset). Read
/// from configuration, never from the service or the demo's knobs: the client must be right
/// about the real service without being told by it.
pub fn tenant_write_pacer(name: &str, t: &TenantConfig) -> Result<Arc<WritePacer>> {
    match &t.graph_write_quota {
        None => Ok(Arc::new(WritePacer::documented())),
        Some(q) => WritePacer::parse(q).map(Arc::new).map_err(|m| Error::Usage(format!("tenant '{name}': {m}"))),
    }
}

pub fn demo_state_path(home: &Path) -> std::path::PathBuf {
    home.join("demo").join("tenant.json")
}

impl Connection {
    pub async fn open(name: &str, t: &TenantConfig, home: &Path) -> Result<Connection> {
        Connection::open_with(name, t, home, None, None).await
    }

    /// As [`Connection::open`]; a demo tenant is reached at `demo` when given (a demo server this
    /// process already runs, as `serve --demo` does for its issuer), rather than started anew:
    /// two servers on one state file would split the tenant's state and overwrite each other.
    /// Graph writes are paced by `pacer` when given instead of a pacer of this connection's own:
    /// one that outlives the connection (a worker's, a lane's), so the next run does not start
    /// with an empty window while the last one's writes are still in Graph's.
    pub async fn open_with(
        name: &str,
        t: &TenantConfig,
        home: &Path,
        demo: Option<SocketAddr>,
        pacer: Option<Arc<WritePacer>>,
    ) -> Result<Connection> {
        if t.demo {
            let (addr, server) = match demo {
                Some(addr) => (addr, None),
                None => {
                    let cfg = DemoConfig { state_path: demo_state_path(home), knobs: Knobs::from_env() };
                    let server =
                        DemoServer::start(cfg, ([127, 0, 0, 1], 0).into()).await.map_err(|e| Error::io("starting the demo tenant", e))?;
                    (server.addr(), Some(server))
                }
            };
            let mut graph = GraphConfig::new(
                crate::demo::base_url(addr),
                crate::demo::token_url(addr),
                DEMO_CLIENT_ID,
                Secret::new(DEMO_CLIENT_SECRET),
            );
            graph.write_pacer = Some(match &pacer {
                Some(p) => p.clone(),
                None => tenant_write_pacer(name, t)?,
            });
            if let Some(ms) = std::env::var("OFFBOARD_DEMO_RETRY_BASE_MS").ok().and_then(|v| v.parse().ok()) {
                graph.retry_base_delay = Duration::from_millis(ms);
            }
            if let Some(ms) = std::env::var("OFFBOARD_DEMO_CLIENT_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()) {
                graph.timeout = Duration::from_millis(ms);
            }
            let psa = t.psa.clone().map(|p| {
                let kind = p.kind.name_lower();
                // The variable the demo section names replaces the simulator's secret when set.
                let secret = std::env::var(&p.secret_env).ok().filter(|s| !s.is_empty());
                let o = Overrides {
                    base_url: Some(crate::demo::psa::base_url(kind, addr)),
                    secret: Some(Secret::new(secret.unwrap_or_else(|| crate::demo::psa::secret(kind).to_string()))),
                    retry_base: Some(graph.retry_base_delay),
                };
                (p, o)
            });
            let exchange = Some((exchange_config(&graph, crate::demo::exchange_base_url(addr)), crate::demo::DEMO_TENANT_ID.to_string()));
            return Ok(Connection { tenant: name.to_string(), graph: Some(graph), exchange, ad: t.ad.clone(), psa, demo: server });
        }
        let psa = t.psa.clone().map(|p| (p, Overrides::default()));
        let Some(g) = t.graph.as_ref() else {
            if t.ad.is_some() {
                return Ok(Connection { tenant: name.to_string(), graph: None, exchange: None, ad: t.ad.clone(), psa, demo: None });
            }
            return Err(Error::Provider {
                tenant: name.to_string(),
                message: "no [graph] section: this tenant has no cloud directory configured".into(),
            });
        };
        let mut graph = GraphConfig::new(g.base_url(), g.token_url(), g.client_id.clone(), g.client_secret(name)?);
        graph.write_pacer = Some(match &pacer {
            Some(p) => p.clone(),
            None => tenant_write_pacer(name, t)?,
        });
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
        let exo_url = g.exchange_url.clone().unwrap_or_else(|| crate::exchange::EXO_BASE_URL.to_string());
        let exchange = Some((exchange_config(&graph, exo_url), g.tenant_id.clone()));
        Ok(Connection { tenant: name.to_string(), graph: Some(graph), exchange, ad: t.ad.clone(), psa, demo: None })
    }

    /// The tenant's Graph write pacer (one for every client this connection makes).
    pub fn write_pacer(&self) -> Option<Arc<WritePacer>> {
        self.graph.as_ref().and_then(|g| g.write_pacer.clone())
    }

    /// The providers for one run. `read_only` (plan mode) makes every client refuse writes
    /// locally, a second fence behind the executor never calling `apply` in plan mode.
    pub async fn providers(&self, read_only: bool, batching: bool) -> Result<Providers> {
        // The PSA first: bad PSA credentials stop the command before a directory is touched.
        let psa = self.psa(read_only).await?;
        let exchange = match &self.exchange {
            Some((cfg, tenant_id)) => Some(self.exchange(cfg, tenant_id, read_only, batching)?),
            None => None,
        };
        // Both tokens at once: the Exchange one would otherwise cost a round trip of its own in the
        // middle of the run. Its failure is not an error here (see `exchange`): the first cmdlet
        // asks again and fails with the reason.
        let exchange_token = async {
            if let Some(e) = &exchange {
                if let Err(err) = e.authenticate().await {
                    tracing::debug!("Exchange token not fetched up front: {err}");
                }
            }
        };
        let cloud = async {
            match &self.graph {
                Some(g) => Ok(Some(self.cloud(g, read_only, batching).await?)),
                None => Ok::<_, Error>(None),
            }
        };
        let (cloud, ()) = tokio::join!(cloud, exchange_token);
        let cloud = cloud?;
        let ad = match &self.ad {
            Some(a) => Some(self.ad(a, read_only).await?),
            None => None,
        };
        let mut providers = Providers::default();
        cloud.into_iter().for_each(|c| crate::entra::provide_cloud(&mut providers, c));
        exchange.into_iter().for_each(|e| crate::exchange::provide_exchange(&mut providers, e));
        ad.into_iter().for_each(|a| crate::ad::provide_ad(&mut providers, a));
        psa.into_iter().for_each(|p| crate::psa::provide_psa(&mut providers, p));
        Ok(providers)
    }

    /// Exchange Online over InvokeCommand. A token it cannot get is not an error here: a tenant
    /// whose app has no Exchange role still runs its Graph steps.
    fn exchange(&self, cfg: &GraphConfig, tenant_id: &str, read_only: bool, batching: bool) -> Result<Arc<dyn ExchangeOnline>> {
        let mut cfg = cfg.clone();
        cfg.read_only = read_only;
        cfg.batching = cfg.batching && batching;
        Ok(InvokeCommandExchange::new(cfg, tenant_id)?)
    }

    /// The tenant's PSA, authenticated; `None` when it has none. A PSA that is down is not an
    /// error (the outbox keeps what the run writes); refused credentials are.
    pub async fn psa(&self, read_only: bool) -> Result<Option<Arc<dyn Psa>>> {
        let Some((settings, overrides)) = &self.psa else { return Ok(None) };
        let provider = |message: String| Error::Provider { tenant: self.tenant.clone(), message };
        let psa = settings.build(read_only, overrides.clone()).map_err(provider)?;
        match psa.authenticate().await {
            Ok(()) => {}
            Err(e) if e.is_unavailable() => {
                tracing::warn!("{e}: the ticket and its notes wait in the outbox until the PSA is back");
            }
            Err(e) => return Err(provider(e.to_string())),
        }
        Ok(Some(psa))
    }

    async fn ad(&self, a: &AdSettings, read_only: bool) -> Result<Arc<dyn OnPremDirectory>> {
        let cfg = LdapConfig {
            url: a.url.clone(),
            starttls: a.starttls,
            bind_dn: a.bind_dn.clone(),
            password: a.password(&self.tenant)?,
            base_dn: a.base_dn.clone(),
            ca_file: a.ca_file.clone(),
            accept_invalid_certs: a.accept_invalid_certs,
            read_only,
            timeout: Duration::from_secs(a.timeout_secs.unwrap_or(30)),
            policy: AdPolicy { disabled_ou: a.disabled_ou.clone(), sync_scope: a.sync_scope.clone(), sync_command: a.sync_command.clone() },
        };
        let dir = LdapDirectory::connect(cfg)
            .await
            .map_err(|e| Error::Provider { tenant: self.tenant.clone(), message: format!("on-premises AD {}: {e}", a.url) })?;
        Ok(dir)
    }

    async fn cloud(&self, graph: &GraphConfig, read_only: bool, batching: bool) -> Result<Arc<dyn CloudDirectory>> {
        let mut cfg = graph.clone();
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
