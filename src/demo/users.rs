//! User endpoints: read, list, PATCH, revokeSignInSessions and the manager reference.
//!
//! The rules that matter to an offboarding tool are modelled on purpose: the small default property
//! set (clients must `$select`), on-premises-mastered attributes being read-only for synced users
//! (while `accountEnabled` stays writable), and password complexity.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::filter::parse_user_filter;
use super::model::{State, User, USER_DEFAULT_PROPS, USER_PROPS};
use super::odata::{self, check_own_type, check_select, context_url, project, Query};
use super::reply::{now, Ctx, Reply};

/// The user's representation under the request's `$select` (or Graph's default set).
pub fn render(u: &User, q: &Query, ctx: &Ctx) -> Result<Map<String, Value>, Reply> {
    let props = selected(q, ctx)?;
    Ok(project(&u.to_graph(), &props))
}

/// The canonical property list a request asks for.
pub fn selected(q: &Query, ctx: &Ctx) -> Result<Vec<String>, Reply> {
    match &q.select {
        Some(s) => check_select(s, USER_PROPS, "microsoft.graph.user", ctx),
        None => Ok(USER_DEFAULT_PROPS.iter().map(|s| s.to_string()).collect()),
    }
}

fn lookup(st: &State, ctx: &Ctx, id: &str) -> Result<usize, Reply> {
    st.user_index(id).ok_or_else(|| ctx.not_found(id))
}

pub fn get(st: &State, ctx: &Ctx, id: &str, q: &Query) -> Reply {
    let ix = match lookup(st, ctx, id) {
        Ok(ix) => ix,
        Err(r) => return r,
    };
    match render(&st.users[ix], q, ctx) {
        Ok(mut m) => {
            let ctxu = format!("{}/$entity", context_url("users", q.select.as_deref()));
            m.insert("@odata.context".into(), json!(ctxu));
            Reply::json(200, Value::Object(m))
        }
        Err(r) => r,
    }
}

/// `GET /users`: `$filter` as Graph's directory takes it (see `filter.rs`), `$orderby` on
/// `displayName` or `userPrincipalName` (with a `$filter` only as an advanced query, as on
/// Graph), `$count` (answered only with `ConsistencyLevel: eventual`).
pub fn list(st: &State, ctx: &Ctx, q: &Query, path: &str) -> Reply {
    let props = match selected(q, ctx) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let filter = match &q.filter {
        Some(f) => match parse_user_filter(f, q.advanced(), ctx) {
            Ok(f) => Some(f),
            Err(r) => return r,
        },
        None => None,
    };
    let order = match q.orderby.as_deref().map(|o| order_by(o, q.filter.is_some() && !q.advanced(), ctx)).transpose() {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut full: Vec<Map<String, Value>> =
        st.users.iter().map(User::to_graph).filter(|full| filter.as_ref().is_none_or(|f| f.matches(full))).collect();
    if let Some((prop, desc)) = order {
        let key = |m: &Map<String, Value>| m.get(prop).and_then(Value::as_str).unwrap_or_default().to_lowercase();
        full.sort_by_key(key);
        if desc {
            full.reverse();
        }
    }
    let items = full.iter().map(|m| Value::Object(project(m, &props))).collect();
    Reply::json(200, odata::page(items, q, path, ctx, context_url("users", q.select.as_deref())))
}

/// `$orderby=prop [asc|desc]` on a property users sort by; with a `$filter`, only in an
/// advanced query (`needs_advanced`).
fn order_by(o: &str, needs_advanced: bool, ctx: &Ctx) -> Result<(&'static str, bool), Reply> {
    let refused = || ctx.error(400, "Request_UnsupportedQuery", "Sorting not supported for current query.");
    let mut words = o.split_whitespace();
    let prop = words.next().unwrap_or_default();
    let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(refused()),
    };
    let prop = ["displayName", "userPrincipalName"].into_iter().find(|p| p.eq_ignore_ascii_case(prop)).ok_or_else(refused)?;
    if needs_advanced || words.next().is_some() {
        return Err(refused());
    }
    Ok((prop, desc))
}

/// Attributes Entra Connect owns for a synced user; Graph refuses to change them in the cloud.
const ON_PREM_MASTERED: &[&str] = &["employeeId", "passwordProfile", "displayName", "givenName", "surname", "jobTitle", "department"];

pub fn patch(st: &mut State, ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    let ix = match lookup(st, ctx, id) {
        Ok(ix) => ix,
        Err(r) => return r,
    };
    let obj = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) | Err(_) => {
            return ctx.error(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            )
        }
    };
    // Validate everything first so a refused PATCH changes nothing.
    let mut password: Option<String> = None;
    for (k, v) in &obj {
        let type_err = |t: &str| ctx.error(400, "BadRequest", &format!("Cannot convert the literal '{v}' to the expected type '{t}'."));
        match k.as_str() {
            "@odata.type" => {
                if let Err(r) = check_own_type(v, "microsoft.graph.user", ctx) {
                    return r;
                }
            }
            "accountEnabled" if !v.is_boolean() => return type_err("Edm.Boolean"),
            "employeeId" if !(v.is_string() || v.is_null()) => return type_err("Edm.String"),
            "displayName" | "jobTitle" | "department" | "usageLocation" | "givenName" | "surname" if !(v.is_string() || v.is_null()) => {
                return type_err("Edm.String")
            }
            "passwordProfile" => {
                let pw = v.get("password").and_then(Value::as_str);
                let force_ok = v.get("forceChangePasswordNextSignIn").is_none_or(|f| f.is_boolean());
                match (pw, force_ok) {
                    (Some(pw), true) => password = Some(pw.to_string()),
                    _ => return type_err("microsoft.graph.passwordProfile"),
                }
            }
            "accountEnabled" | "employeeId" | "displayName" | "jobTitle" | "department" | "usageLocation" | "givenName" | "surname" => {}
            other => return ctx.bad_request(&format!("Property '{other}' does not exist as a declared property or extension property.")),
        }
    }
    if st.users[ix].is_synced() && obj.keys().any(|k| ON_PREM_MASTERED.contains(&k.as_str())) {
        return ctx.on_prem_mastered();
    }
    if let Some(pw) = &password {
        if !complex_enough(pw) {
            return ctx.bad_request(
                "The specified password does not comply with password complexity requirements. Please provide a different password.",
            );
        }
    }
    let u = &mut st.users[ix];
    let s = |v: &Value| v.as_str().map(String::from);
    for (k, v) in &obj {
        match k.as_str() {
            "accountEnabled" => u.account_enabled = v.as_bool().unwrap_or(u.account_enabled),
            "employeeId" => u.employee_id = s(v),
            "displayName" => u.display_name = s(v),
            "jobTitle" => u.job_title = s(v),
            "department" => u.department = s(v),
            "usageLocation" => u.usage_location = s(v),
            "givenName" => u.given_name = s(v),
            "surname" => u.surname = s(v),
            _ => {}
        }
    }
    if let Some(pw) = password {
        u.password_sha256 = Some(hex::encode(Sha256::digest(pw.as_bytes())));
        u.last_password_change_date_time = Some(now());
    }
    if obj.keys().any(|k| matches!(k.as_str(), "department" | "jobTitle" | "usageLocation")) {
        super::model::refresh_dynamic(st);
    }
    Reply::no_content()
}

/// Entra's rule: at least 8 characters from at least 3 of lower, upper, digit, symbol.
fn complex_enough(pw: &str) -> bool {
    let classes = [
        pw.chars().any(|c| c.is_lowercase()),
        pw.chars().any(|c| c.is_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_alphanumeric()),
    ];
    pw.chars().count() >= 8 && classes.iter().filter(|b| **b).count() >= 3
}

pub fn revoke_sessions(st: &mut State, ctx: &Ctx, id: &str) -> Reply {
    let ix = match lookup(st, ctx, id) {
        Ok(ix) => ix,
        Err(r) => return r,
    };
    st.users[ix].sign_in_sessions_valid_from_date_time = Some(now());
    Reply::json(200, json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})).changed()
}

fn no_manager(ctx: &Ctx) -> Reply {
    ctx.not_found("manager")
}

pub fn get_manager(st: &State, ctx: &Ctx, id: &str, q: &Query) -> Reply {
    let ix = match lookup(st, ctx, id) {
        Ok(ix) => ix,
        Err(r) => return r,
    };
    let Some(mix) = st.users[ix].manager_id.as_deref().and_then(|m| st.user_index(m)) else {
        return no_manager(ctx);
    };
    match render(&st.users[mix], q, ctx) {
        Ok(mut m) => {
            m.insert("@odata.context".into(), json!("https://graph.microsoft.com/v1.0/$metadata#directoryObjects/$entity"));
            m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            Reply::json(200, Value::Object(m))
        }
        Err(r) => r,
    }
}

pub fn delete_manager(st: &mut State, ctx: &Ctx, id: &str) -> Reply {
    let ix = match lookup(st, ctx, id) {
        Ok(ix) => ix,
        Err(r) => return r,
    };
    if st.users[ix].is_synced() {
        return ctx.on_prem_mastered();
    }
    if st.users[ix].manager_id.take().is_none() {
        return no_manager(ctx);
    }
    Reply::no_content()
}

pub fn put_manager(st: &mut State, ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    let ix = match lookup(st, ctx, id) {
        Ok(ix) => ix,
        Err(r) => return r,
    };
    let target = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("@odata.id").and_then(Value::as_str).map(String::from));
    let Some(target) = target else {
        return ctx.error(400, "BadRequest", "Unable to read JSON request payload. Expected a reference with '@odata.id'.");
    };
    // Accept .../users/{id} and .../directoryObjects/{id}, on Graph's host or ours.
    let mgr_id = target.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
    let mgr_id = percent_encoding::percent_decode_str(&mgr_id).decode_utf8_lossy().into_owned();
    let Some(mix) = st.user_index(&mgr_id) else {
        return ctx.not_found(&mgr_id);
    };
    if st.users[ix].is_synced() {
        return ctx.on_prem_mastered();
    }
    if mix == ix {
        return ctx.bad_request("A user cannot be their own manager.");
    }
    let mid = st.users[mix].id.clone();
    st.users[ix].manager_id = Some(mid);
    Reply::no_content()
}
