//! Exchange Online: the provider trait, its InvokeCommand implementation, and the mailbox actions.
//!
//! [`ExchangeOnline`] is what the actions and script functions need from Exchange, one method per
//! cmdlet call. [`InvokeCommandExchange`] implements it over the admin API's (undocumented, "beta")
//! `POST {base}/adminapi/beta/{tenantId}/InvokeCommand`, the endpoint the ExchangeOnlineManagement
//! v3 module and CIPP use (see `apis.md` section 3 and `offboarding-anchors.md` b.0, F7–F13). The
//! documented v2.0 admin API cannot yet convert mailboxes, hide them or set forwarding, so it can
//! replace this implementation behind the same trait later.
//!
//! Transport: the Graph client's pieces are reused, not copied: the token cache (with the Exchange
//! scope `https://outlook.office365.com/.default`), one-attempt HTTP exchanges with statistics, and
//! the bounded retry policy (429/503/504 with Retry-After or exponential backoff; a write that may
//! have landed is never blindly re-sent). What is Exchange-specific lives here: the body envelope,
//! the `X-AnchorMailbox` routing header, paging by re-POSTing the body to `@odata.nextLink`, the
//! "maximum number of concurrent requests" reply treated as throttling, and error bodies parsed
//! from `error.details[0].message` (`ExceptionId|Type|Message`).

mod access;
pub mod actions;
mod batch;
mod licence_need;
pub mod model;
pub mod reads;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::graph::answer::error_code;
use crate::graph::retry::{decide, OpState, Step};
use crate::graph::stats::Recorder;
use crate::graph::transport::{Attempt, Transport};
use crate::graph::{check_urls, path_segment, same_origin_suffix, GraphConfig, GraphError, GraphRequest, GraphStats};
pub use access::{provide_exchange, ExchangeAccess};
pub use batch::{MAX_BATCH, MAX_CONCURRENT};
pub use model::{InboxRule, Mailbox, MobileDevice, Permission, Recipient};
pub use reads::ExoReads;

/// The token scope of the Exchange Online admin API.
pub const EXO_SCOPE: &str = "https://outlook.office365.com/.default";
/// The default Exchange Online endpoint.
pub const EXO_BASE_URL: &str = "https://outlook.office365.com";
/// The system mailbox app-only calls anchor on when no user mailbox is involved.
const SYSTEM_ANCHOR: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}";

/// Everything that can go wrong calling a cmdlet.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExoError {
    /// Exchange ran the cmdlet and refused: its own message, and the exception type behind it.
    #[error("Exchange {cmdlet} failed: {message}{}", short_type(.exception))]
    Cmdlet { cmdlet: String, status: u16, exception: String, message: String },
    /// Plan mode: a cmdlet that changes something was asked for. Nothing was sent.
    #[error("Exchange {cmdlet} not sent: read-only (plan) mode refuses every write")]
    WriteRefused { cmdlet: String },
    /// Token, network, throttling that did not end, or an answer that made no sense.
    #[error("Exchange {cmdlet}: {source}")]
    Http { cmdlet: String, source: GraphError },
}

fn short_type(t: &str) -> String {
    match t.rsplit('.').next() {
        Some(s) if !s.is_empty() => format!(" ({s})"),
        _ => String::new(),
    }
}

impl crate::action_error::ProviderError for ExoError {
    fn maybe_applied(&self) -> bool {
        ExoError::maybe_applied(self)
    }
}

impl ExoError {
    /// The object named does not exist (`ManagementObjectNotFoundException`, or a 404).
    pub fn is_not_found(&self) -> bool {
        match self {
            ExoError::Cmdlet { status, exception, .. } => *status == 404 || exception.ends_with("ManagementObjectNotFoundException"),
            _ => false,
        }
    }

    /// A write may have been applied despite the error: re-observe before deciding.
    pub fn maybe_applied(&self) -> bool {
        match self {
            ExoError::Http { source, .. } => source.maybe_applied(),
            _ => false,
        }
    }
}

type XResult<T> = Result<T, ExoError>;

/// Forwarding as `Set-Mailbox` takes it: at most one of the two targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarding {
    /// Internal recipient (identity) for `ForwardingAddress`.
    pub address: Option<String>,
    /// External address for `ForwardingSmtpAddress` (`smtp:` prefix added by the provider).
    pub smtp: Option<String>,
    pub keep_copy: bool,
}

#[async_trait]
pub trait ExchangeOnline: Send + Sync {
    /// `Get-Mailbox -Identity <upn>`. `None`: the user has no Exchange Online mailbox.
    async fn get_mailbox(&self, upn: &str) -> XResult<Option<Mailbox>>;
    /// `Get-MailboxStatistics -Identity <upn>` → `TotalItemSize` in bytes.
    async fn mailbox_size(&self, upn: &str) -> XResult<Option<u64>>;
    /// `Get-Recipient -Identity <x>`. No such recipient is an error carrying Exchange's message
    /// (callers name the recipient the script gave, so a typo must read as Exchange says it).
    async fn get_recipient(&self, identity: &str) -> XResult<Recipient>;
    /// `Get-AcceptedDomain` → the domain names (lower case).
    async fn accepted_domains(&self) -> XResult<Vec<String>>;
    /// `Set-Mailbox -Identity <upn> -Type <Shared|Regular>`
    async fn set_mailbox_type(&self, upn: &str, kind: &str) -> XResult<()>;
    /// `Set-Mailbox -Identity <upn> -HiddenFromAddressListsEnabled <bool>`
    async fn set_hidden_from_gal(&self, upn: &str, hidden: bool) -> XResult<()>;
    /// `Set-Mailbox -Identity <upn> -ForwardingAddress .. -ForwardingSmtpAddress .. -DeliverToMailboxAndForward ..`
    async fn set_forwarding(&self, upn: &str, f: &Forwarding) -> XResult<()>;
    /// `Get-MailboxPermission -Identity <upn>`
    async fn mailbox_permissions(&self, upn: &str) -> XResult<Vec<Permission>>;
    /// `Add-MailboxPermission -Identity <upn> -User <t> -AccessRights FullAccess -AutoMapping <b> -InheritanceType All`
    async fn add_full_access(&self, upn: &str, trustee: &str, automap: bool) -> XResult<()>;
    /// `Get-RecipientPermission -Identity <upn>`
    async fn recipient_permissions(&self, upn: &str) -> XResult<Vec<Permission>>;
    /// `Add-RecipientPermission -Identity <upn> -Trustee <t> -AccessRights SendAs -Confirm:$false`
    async fn add_send_as(&self, upn: &str, trustee: &str) -> XResult<()>;
    /// `Get-MobileDevice -Mailbox <upn>`
    async fn mobile_devices(&self, upn: &str) -> XResult<Vec<MobileDevice>>;
    /// `Set-CASMailbox -Identity <upn> -ActiveSyncBlockedDeviceIDs @{add=<id>}`
    async fn block_device(&self, upn: &str, device_id: &str) -> XResult<()>;
    /// `Clear-MobileDevice -Identity <device> -Confirm:$false` (remote wipe)
    async fn wipe_device(&self, upn: &str, identity: &str) -> XResult<()>;
    /// `Remove-MobileDevice -Identity <device> -Confirm:$false` (the partnership only)
    async fn remove_device(&self, upn: &str, identity: &str) -> XResult<()>;
    /// `Get-InboxRule -Mailbox <upn> -IncludeHidden`
    async fn inbox_rules(&self, upn: &str) -> XResult<Vec<InboxRule>>;
    /// `Remove-InboxRule -Identity <rule> -Confirm:$false`
    async fn remove_inbox_rule(&self, upn: &str, identity: &str) -> XResult<()>;
    /// `Get-DistributionGroupMember -Identity <group>`
    async fn distribution_group_members(&self, group: &str) -> XResult<Vec<Recipient>>;
    /// `Remove-DistributionGroupMember -Identity <group> -Member <upn> -BypassSecurityGroupManagerCheck -Confirm:$false`
    async fn remove_distribution_group_member(&self, group: &str, member: &str) -> XResult<()>;
    /// `Add-DistributionGroupMember -Identity <group> -Member <upn> -BypassSecurityGroupManagerCheck -Confirm:$false` (restore)
    async fn add_distribution_group_member(&self, group: &str, member: &str) -> XResult<()>;
    /// `Remove-MailboxPermission -Identity <upn> -User <t> -AccessRights FullAccess -InheritanceType All -Confirm:$false` (restore)
    async fn remove_full_access(&self, upn: &str, trustee: &str) -> XResult<()>;
    /// `Remove-RecipientPermission -Identity <upn> -Trustee <t> -AccessRights SendAs -Confirm:$false` (restore)
    async fn remove_send_as(&self, upn: &str, trustee: &str) -> XResult<()>;
    /// Make sure the credentials work before anything else happens.
    /// A script's own cmdlet (`exo::invoke`), every page of its output. The mailbox anchor is the
    /// `Identity` parameter when it is an address. Writes are refused in plan mode.
    async fn invoke_raw(&self, cmdlet: &str, _params: Value) -> XResult<Vec<Value>> {
        let message = "generic cmdlets are not supported by this Exchange client".to_string();
        Err(ExoError::Http { cmdlet: cmdlet.to_string(), source: GraphError::Protocol { message } })
    }
    async fn authenticate(&self) -> XResult<()>;
    fn stats(&self) -> GraphStats;
}

/// A cmdlet's answer: the output objects of every page, and Exchange's warnings.
#[derive(Debug, Clone, Default)]
pub struct CmdletOutput {
    pub value: Vec<Value>,
    pub warnings: Vec<String>,
}

/// Only these verbs read; everything else (Set, Add, Remove, Clear, Enable, New, ...) is a write.
pub fn is_read_cmdlet(name: &str) -> bool {
    name.starts_with("Get-")
}

/// Writes that are safe to re-send after an unclear failure (setting a value twice is harmless).
fn replay_safe(name: &str) -> bool {
    is_read_cmdlet(name) || name.starts_with("Set-")
}

/// The InvokeCommand client. Cheap to clone; clones share the batcher.
#[derive(Clone)]
pub struct InvokeCommandExchange {
    t: Arc<Transport>,
    tenant_id: String,
    /// Sent as `Prefer: odata.maxpagesize=N`. Default 1000.
    page_size: u32,
    /// Exchange's limit of requests in flight, shared with every client of this tenant.
    limit: Arc<tokio::sync::Semaphore>,
    /// Started on first use (inside the runtime) when the configuration batches.
    batcher: Arc<OnceLock<batch::ExoBatcher>>,
}

impl InvokeCommandExchange {
    /// `cfg` is a Graph configuration whose `base_url` is the Exchange endpoint (e.g.
    /// `https://outlook.office365.com`) and whose `scope` is [`EXO_SCOPE`]; its read-only flag,
    /// timeout and retry knobs apply unchanged.
    pub fn new(cfg: GraphConfig, tenant_id: impl Into<String>) -> Result<Arc<Self>, GraphError> {
        Ok(Arc::new(Self::client(cfg, tenant_id, 1000)?))
    }

    pub fn client(cfg: GraphConfig, tenant_id: impl Into<String>, page_size: u32) -> Result<Self, GraphError> {
        check_urls(&cfg)?;
        let t = Arc::new(Transport::new(cfg)?);
        let tenant_id = tenant_id.into();
        let limit = batch::concurrency_limit(&t, &tenant_id);
        Ok(InvokeCommandExchange { t, tenant_id, page_size: page_size.max(1), limit, batcher: Default::default() })
    }

    fn anchor(&self, upn: Option<&str>) -> String {
        match upn {
            Some(u) => format!("UPN:{u}"),
            None => format!("APP:{SYSTEM_ANCHOR}@{}", self.tenant_id),
        }
    }

    /// Run one cmdlet, following every page. `anchor_upn`: the mailbox the cmdlet is about.
    pub async fn invoke(&self, cmdlet: &str, params: Value, anchor_upn: Option<&str>) -> XResult<CmdletOutput> {
        if self.t.cfg.read_only && !is_read_cmdlet(cmdlet) {
            return Err(ExoError::WriteRefused { cmdlet: cmdlet.to_string() });
        }
        let base = self.t.cfg.base();
        let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}});
        let anchor = self.anchor(anchor_upn);
        let mut url = format!("{base}/adminapi/beta/{}/InvokeCommand", path_segment(&self.tenant_id));
        let mut out = CmdletOutput::default();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let page = self.post(cmdlet, &url, &body, &anchor).await?;
            let Value::Object(mut page) = page else {
                return Err(self.protocol(cmdlet, "the answer is not a JSON object".into()));
            };
            match page.remove("value") {
                Some(Value::Array(v)) => out.value.extend(v),
                None | Some(Value::Null) => {}
                Some(_) => return Err(self.protocol(cmdlet, "\"value\" is not an array".into())),
            }
            if let Some(Value::Array(w)) = page.remove("@adminapi.warnings") {
                out.warnings.extend(w.into_iter().filter_map(|w| w.as_str().map(str::to_string)));
            }
            match page.remove("@odata.nextLink") {
                None | Some(Value::Null) => return Ok(out),
                Some(Value::String(link)) => {
                    // Never send the token anywhere but our Exchange endpoint, and never loop.
                    same_origin_suffix(base, &link).map_err(|e| ExoError::Http { cmdlet: cmdlet.into(), source: e })?;
                    if seen.contains(&link) {
                        return Err(self.protocol(cmdlet, format!("@odata.nextLink repeats itself: {link}")));
                    }
                    seen.push(link.clone());
                    url = link;
                }
                Some(_) => return Err(self.protocol(cmdlet, "@odata.nextLink is not a string".into())),
            }
        }
    }

    fn protocol(&self, cmdlet: &str, message: String) -> ExoError {
        ExoError::Http { cmdlet: cmdlet.into(), source: GraphError::Protocol { message } }
    }

    /// One page, with the Graph client's retry policy.
    async fn post(&self, cmdlet: &str, url: &str, body: &Value, anchor: &str) -> XResult<Value> {
        let shown = format!("InvokeCommand {cmdlet}");
        let req = GraphRequest::post(shown.clone(), body.clone()).idempotent(replay_safe(cmdlet));
        let mut st = OpState::default();
        let mut attempt = 0u32;
        loop {
            let call = batch::Call {
                cmdlet: cmdlet.to_string(),
                url: url.to_string(),
                body: body.clone(),
                anchor: anchor.to_string(),
                page_size: self.page_size,
            };
            let outcome = self.send(&call, attempt).await;
            if let Attempt::Response { status, body, .. } = &outcome {
                let retried = matches!(status, 429 | 503 | 504) || (*status == 401 && error_code(body) == "InvalidAuthenticationToken");
                if !(200..300).contains(status) && !retried {
                    return Err(cmdlet_error(cmdlet, *status, body));
                }
            }
            match decide(&self.t.cfg, &req, &shown, &mut st, outcome) {
                Step::Done(Ok(r)) => return Ok(r.body),
                Step::Done(Err(e)) => return Err(ExoError::Http { cmdlet: cmdlet.into(), source: e }),
                Step::Retry { wait, counted } => {
                    if counted {
                        Recorder::add(&self.t.stats.retries, 1);
                    }
                    if !wait.is_zero() {
                        tracing::debug!(cmdlet, ?wait, attempt, "Exchange retry");
                        self.t.stats.waited(wait);
                        tokio::time::sleep(wait).await;
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// One attempt: through the batcher (with whatever else is queued) when batching is on.
    async fn send(&self, call: &batch::Call, attempt: u32) -> Attempt {
        if !self.t.cfg.batching {
            return batch::send_one(&self.t, &self.limit, call, attempt).await;
        }
        let batch_url = format!("{}/adminapi/beta/{}/$batch", self.t.cfg.base(), path_segment(&self.tenant_id));
        let batcher = self.batcher.get_or_init(|| batch::ExoBatcher::start(self.t.clone(), batch_url, self.limit.clone()));
        batcher.submit(call, attempt).await
    }

    async fn one(&self, cmdlet: &str, params: Value, anchor: Option<&str>) -> XResult<Option<Value>> {
        match self.invoke(cmdlet, params, anchor).await {
            Ok(out) => Ok(out.value.into_iter().next()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write(&self, cmdlet: &str, params: Value, anchor: Option<&str>) -> XResult<()> {
        let out = self.invoke(cmdlet, params, anchor).await?;
        for w in out.warnings {
            tracing::info!(cmdlet, "Exchange warning: {w}");
        }
        Ok(())
    }
}

/// Exchange's error body → (exception type, message): `error.details[0].message` split on `|`
/// (`ExceptionId|Type|Message`), else `error.innererror.internalexception.message`, else
/// `error.message`, else the raw text.
pub fn cmdlet_error(cmdlet: &str, status: u16, body: &Value) -> ExoError {
    let err = |exception: &str, message: &str| ExoError::Cmdlet {
        cmdlet: cmdlet.to_string(),
        status,
        exception: exception.to_string(),
        message: message.trim().to_string(),
    };
    if let Some(d) = body.pointer("/error/details/0/message").and_then(Value::as_str) {
        let parts: Vec<&str> = d.splitn(3, '|').collect();
        return match parts.as_slice() {
            [_, ty, msg] => err(ty, msg),
            _ => err("", d),
        };
    }
    let inner = body.pointer("/error/innererror").or_else(|| body.pointer("/error/innerError"));
    let internal = inner
        .and_then(|i| i.get("internalexception").or_else(|| i.get("internalException")))
        .and_then(|i| i.get("message"))
        .and_then(Value::as_str);
    if let Some(m) = internal {
        return err("", m);
    }
    if let Some(m) = body.pointer("/error/message").and_then(Value::as_str) {
        return err("", m);
    }
    let raw = match body {
        Value::Null => format!("HTTP {status}"),
        Value::String(s) => s.chars().take(300).collect(),
        other => other.to_string().chars().take(300).collect(),
    };
    err("", &raw)
}

#[async_trait]
impl ExchangeOnline for InvokeCommandExchange {
    async fn invoke_raw(&self, cmdlet: &str, params: Value) -> XResult<Vec<Value>> {
        let anchor = params.get("Identity").and_then(Value::as_str).filter(|i| i.contains('@')).map(str::to_string);
        Ok(self.invoke(cmdlet, params, anchor.as_deref()).await?.value)
    }

    async fn get_mailbox(&self, upn: &str) -> XResult<Option<Mailbox>> {
        Ok(self.one("Get-Mailbox", json!({"Identity": upn}), Some(upn)).await?.map(|v| Mailbox::from_exo(&v)))
    }

    async fn mailbox_size(&self, upn: &str) -> XResult<Option<u64>> {
        let v = self.one("Get-MailboxStatistics", json!({"Identity": upn}), Some(upn)).await?;
        Ok(v.and_then(|v| v.get("TotalItemSize").and_then(model::parse_item_size)))
    }

    async fn get_recipient(&self, identity: &str) -> XResult<Recipient> {
        let out = self.invoke("Get-Recipient", json!({"Identity": identity}), None).await?;
        match out.value.first() {
            Some(v) => Ok(Recipient::from_exo(v)),
            None => Err(self.protocol("Get-Recipient", format!("no recipient object returned for '{identity}'"))),
        }
    }

    async fn accepted_domains(&self) -> XResult<Vec<String>> {
        let out = self.invoke("Get-AcceptedDomain", json!({}), None).await?;
        Ok(out.value.iter().filter_map(|d| d.get("DomainName").and_then(Value::as_str).map(str::to_ascii_lowercase)).collect())
    }

    async fn set_mailbox_type(&self, upn: &str, kind: &str) -> XResult<()> {
        self.write("Set-Mailbox", json!({"Identity": upn, "Type": kind}), Some(upn)).await
    }

    async fn set_hidden_from_gal(&self, upn: &str, hidden: bool) -> XResult<()> {
        self.write("Set-Mailbox", json!({"Identity": upn, "HiddenFromAddressListsEnabled": hidden}), Some(upn)).await
    }

    async fn set_forwarding(&self, upn: &str, f: &Forwarding) -> XResult<()> {
        let smtp = f.smtp.as_ref().map(|s| if s.to_ascii_lowercase().starts_with("smtp:") { s.clone() } else { format!("smtp:{s}") });
        let params = json!({
            "Identity": upn,
            "ForwardingAddress": f.address,
            "ForwardingSmtpAddress": smtp,
            "DeliverToMailboxAndForward": f.keep_copy,
        });
        self.write("Set-Mailbox", params, Some(upn)).await
    }

    async fn mailbox_permissions(&self, upn: &str) -> XResult<Vec<Permission>> {
        let out = self.invoke("Get-MailboxPermission", json!({"Identity": upn}), Some(upn)).await?;
        Ok(out.value.iter().map(Permission::from_exo).collect())
    }

    async fn add_full_access(&self, upn: &str, trustee: &str, automap: bool) -> XResult<()> {
        let params =
            json!({"Identity": upn, "User": trustee, "AccessRights": ["FullAccess"], "AutoMapping": automap, "InheritanceType": "All"});
        self.write("Add-MailboxPermission", params, Some(upn)).await
    }

    async fn recipient_permissions(&self, upn: &str) -> XResult<Vec<Permission>> {
        let out = self.invoke("Get-RecipientPermission", json!({"Identity": upn}), Some(upn)).await?;
        Ok(out.value.iter().map(Permission::from_exo).collect())
    }

    async fn add_send_as(&self, upn: &str, trustee: &str) -> XResult<()> {
        let params = json!({"Identity": upn, "Trustee": trustee, "AccessRights": ["SendAs"], "Confirm": false});
        self.write("Add-RecipientPermission", params, Some(upn)).await
    }

    async fn mobile_devices(&self, upn: &str) -> XResult<Vec<MobileDevice>> {
        let out = self.invoke("Get-MobileDevice", json!({"Mailbox": upn}), Some(upn)).await?;
        Ok(out.value.iter().map(MobileDevice::from_exo).collect())
    }

    async fn block_device(&self, upn: &str, device_id: &str) -> XResult<()> {
        let params =
            json!({"Identity": upn, "ActiveSyncBlockedDeviceIDs": {"@odata.type": "#Exchange.GenericHashTable", "add": device_id}});
        self.write("Set-CASMailbox", params, Some(upn)).await
    }

    async fn wipe_device(&self, upn: &str, identity: &str) -> XResult<()> {
        self.write("Clear-MobileDevice", json!({"Identity": identity, "Confirm": false}), Some(upn)).await
    }

    async fn remove_device(&self, upn: &str, identity: &str) -> XResult<()> {
        self.write("Remove-MobileDevice", json!({"Identity": identity, "Confirm": false}), Some(upn)).await
    }

    async fn inbox_rules(&self, upn: &str) -> XResult<Vec<InboxRule>> {
        let out = self.invoke("Get-InboxRule", json!({"Mailbox": upn, "IncludeHidden": true}), Some(upn)).await?;
        Ok(out.value.iter().map(InboxRule::from_exo).collect())
    }

    async fn remove_inbox_rule(&self, upn: &str, identity: &str) -> XResult<()> {
        self.write("Remove-InboxRule", json!({"Identity": identity, "Confirm": false}), Some(upn)).await
    }

    async fn distribution_group_members(&self, group: &str) -> XResult<Vec<Recipient>> {
        let out = self.invoke("Get-DistributionGroupMember", json!({"Identity": group}), None).await?;
        Ok(out.value.iter().map(Recipient::from_exo).collect())
    }

    async fn remove_distribution_group_member(&self, group: &str, member: &str) -> XResult<()> {
        let params = json!({"Identity": group, "Member": member, "BypassSecurityGroupManagerCheck": true, "Confirm": false});
        self.write("Remove-DistributionGroupMember", params, None).await
    }

    async fn add_distribution_group_member(&self, group: &str, member: &str) -> XResult<()> {
        let params = json!({"Identity": group, "Member": member, "BypassSecurityGroupManagerCheck": true, "Confirm": false});
        self.write("Add-DistributionGroupMember", params, None).await
    }

    async fn remove_full_access(&self, upn: &str, trustee: &str) -> XResult<()> {
        let params = json!({"Identity": upn, "User": trustee, "AccessRights": ["FullAccess"], "InheritanceType": "All", "Confirm": false});
        self.write("Remove-MailboxPermission", params, Some(upn)).await
    }

    async fn remove_send_as(&self, upn: &str, trustee: &str) -> XResult<()> {
        let params = json!({"Identity": upn, "Trustee": trustee, "AccessRights": ["SendAs"], "Confirm": false});
        self.write("Remove-RecipientPermission", params, Some(upn)).await
    }

    async fn authenticate(&self) -> XResult<()> {
        let t = &self.t;
        t.tokens.get(&t.http, &t.stats).await.map(drop).map_err(|e| ExoError::Http { cmdlet: "sign-in".into(), source: e })
    }

    fn stats(&self) -> GraphStats {
        self.t.stats.snapshot()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_batch;
