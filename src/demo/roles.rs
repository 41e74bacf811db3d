//! Directory roles: a user's active roles and role membership changes.
//!
//! `GET /users/{id}/memberOf/microsoft.graph.directoryRole` is the cast of `memberOf` that keeps
//! only the activated directory roles (the roles a user holds right now); `directoryRole.members`
//! is a navigation to `directoryObjects` (graph-v1.0-metadata.xml), so its members are changed by
//! `$ref` as a group's are, with the same error bodies.

use serde_json::{json, Value};

use super::model::{State, ROLE_PROPS};
use super::odata::{self, check_select, context_url, project, Query};
use super::reply::{Ctx, Reply};

/// `GET /users/{id}/memberOf/microsoft.graph.directoryRole` (and `transitiveMemberOf`).
pub fn member_of(st: &State, ctx: &Ctx, id: &str, q: &Query, path: &str) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let uid = st.users[uix].id.as_str();
    let props = match &q.select {
        Some(s) => match check_select(s, ROLE_PROPS, "microsoft.graph.directoryRole", ctx) {
            Ok(p) => Some(p),
            Err(r) => return r,
        },
        None => None,
    };
    let items: Vec<Value> = st
        .directory_roles
        .iter()
        .filter(|r| r.members.iter().any(|m| m.eq_ignore_ascii_case(uid)))
        .map(|r| {
            let full = r.to_graph();
            let mut m = match &props {
                Some(p) => project(&full, p),
                None => full,
            };
            m.insert("@odata.type".into(), json!("#microsoft.graph.directoryRole"));
            Value::Object(m)
        })
        .collect();
    Reply::json(200, odata::page(items, q, path, ctx, context_url("directoryRoles", q.select.as_deref())))
}

fn role_index(st: &State, id: &str) -> Option<usize> {
    st.directory_roles.iter().position(|r| r.id.eq_ignore_ascii_case(id))
}

/// `DELETE /directoryRoles/{id}/members/{uid}/$ref`
pub fn remove_member(st: &mut State, ctx: &Ctx, rid: &str, uid: &str) -> Reply {
    let Some(rix) = role_index(st, rid) else { return ctx.not_found(rid) };
    let member_id = st.user_index(uid).map(|ix| st.users[ix].id.clone()).unwrap_or_else(|| uid.to_string());
    let members = &mut st.directory_roles[rix].members;
    let Some(pos) = members.iter().position(|m| m.eq_ignore_ascii_case(&member_id)) else {
        return ctx.error(
            404,
            "Request_ResourceNotFound",
            "One or more removed object references do not exist for the following modified properties: 'members'.",
        );
    };
    members.remove(pos);
    Reply::no_content()
}

/// `POST /directoryRoles/{id}/members/$ref {"@odata.id": ".../directoryObjects/{uid}"}`
pub fn add_member(st: &mut State, ctx: &Ctx, rid: &str, body: &[u8]) -> Reply {
    let Some(rix) = role_index(st, rid) else { return ctx.not_found(rid) };
    let reference = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("@odata.id").and_then(Value::as_str).map(str::to_string));
    let Some(reference) = reference else {
        return ctx.bad_request("Invalid request body: expected {\"@odata.id\": \".../directoryObjects/{id}\"}.");
    };
    let member = reference.rsplit('/').next().unwrap_or_default();
    let Some(uix) = st.user_index(member) else { return ctx.not_found(member) };
    let member_id = st.users[uix].id.clone();
    let members = &mut st.directory_roles[rix].members;
    if members.iter().any(|m| m.eq_ignore_ascii_case(&member_id)) {
        return ctx.bad_request("One or more added object references already exist for the following modified properties: 'members'.");
    }
    members.push(member_id);
    Reply::no_content()
}
