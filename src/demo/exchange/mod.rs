//! The Exchange Online admin API of the demo tenant: `POST /adminapi/beta/{tenant}/InvokeCommand`
//! with `{"CmdletInput":{"CmdletName","Parameters"}}`, answering like the real endpoint.
//!
//! What is modelled because clients depend on it: the `X-AnchorMailbox` routing header is
//! required; cmdlets and parameters are validated the way PowerShell binds them (unknown cmdlet,
//! unknown parameter, missing mandatory parameter, a value of the wrong type), with Exchange's
//! error envelope (`error.details[0].message` = `ExceptionId|ExceptionType|Message`, the top-level
//! message only "Error executing cmdlet"); unknown identities fail with
//! `ManagementObjectNotFoundException`; list output is paged by `Prefer: odata.maxpagesize` with
//! an absolute `@odata.nextLink` that the client POSTs the same body to; a conversion to shared
//! becomes visible only after `shared_delay_ms`. The Graph throttling knobs apply here too, plus
//! `exo_busy_every` (Exchange's "maximum number of concurrent requests" reply) and `exo_denied`
//! (cmdlets the app has no role for).
//!
//! Graph's `/users/{id}/mailboxSettings` (automatic replies) reads and writes the same mailboxes
//! ([`mailbox_settings`]).

mod auto_reply;
mod binding;
pub(super) mod calendar;
mod cas;
mod cmdlets;
pub mod model;

use serde_json::{json, Map, Value};

use super::reply::{Ctx, Reply};
use super::shared::Headers;
use super::shared::Shared;

/// The server name Exchange puts in its not-found messages.
const SERVER: &str = "AM6PR04A008DC01.EURPRD04.PROD.OUTLOOK.COM";
const SYSTEM_ANCHOR: &str = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@";
/// The most sub-requests one `$batch` may carry (CIPP's figure; see `apis.md` section 3).
pub const MAX_BATCH: usize = 10;

/// An Exchange error reply: the envelope the admin API sends.
pub(crate) fn exo_error(status: u16, code: &str, exception: &str, message: &str) -> Reply {
    let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(exception.as_bytes()));
    let ex_id = format!("Ex{}", hex::encode(&digest[..3]).to_ascii_uppercase());
    Reply::json(
        status,
        json!({"error": {
            "code": code,
            "message": "Error executing cmdlet",
            "details": [{"code": "Context", "target": "", "message": format!("{ex_id}|{exception}|{message}")}],
            "innererror": {
                "message": "Error executing cmdlet",
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "stacktrace": "",
                "internalexception": {"message": message, "type": exception, "stacktrace": ""},
            }
        }}),
    )
}

pub(crate) fn not_found(identity: &str) -> Reply {
    exo_error(
        404,
        "NotFound",
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        &format!("The operation couldn't be performed because object '{identity}' couldn't be found on '{SERVER}'."),
    )
}

pub(crate) fn binding_error(message: &str) -> Reply {
    exo_error(400, "BadRequest", "System.Management.Automation.ParameterBindingException", message)
}

/// Exchange's "maximum number of concurrent requests" reply: nothing ran.
fn busy() -> Reply {
    exo_error(
        500,
        "InternalServerError",
        "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
        "You have reached the maximum number of concurrent requests per tenant. Please wait and try again.",
    )
}

/// One Exchange request in flight, from its arrival until its answer is sent (dropped).
pub struct Slot<'a> {
    shared: &'a Shared,
    over: bool,
}

impl<'a> Slot<'a> {
    /// Take a place among the requests in flight; `over` when that exceeds the limit.
    pub fn enter(shared: &'a Shared) -> Slot<'a> {
        let before = shared.exo_in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let over = shared.knobs().exo_concurrency_limit().is_some_and(|limit| before >= limit);
        Slot { shared, over }
    }

    /// Refuse the request as Exchange does when too many are in flight (counted in the stats).
    pub fn refusal(&self) -> Option<Reply> {
        if !self.over {
            return None;
        }
        let mut st = self.shared.lock_state();
        st.stats.exo_concurrency_refused += 1;
        st.stats.throttled += 1;
        drop(st);
        self.shared.mark_dirty();
        Some(busy())
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.shared.exo_in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Is this request for the Exchange admin API?
pub fn is_exchange_path(path: &str) -> bool {
    path.starts_with("/adminapi/")
}

/// Handle `POST /adminapi/beta/{tenant}/InvokeCommand[?$skiptoken=N]`. The caller has checked the
/// bearer token and persists the state when the reply `changed`.
pub fn handle(shared: &Shared, method: &str, path_and_query: &str, headers: &Headers, body: &[u8]) -> Reply {
    let ctx = Ctx::new(headers.get("client-request-id"), headers.get("host"));
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let segs: Vec<String> =
        path.trim_start_matches('/').split('/').map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()).collect();
    let tenant = match segs.as_slice() {
        [a, v, t, op] if a == "adminapi" && v == "beta" && op.eq_ignore_ascii_case("InvokeCommand") => t.clone(),
        [a, v, t, op] if a == "adminapi" && v == "beta" && op == "$batch" && method == "POST" => {
            // As CIPP sends it: at most 10 sub-requests, each a POST of a cmdlet to this tenant's
            // InvokeCommand by its full URL; anything else refuses the whole batch (nothing runs).
            let invoke = format!("{}/adminapi/beta/{t}/InvokeCommand", ctx.origin);
            let check = |m: &str, url: &str| -> Result<(), String> {
                if m != "POST" {
                    return Err(format!("method '{m}' is not supported; InvokeCommand takes POST"));
                }
                let path = url.split('?').next().unwrap_or("");
                if !path.eq_ignore_ascii_case(&invoke) {
                    return Err(format!("url '{url}' is not {invoke}"));
                }
                Ok(())
            };
            let rules = super::batch::Rules { max: MAX_BATCH, check: &check };
            return super::batch::run_with(shared, headers, body, &rules, &|shared, method, url, h, body| {
                let path = url.strip_prefix(&ctx.origin).unwrap_or(url);
                handle(shared, method, path, h, body)
            });
        }
        _ => return ctx.error(404, "NotFound", &format!("The resource '{path}' was not found.")),
    };
    let known = {
        let st = shared.lock_state();
        tenant.eq_ignore_ascii_case(&st.tenant_id) || tenant.eq_ignore_ascii_case(&st.domain)
    };
    if !known {
        return ctx.error(404, "TenantNotFound", &format!("Tenant '{tenant}' was not found."));
    }
    if method != "POST" {
        return ctx.error(405, "MethodNotAllowed", &format!("The requested resource does not support http method '{method}'."));
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let skip: usize = params.iter().find(|(k, _)| k == "$skiptoken").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    // `$select` keeps only the named properties of each output object (matched ignoring case).
    let select: Vec<String> = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$select"))
        .map(|(_, v)| v.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let page_size: usize = headers
        .get("prefer")
        .and_then(|p| p.split([';', ',']).find_map(|x| x.trim().strip_prefix("odata.maxpagesize=")))
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1000);
    let input: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return exo_error(400, "BadRequest", "Microsoft.OData.ODataException", &format!("The request body is not valid JSON: {e}"))
        }
    };
    let Some(name) = input.pointer("/CmdletInput/CmdletName").and_then(Value::as_str).map(str::to_string) else {
        return exo_error(400, "BadRequest", "Microsoft.OData.ODataException", "The request body must contain CmdletInput.CmdletName.");
    };
    let params = match input.pointer("/CmdletInput/Parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return exo_error(400, "BadRequest", "Microsoft.OData.ODataException", "CmdletInput.Parameters must be an object."),
    };
    let anchor = headers.get("x-anchormailbox").unwrap_or("").to_string();

    let knobs = shared.knobs();
    let mut reply = {
        let mut st = shared.lock_state();
        st.stats.operations += 1;
        st.stats.exo_operations += 1;
        let write = !name.starts_with("Get-");
        if write {
            st.stats.writes += 1;
            st.stats.exo_writes += 1;
        }
        let n = super::shared::fault_count(shared, &knobs, st.stats.operations, method, path_and_query, body);
        let nth = |every: u64| every > 0 && n.is_some_and(|n| n % every == 0);
        if let Err(r) = check_anchor(&st, &anchor) {
            r
        } else if nth(knobs.throttle_every) {
            st.stats.throttled += 1;
            let mut r = exo_error(
                429,
                "TooManyRequests",
                "Microsoft.Exchange.Admin.OData.Core.ThrottlingException",
                "The request was throttled. Please retry after some time.",
            );
            r.headers.push(("Retry-After".into(), knobs.retry_after_secs.to_string()));
            r
        } else if nth(knobs.exo_busy_every) {
            st.stats.throttled += 1;
            busy()
        } else if nth(knobs.fault_every) || n.is_some_and(|n| n <= knobs.fault_first) {
            st.stats.faults += 1;
            exo_error(
                503,
                "ServiceUnavailable",
                "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "The service is temporarily unavailable. Please retry.",
            )
        } else if knobs.exo_denied.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
            exo_error(
                403,
                "Forbidden",
                "Microsoft.Exchange.Configuration.Tasks.CmdletAccessDeniedException",
                &format!("The user or application doesn't have the permissions required to run '{name}'. Assign it a role that includes this cmdlet."),
            )
        } else {
            if let Some(at) = cmdlets::settle(&mut st.exchange, now_ms()) {
                st.stats.type_change_visible_ms = Some(at);
            }
            let mut r = match cmdlets::run(&mut st, &knobs, &name, &params, &anchor) {
                Ok(out) => page(out, skip, page_size, &select, &ctx, &tenant),
                Err(r) => r,
            };
            r.changed = write && r.is_success();
            if r.changed {
                st.stats.writes_applied += 1;
            }
            if nth(knobs.hang_every) {
                r.delay_ms = knobs.hang_ms;
            }
            r
        }
    };
    shared.mark_dirty();
    reply.headers.push(("request-id".into(), ctx.request_id.clone()));
    reply
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `UPN:<user@domain>` or `APP:SystemMailbox{...}@<tenant>`; anything else is refused like Exchange
/// refuses a routing hint it cannot use.
fn check_anchor(st: &super::model::State, anchor: &str) -> Result<(), Reply> {
    let bad = || {
        Err(Reply::json(
            400,
            json!({"error": {"code": "ErrorIncorrectRoutingHint", "message": format!("The x-anchormailbox header value '{anchor}' is not a valid routing hint.")}}),
        ))
    };
    // A UPN hint for a user with no mailbox still routes (to the tenant's default): the cmdlet
    // then reports the missing object itself, which is what a client needs to see.
    if let Some(upn) = anchor.strip_prefix("UPN:") {
        return if upn.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty()) { Ok(()) } else { bad() };
    }
    if let Some(rest) = anchor.strip_prefix("APP:").and_then(|a| a.strip_prefix(SYSTEM_ANCHOR)) {
        return if rest.eq_ignore_ascii_case(&st.tenant_id) || rest.eq_ignore_ascii_case(&st.domain) { Ok(()) } else { bad() };
    }
    bad()
}

/// One page of the output, with an absolute nextLink while more remain.
fn page(out: binding::Output, skip: usize, size: usize, select: &[String], ctx: &Ctx, tenant: &str) -> Reply {
    let total = out.value.len();
    let keep = |item: Value| match item {
        Value::Object(m) if !select.is_empty() => {
            Value::Object(m.into_iter().filter(|(k, _)| select.iter().any(|s| s.eq_ignore_ascii_case(k))).collect())
        }
        other => other,
    };
    let items: Vec<Value> = out.value.into_iter().skip(skip).take(size).map(keep).collect();
    let mut body = json!({
        "@odata.context": format!("{}/adminapi/beta/{tenant}/$metadata#Collection(Exchange.GenericHashTable)", ctx.origin),
        "value": items,
    });
    if skip + size < total {
        let sel = if select.is_empty() { String::new() } else { format!("&$select={}", select.join(",")) };
        body["@odata.nextLink"] = json!(format!("{}/adminapi/beta/{tenant}/InvokeCommand?$skiptoken={}{sel}", ctx.origin, skip + size));
    }
    if !out.warnings.is_empty() {
        body["@adminapi.warnings"] = json!(out.warnings);
    }
    Reply::json(200, body)
}

/// Graph `GET|PATCH /users/{id}/mailboxSettings`: automatic replies live on the mailbox.
pub mod mailbox_settings {
    use serde_json::{json, Value};

    use super::super::model::State;
    use super::super::odata::check_own_type;
    use super::super::reply::{Ctx, Reply};

    const STATUSES: &[&str] = &["disabled", "alwaysEnabled", "scheduled"];
    const AUDIENCES: &[&str] = &["none", "contactsOnly", "all"];
    const KEYS: &[&str] =
        &["status", "externalAudience", "internalReplyMessage", "externalReplyMessage", "scheduledStartDateTime", "scheduledEndDateTime"];

    fn mailbox_ix(st: &State, ctx: &Ctx, id: &str) -> Result<usize, Reply> {
        let Some(uix) = st.user_index(id) else { return Err(ctx.not_found(id)) };
        let uid = &st.users[uix].id;
        st.exchange.mailboxes.iter().position(|m| &m.user_id == uid).ok_or_else(|| {
            ctx.error(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        })
    }

    pub fn get(st: &State, ctx: &Ctx, id: &str) -> Reply {
        match mailbox_ix(st, ctx, id) {
            Ok(ix) => Reply::json(
                200,
                json!({
                    "@odata.context": format!("{}/v1.0/$metadata#users('{id}')/mailboxSettings", ctx.origin),
                    "timeZone": "UTC",
                    "language": {"locale": "en-GB", "displayName": "English (United Kingdom)"},
                    "automaticRepliesSetting": st.exchange.mailboxes[ix].auto_replies,
                }),
            ),
            Err(r) => r,
        }
    }

    pub fn patch(st: &mut State, ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
        let ix = match mailbox_ix(st, ctx, id) {
            Ok(ix) => ix,
            Err(r) => return r,
        };
        let v: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return ctx.error(400, "RequestBodyRead", "Invalid JSON body."),
        };
        let Some(obj) = v.as_object() else { return ctx.error(400, "RequestBodyRead", "The body must be an object.") };
        for (k, v) in obj {
            if k == "@odata.type" {
                if let Err(r) = check_own_type(v, "microsoft.graph.mailboxSettings", ctx) {
                    return r;
                }
                continue;
            }
            if !["automaticRepliesSetting", "timeZone", "language"].contains(&k.as_str()) {
                return ctx.error(
                    400,
                    "RequestBodyRead",
                    &format!("The property '{k}' does not exist on type 'microsoft.graph.mailboxSettings'."),
                );
            }
        }
        let Some(ar) = obj.get("automaticRepliesSetting") else { return Reply::json(200, json!({})) };
        let Some(ar) = ar.as_object() else { return ctx.error(400, "RequestBodyRead", "automaticRepliesSetting must be an object.") };
        let mut cur = st.exchange.mailboxes[ix].auto_replies.clone();
        for (k, val) in ar {
            if k == "@odata.type" {
                if let Err(r) = check_own_type(val, "microsoft.graph.automaticRepliesSetting", ctx) {
                    return r;
                }
                continue;
            }
            if !KEYS.contains(&k.as_str()) {
                return ctx.error(
                    400,
                    "RequestBodyRead",
                    &format!("The property '{k}' does not exist on type 'microsoft.graph.automaticRepliesSetting'."),
                );
            }
            let ok = match k.as_str() {
                "status" => val.as_str().is_some_and(|s| STATUSES.contains(&s)),
                "externalAudience" => val.as_str().is_some_and(|s| AUDIENCES.contains(&s)),
                "internalReplyMessage" | "externalReplyMessage" => val.is_string(),
                _ => val
                    .pointer("/dateTime")
                    .and_then(Value::as_str)
                    .is_some_and(|t| chrono::NaiveDateTime::parse_from_str(t.split('.').next().unwrap_or(""), "%Y-%m-%dT%H:%M:%S").is_ok()),
            };
            if !ok {
                return ctx.error(400, "ErrorInvalidRequest", &format!("Invalid value for '{k}'."));
            }
            cur[k] = match k.as_str() {
                "scheduledStartDateTime" | "scheduledEndDateTime" => {
                    let t = val["dateTime"].as_str().unwrap_or("").split('.').next().unwrap_or("").trim_end_matches('Z').to_string();
                    json!({"dateTime": format!("{t}.0000000"), "timeZone": val.get("timeZone").cloned().unwrap_or(json!("UTC"))})
                }
                _ => val.clone(),
            };
        }
        st.exchange.mailboxes[ix].auto_replies = cur.clone();
        Reply::json(200, json!({"automaticRepliesSetting": cur}))
    }
}
