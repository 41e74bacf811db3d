//! One tenant, one script, ready to plan and apply for any number of users.
//!
//! Approvals, schedules, the worker, bulk runs and the console need it: a stored run is
//! re-planned later, a bulk run plans and applies many users, the console plans what a person
//! asked for. It never calls back into the CLI or the console.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Map};
use serde_json::json;

use super::{open_journal, runtime, ticketing_options, Connection};
use crate::config::{Config, TenantConfig};
use crate::engine::EngineOptions;
use crate::entra::CloudAccess;
use crate::error::{Error, Result};
use crate::exec::host::ExecOptions;
use crate::exec::report::Report;
use crate::journal::{Journal, Mode, PlannedStep, WorkItem, WorkKind};
use crate::psa::ticketing::TicketingOptions;
use crate::psa::PsaAccess;
use crate::run::{run_script, Protection, RunRequest, Script};
use crate::settings::org_with_sets;

/// What a stored run needs to be made again: the script as found, `--set` values, `--ticket`.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub tenant: Option<String>,
    pub script: String,
    pub sets: Vec<String>,
    pub ticket: Option<String>,
    pub concurrency: usize,
    pub timeout: u64,
    /// `--allow-privileged`: kept with an approval or schedule, so the later run is the same run.
    pub allow_privileged: bool,
    /// The queue worker's runs: a long wait re-queues the run instead of sleeping
    /// ([`crate::exec::host::ExecOptions::yield_waits`]). Not kept with the item.
    pub yield_waits: Option<Duration>,
}

impl RunSpec {
    /// The options kept with an approval or a schedule.
    pub fn options(&self) -> serde_json::Value {
        json!({"set": self.sets, "ticket": self.ticket, "allow_privileged": self.allow_privileged})
    }
    /// A run of `script` for `tenant` with the CLI's defaults (16 steps at once, 30 minutes),
    /// never `--allow-privileged`.
    pub fn for_tenant(tenant: &str, script: &str, sets: Vec<String>, ticket: Option<String>) -> RunSpec {
        RunSpec {
            tenant: Some(tenant.to_string()),
            script: script.to_string(),
            sets,
            ticket,
            concurrency: 16,
            timeout: 1800,
            allow_privileged: false,
            yield_waits: None,
        }
    }
    /// A stored item's spec (its script already resolved when it was recorded).
    pub fn from_stored(tenant: &str, script: &str, options: &serde_json::Value) -> RunSpec {
        let sets = options["set"].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default();
        RunSpec {
            allow_privileged: options["allow_privileged"].as_bool().unwrap_or(false),
            ..RunSpec::for_tenant(tenant, script, sets, options["ticket"].as_str().map(String::from))
        }
    }
}

/// The script `spec` with the MSP-wide overrides, then the client's, on top: each layer's
/// functions replace those below it. Every kind of run loads it this way (one user, bulk,
/// scheduled, approved), so a client's rules (a legal hold, say) hold for all of them, and the
/// script hash an approval is bound to covers the layers.
pub fn load_layered(config: &Config, tenant: &TenantConfig, spec: &str) -> Result<Script> {
    let mut script = Script::load(spec, &config.scripts_dir())?;
    for layer in config.msp_overrides.iter().chain(tenant.overrides.iter()) {
        script.overlays.push(Script::load(layer, &config.scripts_dir())?);
    }
    Ok(script)
}

/// The client's protected accounts and roles, with the run's `--allow-privileged`.
pub fn protection(tenant: &TenantConfig, allow_privileged: bool) -> Protection {
    Protection {
        protected_users: tenant.protected_users.clone(),
        protected_groups: tenant.protected_groups.clone(),
        allowed_roles: tenant.allowed_roles.clone(),
        allow_privileged,
    }
}

/// `user` as the tenant names its users (a UPN; with AD also a sAMAccountName), or refused.
pub fn check_user(tenant: &TenantConfig, user: &str) -> Result<()> {
    let valid = if tenant.ad.is_some() { crate::input::validate_ad_user(user) } else { crate::input::validate_user(user) };
    valid.map_err(|reason| Error::InvalidUser { input: user.escape_debug().to_string(), reason })
}

pub struct Session {
    pub tenant_name: String,
    pub tenant: TenantConfig,
    /// The script as a later process finds it again: an absolute path for a file.
    pub script_ref: String,
    pub script: Script,
    org: Map,
    sets: Vec<(String, String)>,
    engine: EngineOptions,
    ticketing: TicketingOptions,
    concurrency: usize,
    allow_privileged: bool,
    yield_waits: Option<Duration>,
    pub journal: Arc<dyn Journal>,
    /// The configuration's `journal` and the home directory: where the journal is, for the job
    /// queue on PostgreSQL (`request::schedule`).
    pub(super) journal_setting: Option<String>,
    pub(super) home: std::path::PathBuf,
    /// The console's public URL (`[console] public_url`), for links in the approval mail.
    pub(super) console_url: Option<String>,
    pub rt: tokio::runtime::Runtime,
    conn: Option<Connection>,
    /// The providers of plan and apply runs, made on first use and shared by every run of the
    /// session: one token per API, one SKU read, one connection pool for a whole bulk run.
    providers: std::sync::Mutex<[Option<crate::exec::Providers>; 2]>,
}

/// What a long-running process (the console) already has and a session should use rather than
/// make again: its journal, and the demo tenant it runs. Empty for the CLI.
#[derive(Clone, Default)]
pub struct Reuse {
    pub journal: Option<Arc<dyn Journal>>,
    /// The address of a demo server this process runs (see [`Connection::open_with`]).
    pub demo: Option<std::net::SocketAddr>,
    /// A write pacer that outlives the session (a worker's, a lane's; see [`Connection::open_with`]).
    pub pacer: Option<Arc<crate::graph::WritePacer>>,
}

impl Session {
    pub fn open(home: &Path, config: &Config, spec: &RunSpec) -> Result<Session> {
        Session::open_with(home, config, spec, &Reuse::default())
    }

    /// As [`Session::open`], with the journal and demo tenant of `reuse` where given.
    pub fn open_with(home: &Path, config: &Config, spec: &RunSpec, reuse: &Reuse) -> Result<Session> {
        let (tenant_name, tenant) = config.tenant(spec.tenant.as_deref())?;
        let (org, sets) = org_with_sets(&tenant.defaults, &spec.sets)?;
        let wanted = match (&tenant.script, spec.script.as_str()) {
            (Some(own), "default" | "default.rhai") => own.clone(),
            _ => spec.script.clone(),
        };
        let script = load_layered(config, tenant, &wanted)?;
        // A file is kept by its absolute path: the worker may run from another directory.
        let script_ref = [Path::new(&wanted).to_path_buf(), config.scripts_dir().join(&wanted)]
            .iter()
            .find(|p| p.is_file())
            .and_then(|p| std::fs::canonicalize(p).ok())
            .map(|p| p.display().to_string())
            .unwrap_or(wanted);
        let engine = EngineOptions {
            deadline: Duration::from_secs(spec.timeout),
            cancel: Arc::new(AtomicBool::new(false)),
            ..EngineOptions::default()
        };
        script.check_syntax(&engine)?;
        let ticketing = ticketing_options(tenant_name, tenant, spec.ticket.as_deref())?;
        let journal = match &reuse.journal {
            Some(j) => j.clone(),
            None => open_journal(home, config.journal.as_deref())?,
        };
        let rt = runtime()?;
        let conn = rt.block_on(Connection::open_with(tenant_name, tenant, home, reuse.demo, reuse.pacer.clone()))?;
        Ok(Session {
            console_url: config.console.as_ref().map(|c| c.public_url.clone()),
            tenant_name: tenant_name.to_string(),
            tenant: tenant.clone(),
            script_ref,
            script,
            org,
            sets,
            engine,
            ticketing,
            concurrency: spec.concurrency,
            allow_privileged: spec.allow_privileged,
            yield_waits: spec.yield_waits,
            journal,
            journal_setting: config.journal.clone(),
            home: home.to_path_buf(),
            rt,
            conn: Some(conn),
            providers: std::sync::Mutex::default(),
        })
    }

    /// A pending approval or schedule for `user`, made from the plan run `id`: the script as a
    /// later process finds it again, requested by this OS account, nothing decided yet.
    pub fn pending_item(
        &self,
        kind: WorkKind,
        id: &str,
        user: &str,
        options: serde_json::Value,
        plan: Vec<PlannedStep>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> WorkItem {
        WorkItem {
            id: id.to_string(),
            kind,
            tenant: self.tenant_name.clone(),
            user: user.to_string(),
            script: self.script_ref.clone(),
            script_hash: self.script.hash(),
            options,
            plan,
            status: "pending".into(),
            created_at: crate::workflow::clock::now(),
            at,
            decided_by: None,
            decided_at: None,
            reason: None,
            claimed_by: None,
            applied_run_id: None,
            note: None,
            policy: None,
            requested_by: Some(crate::workflow::binding::os_identity()),
            decided_os: None,
            lease_until: None,
        }
    }

    pub fn validate_user(&self, user: &str) -> Result<()> {
        check_user(&self.tenant, user)
    }

    /// `user`'s last day as HR entered it in Entra (`employeeLeaveDateTime`, see
    /// [`crate::workflow::leave_date::leave_day_of`]) and the value read; refused when it is not set.
    pub fn directory_leave_day(&self, user: &str) -> Result<(chrono::NaiveDate, String)> {
        self.validate_user(user)?;
        let providers = self.plan_providers()?;
        let cloud = providers.cloud().map_err(|e| Error::Usage(format!("--last-day from-directory: {e}")))?.clone();
        let value = self.rt.block_on(cloud.leave_date(user)).map_err(|e| {
            if e.is_not_found() {
                Error::UserNotFound { user: user.to_string(), tenant: self.tenant_name.clone() }
            } else {
                Error::Graph(e)
            }
        })?;
        let Some(value) = value else {
            return Err(Error::Usage(format!(
                "{user} has no employeeLeaveDateTime in tenant '{}': nothing is guessed; give --last-day YYYY-MM-DD or --at",
                self.tenant_name
            )));
        };
        let day = crate::workflow::leave_date::leave_day_of(&value).map_err(|m| Error::Usage(format!("{user}: {m}")))?;
        Ok((day, value))
    }

    /// `row`: a bulk row's settings, over `--set` (and kept in the journal with them, as `--set`
    /// values are, so `runs show` tells what this user's run was given).
    fn request(&self, user: &str, mode: Mode, row: &[(String, Dynamic)]) -> RunRequest {
        let (mut org, mut sets) = (self.org.clone(), self.sets.clone());
        for (k, v) in row {
            sets.retain(|(s, _)| s != k);
            sets.push((k.clone(), v.to_string()));
            org.insert(k.as_str().into(), v.clone());
        }
        RunRequest {
            tenant: self.tenant_name.clone(),
            directory: self.tenant.directory.as_str().to_string(),
            user: user.to_string(),
            script: self.script.clone(),
            mode,
            org,
            sets,
            denied: self.tenant.deny.clone(),
            exec: ExecOptions { concurrency: self.concurrency, yield_waits: self.yield_waits },
            engine: self.engine.clone(),
            observer: Some(Arc::new(self.ticketing.clone())),
            protection: protection(&self.tenant, self.allow_privileged),
            work_item: None,
        }
    }

    /// Plan (`Mode::Plan`, read-only providers) or apply for one user. Callable from any thread.
    pub fn run(&self, user: &str, mode: Mode) -> Result<Report> {
        self.run_with(user, mode, &[])
    }

    /// As [`Session::run`], with settings of this user's own over the session's (a bulk row's).
    pub fn run_with(&self, user: &str, mode: Mode, row: &[(String, Dynamic)]) -> Result<Report> {
        self.launch(self.request(user, mode, row))
    }

    fn launch(&self, req: RunRequest) -> Result<Report> {
        let providers = self.providers(req.mode)?;
        let journal: Arc<dyn Journal> = self.journal.clone();
        run_script(self.rt.handle(), journal, providers, req)
    }

    /// Apply for `user` on behalf of the scheduled item `item`: the run's journal record names
    /// the item, so a worker taking the item over sees whether this run finished.
    pub fn apply_item(&self, user: &str, item: &str) -> Result<Report> {
        self.launch(RunRequest { work_item: Some(item.to_string()), ..self.request(user, Mode::Apply, &[]) })
    }

    /// The read-only providers of plan runs (for a look-up such as a user search).
    pub fn plan_providers(&self) -> Result<crate::exec::Providers> {
        self.providers(Mode::Plan)
    }

    /// The providers for `mode`'s runs, made once per session (plan ones refuse writes locally).
    fn providers(&self, mode: Mode) -> Result<crate::exec::Providers> {
        let mut cache = self.providers.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut cache[usize::from(mode == Mode::Plan)];
        if let Some(p) = slot {
            return Ok(p.clone());
        }
        let conn = self.conn.as_ref().expect("open connection");
        let made = self.rt.block_on(conn.providers(mode == Mode::Plan, self.concurrency > 1))?;
        *slot = Some(made.clone());
        Ok(made)
    }

    /// The tenant's Graph write pacer: a bulk run starts its next user when it has room.
    pub fn write_pacer(&self) -> Option<Arc<crate::graph::WritePacer>> {
        self.conn.as_ref().and_then(Connection::write_pacer)
    }

    /// Send one plain-text mail from the client's `mail_sender` (its defaults) through Graph.
    pub fn send_mail(&self, to: &str, subject: &str, body: &str) -> Result<()> {
        let sender = self.tenant.defaults.get("mail_sender").and_then(|v| v.as_str()).unwrap_or("").trim().to_string();
        if sender.is_empty() {
            return Err(Error::Usage(format!("tenant '{}' has no mail_sender in its defaults", self.tenant_name)));
        }
        let conn = self.conn.as_ref().expect("open connection");
        let providers = self.rt.block_on(conn.providers(false, false))?;
        let cloud = providers.cloud().map_err(|e| Error::Provider { tenant: self.tenant_name.clone(), message: e.to_string() })?;
        self.rt
            .block_on(cloud.send_mail(&sender, to, subject, body, None))
            .map_err(|e| Error::Provider { tenant: self.tenant_name.clone(), message: e.to_string() })
    }

    /// Queue PSA outbox items for `run_id` (a ticket to open, notes) and deliver what is pending.
    /// `None` when this tenant has no PSA. Returns the run's ticket and a delivery warning.
    pub fn psa_items(
        &self,
        run_id: &str,
        items: Vec<(crate::journal::OutboxKind, String, serde_json::Value)>,
    ) -> Result<Option<(Option<String>, Option<String>)>> {
        if self.tenant.psa.is_none() {
            return Ok(None);
        }
        for (kind, what, payload) in items {
            let marker = crate::psa::ticketing::marker(run_id, &what);
            let mut payload = payload;
            if let Some(text) = payload.get("text").and_then(|t| t.as_str()).map(String::from) {
                payload["text"] = format!("{marker}\n{text}").into();
            }
            self.journal.outbox_add(&crate::journal::NewOutboxItem {
                tenant: self.tenant_name.clone(),
                run_id: run_id.to_string(),
                kind,
                marker,
                payload,
            })?;
        }
        let conn = self.conn.as_ref().expect("open connection");
        let providers = self.rt.block_on(conn.providers(false, false))?;
        let mut warning = None;
        if let Some(psa) = providers.psa() {
            let d = self.rt.block_on(crate::psa::outbox::deliver(psa.as_ref(), self.journal.as_ref(), &self.tenant_name));
            warning = d.error.map(|e| format!("psa: delivery postponed ({e}); `offboard-host outbox flush` retries"));
        }
        Ok(Some((self.journal.run_ticket(run_id)?, warning)))
    }

    pub fn close(mut self) {
        if let Some(c) = self.conn.take() {
            self.rt.block_on(c.close());
        }
    }
}
