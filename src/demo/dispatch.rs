//! The one Graph dispatcher. Direct requests and every `$batch` sub-request go through [`handle`],
//! so counting, fault injection (throttle, fault, hang) and routing behave identically on both
//! paths, which is the point: a client's batch code must meet the same failures as its direct code.

use serde_json::Value;

use super::model::State;
use super::odata::{Query, Segments};
use super::reply::{Ctx, Reply};
use super::shared::{fault_count, hits, is_write, Draw, Headers, Shared};
use super::{auth_methods, drive, grants, groups, licences, owners, users, Knobs};

/// Handle one Graph operation. `path_and_query` is relative to `/v1.0` (e.g. `/users/x?$select=id`).
/// The caller has already authenticated the HTTP request, and must persist the state when the
/// reply says it `changed`.
pub fn handle(shared: &Shared, method: &str, path_and_query: &str, headers: &Headers, body: &[u8]) -> Reply {
    let ctx = Ctx::new(headers.get("client-request-id"), headers.get("host"));
    let method = method.to_ascii_uppercase();
    let knobs = shared.knobs();
    if let Some(file) = &knobs.record_passwords {
        record_password(file, body);
    }

    let mut reply = {
        let mut st = shared.lock_state();
        st.stats.operations += 1;
        let write = is_write(&method);
        if write {
            st.stats.writes += 1;
        }
        let n = fault_count(shared, &knobs, st.stats.operations, &method, path_and_query, body);
        if hits(&knobs, n, knobs.throttle_every, knobs.throttle_rate, Draw::Throttle) {
            st.stats.throttled += 1;
            let mut r = ctx.error(429, "TooManyRequests", "Please retry again later.");
            r.headers.push(("Retry-After".into(), knobs.retry_after_secs.to_string()));
            r
        } else if let Some(retry_after) = write.then(|| over_quota(shared, &st.tenant_id, &knobs)).flatten() {
            // Checked only for a write the knobs let through: a knob's 429 is not admitted either.
            st.stats.throttled += 1;
            st.stats.quota_throttled += 1;
            let mut r = ctx.error(429, "TooManyRequests", "Please retry again later.");
            r.headers.push(("Retry-After".into(), retry_after.to_string()));
            r.headers.push(("x-ms-throttle-information".into(), "WriteLimitExceeded".into()));
            r.headers.push(("x-ms-throttle-scope".into(), "Tenant_Application/WriteLimitExceeded".into()));
            r
        } else if hits(&knobs, n, knobs.fault_every, knobs.fault_rate, Draw::Fault) || n.is_some_and(|n| n <= knobs.fault_first) {
            st.stats.faults += 1;
            ctx.error(503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry.")
        } else {
            let eventual = headers.get("consistencylevel").is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"));
            let mut r = route(&mut st, &ctx, &method, path_and_query, body, &knobs, eventual);
            if write && r.is_success() {
                st.stats.writes_applied += 1;
                if let Some(id) = user_of(&st, path_and_query) {
                    shared.user_writes.record(&id, headers.get("authorization"));
                    *st.stats.user_writes.entry(id).or_default() += 1;
                }
                r.changed = true;
            } else {
                r.changed = false;
            }
            if hits(&knobs, n, knobs.hang_every, knobs.hang_rate, Draw::Hang) {
                r.delay_ms = knobs.hang_ms;
            }
            r
        }
    };
    // Stats changed in any case and are flushed lazily. If the tenant changed, the caller writes
    // the state file before answering (once per HTTP request, so a batch of 20 writes it once),
    // which means a hang delays an answer whose write has already landed on disk.
    shared.mark_dirty();
    reply.headers.push(("request-id".into(), ctx.request_id.clone()));
    reply.headers.push(("client-request-id".into(), ctx.client_request_id.clone()));
    reply
}

/// The id of the user a `/users/{id or UPN}/...` path addresses.
fn user_of(st: &State, path_and_query: &str) -> Option<String> {
    let path = path_and_query.split('?').next().unwrap_or("");
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    if !segs.next()?.eq_ignore_ascii_case("users") {
        return None;
    }
    let ix = st.user_index(&decode_segment(segs.next()?))?;
    Some(st.users[ix].id.clone())
}

/// A write over Graph's write quota: the `Retry-After` seconds. The demo has one app, so the
/// window is keyed by the demo app and the tenant (see `quota.rs`).
fn over_quota(shared: &Shared, tenant: &str, knobs: &Knobs) -> Option<u64> {
    let now = std::time::Instant::now();
    let mut q = shared.lock_quotas();
    q.admit(super::DEMO_CLIENT_ID, tenant, knobs.write_quota(), knobs.app_write_quota(), now).err()
}

/// Append a received password to the canary file. Done before any knob or validation so that
/// every password that reached the wire is recorded, even one that was then refused.
fn record_password(file: &std::path::Path, body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return };
    let Some(pw) = v.get("passwordProfile").and_then(|p| p.get("password")).and_then(Value::as_str) else {
        return;
    };
    use std::io::Write;
    let res = std::fs::OpenOptions::new().create(true).append(true).open(file).and_then(|mut f| writeln!(f, "{pw}"));
    if let Err(e) = res {
        tracing::warn!("demo tenant: cannot record password to {}: {e}", file.display());
    }
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn method_not_allowed(ctx: &Ctx) -> Reply {
    ctx.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
}

fn unknown_segment(ctx: &Ctx, seg: &str) -> Reply {
    ctx.error(400, "BadRequest", &format!("Resource not found for the segment '{seg}'."))
}

fn route(st: &mut State, ctx: &Ctx, method: &str, path_and_query: &str, body: &[u8], knobs: &Knobs, eventual: bool) -> Reply {
    let (path, qs) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let q = match Query::parse(qs, ctx) {
        Ok(q) => Query { eventual, ..q },
        Err(r) => return r,
    };
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(decode_segment).collect();
    // Graph's path segments are case-insensitive; ids stay as sent (they are matched ignoring case).
    // `graph.` is the alias Graph's CSDL declares for the `microsoft.graph` namespace, and
    // Graph takes either in a cast segment (`memberOf/graph.group`).
    let lc: Vec<String> = segs
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .map(|s| match s.strip_prefix("graph.") {
            Some(t) => format!("microsoft.graph.{t}"),
            None => s,
        })
        .collect();
    let lc: Vec<&str> = lc.iter().map(String::as_str).collect();
    let id = |i: usize| segs.get(i).map(String::as_str).unwrap_or("");
    let path = format!("/{}", segs.join("/"));
    let segments = Segments { lc: &lc, segs: &segs, path: &path };

    match (lc.as_slice(), method) {
        (["users"], "GET") => users::list(st, ctx, &q, &path),
        (["users", _], "GET") => users::get(st, ctx, id(1), &q),
        (["users", _], "PATCH") => users::patch(st, ctx, id(1), body),
        (["users", _, "revokesigninsessions"], "POST") => users::revoke_sessions(st, ctx, id(1)),
        // No nested groups in the demo tenant, so transitive membership equals direct membership.
        (["users", _, "memberof" | "transitivememberof"], "GET") => groups::member_of(st, ctx, id(1), &q, false, &path),
        (["users", _, "memberof" | "transitivememberof", "microsoft.graph.group"], "GET") => {
            groups::member_of(st, ctx, id(1), &q, true, &path)
        }
        (["users", _, "memberof" | "transitivememberof", "microsoft.graph.directoryrole"], "GET") => {
            super::roles::member_of(st, ctx, id(1), &q, &path)
        }
        (["directoryroles", _, "members", _, "$ref"], "DELETE") => super::roles::remove_member(st, ctx, id(1), id(3)),
        (["directoryroles", _, "members", "$ref"], "POST") => super::roles::add_member(st, ctx, id(1), body),
        (["users", _, "manager"], "GET") => users::get_manager(st, ctx, id(1), &q),
        (["users", _, "manager", "$ref"], "DELETE") => users::delete_manager(st, ctx, id(1)),
        (["users", _, "manager", "$ref"], "PUT") => users::put_manager(st, ctx, id(1), body),
        (["users", _, "assignlicense"], "POST") => licences::assign(st, ctx, id(1), body),
        (["users", _, "licensedetails"], "GET") => licences::details(st, ctx, id(1), &q, &path),
        (["groups"], "GET") => groups::list(st, ctx, &q, &path),
        (["groups", _], "GET") => groups::get(st, ctx, id(1), &q),
        (["groups", _, "members"], "GET") => groups::members(st, ctx, id(1), &q, &path),
        (["groups", _, "members", _, "$ref"], "DELETE") => groups::remove_member(st, ctx, id(1), id(3)),
        (["groups", _, "members", "$ref"], "POST") => groups::add_member(st, ctx, id(1), body),
        (["users", _, "authentication", _, ..], _) => auth_methods::route(st, ctx, method, &segments, &q),
        (["users", _, "oauth2permissiongrants"], "GET") => grants::list_grants(st, ctx, Some(id(1)), &q, &path),
        (["oauth2permissiongrants"], "GET") => grants::list_grants(st, ctx, None, &q, &path),
        (["oauth2permissiongrants"], "POST") => grants::create_grant(st, ctx, body),
        (["oauth2permissiongrants", _], "GET") => grants::get_grant(st, ctx, id(1)),
        (["oauth2permissiongrants", _], "DELETE") => grants::delete_grant(st, ctx, id(1)),
        (["users", _, "approleassignments"], "GET") => grants::list_assignments(st, ctx, id(1), &q, &path),
        (["users", _, "approleassignments"], "POST") => grants::create_assignment(st, ctx, id(1), body),
        (["users", _, "approleassignments", _], "DELETE") => grants::delete_assignment(st, ctx, id(1), id(3)),
        (["users", _, "drive", ..] | ["drives", _, ..], _) => drive::route(st, ctx, method, &segments, &q, body),
        (["groups", _, "owners"], "GET") => owners::list(st, ctx, id(1), &q, &path),
        (["users", _, "ownedobjects"] | ["users", _, "ownedobjects", "microsoft.graph.group" | "graph.group"], "GET") => {
            groups::owned_groups(st, ctx, id(1), &q, &path)
        }
        (["groups", _, "owners", "$ref"], "POST") => owners::add(st, ctx, id(1), body),
        (["groups", _, "owners", _, "$ref"], "DELETE") => owners::remove(st, ctx, id(1), id(3)),
        (["users", _, "sendmail"], "POST") => super::mail::send_mail(st, ctx, id(1), body, knobs.mail_lost),
        (["users", _, "mailfolders", _, "messages"], "GET") => super::mail::folder_messages(st, ctx, id(1), id(3), &q),
        (["subscribedskus"], "GET") => licences::subscribed_skus(st, ctx),
        (["users", _, "events"], "GET") => super::exchange::calendar::graph_events(st, ctx, id(1), &q, &path),
        (["users", _, "mailboxsettings"], "GET") => super::exchange::mailbox_settings::get(st, ctx, id(1)),
        (["users", _, "mailboxsettings"], "PATCH") => super::exchange::mailbox_settings::patch(st, ctx, id(1), body),
        (["users", _, "manageddevices"], "GET") => super::intune::list(st, ctx, id(1), &q, &path, knobs.no_intune),
        (["devicemanagement", "manageddevices", _], "GET") => super::intune::get(st, ctx, id(2), &q, knobs.no_intune),
        (["devicemanagement", "manageddevices", _, "retire"], "POST") => super::intune::action(st, ctx, id(2), false, body),
        // The same action through the user's navigation property: only that user's devices.
        (["users", _, "manageddevices", _, "retire" | "wipe"], "POST") => {
            super::intune::user_action(st, ctx, id(1), id(3), lc[4] == "wipe", body)
        }
        (["devicemanagement", "manageddevices", _, "wipe"], "POST") => super::intune::action(st, ctx, id(2), true, body),

        // Known resources with a method they don't take.
        (["users"] | ["users", _] | ["groups"] | ["groups", _] | ["subscribedskus"], _)
        | (
            ["users", _, "revokesigninsessions"
            | "memberof"
            | "transitivememberof"
            | "manager"
            | "assignlicense"
            | "licensedetails"
            | "mailboxsettings"
            | "manageddevices"],
            _,
        )
        | (["devicemanagement", "manageddevices", _, "retire" | "wipe"], _)
        | (["devicemanagement", "manageddevices", _], _)
        | (["users", _, "manageddevices", _, "retire" | "wipe"], _)
        | (["users", _, "memberof" | "transitivememberof", "microsoft.graph.group" | "microsoft.graph.directoryrole"], _)
        | (["directoryroles", _, "members", _, "$ref"], _)
        | (["directoryroles", _, "members", "$ref"], _)
        | (["users", _, "manager", "$ref"], _)
        | (["groups", _, "members"], _)
        | (["groups", _, "members", _, "$ref"], _)
        | (["groups", _, "members", "$ref"], _)
        | (["users", _, "sendmail"], _)
        | (["users", _, "oauth2permissiongrants" | "approleassignments"] | ["oauth2permissiongrants"] | ["oauth2permissiongrants", _], _)
        | (["users", _, "approleassignments", _], _)
        | (["groups", _, "owners"] | ["groups", _, "owners", "$ref"] | ["groups", _, "owners", _, "$ref"], _)
        | (["users", _, "mailfolders", _, "messages"], _) => method_not_allowed(ctx),

        // Everything else: name the first segment Graph would not recognise.
        _ => {
            let known: &[&[&str]] = &[
                &["users", "groups", "subscribedskus", "devicemanagement", "directoryroles", "oauth2permissiongrants", "drives"],
                &[],
                &[
                    "revokesigninsessions",
                    "memberof",
                    "transitivememberof",
                    "manager",
                    "assignlicense",
                    "licensedetails",
                    "members",
                    "mailboxsettings",
                    "events",
                    "sendmail",
                    "mailfolders",
                    "manageddevices",
                    "authentication",
                    "oauth2permissiongrants",
                    "approleassignments",
                    "drive",
                    "owners",
                    "ownedobjects",
                ],
                &["microsoft.graph.group", "microsoft.graph.directoryrole", "$ref", "retire", "wipe", ""],
            ];
            let bad = segs
                .iter()
                .enumerate()
                .find(|(i, s)| match known.get(*i) {
                    Some(k) if !k.is_empty() => !k.contains(&s.to_ascii_lowercase().as_str()),
                    Some(_) => false,
                    None => true,
                })
                .map(|(_, s)| s.as_str())
                .unwrap_or("");
            unknown_segment(ctx, bad)
        }
    }
}
