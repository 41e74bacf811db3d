//! Groups, memberships and member removal.
//!
//! Graph only lets you remove a member from some kinds of group; the rest (dynamic, mail-enabled
//! security, distribution lists, on-premises synced) each answer with their own error, and an
//! offboarding tool has to route those elsewhere (Exchange, AD). Those refusals are the point of
//! this module. Removing a member of a licence-assigning group also drops the licences it gave.

use serde_json::{json, Map, Value};

use super::model::{State, GROUP_PROPS, ROLE_PROPS};
use super::odata::{self, check_select, context_url, parse_filter, project, Query};
use super::reply::{Ctx, Reply};
use super::users;

fn group_props(q: &Query, ctx: &Ctx) -> Result<Option<Vec<String>>, Reply> {
    match &q.select {
        Some(s) => check_select(s, GROUP_PROPS, "microsoft.graph.group", ctx).map(Some),
        None => Ok(None),
    }
}

fn shape(full: Map<String, Value>, props: &Option<Vec<String>>) -> Map<String, Value> {
    match props {
        Some(p) => project(&full, p),
        None => full,
    }
}

pub fn get(st: &State, ctx: &Ctx, id: &str, q: &Query) -> Reply {
    let Some(gix) = st.group_index(id) else { return ctx.not_found(id) };
    let props = match group_props(q, ctx) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut m = shape(st.groups[gix].to_graph(), &props);
    m.insert("@odata.context".into(), json!(format!("{}/$entity", context_url("groups", q.select.as_deref()))));
    Reply::json(200, Value::Object(m))
}

pub fn list(st: &State, ctx: &Ctx, q: &Query, path: &str) -> Reply {
    let props = match group_props(q, ctx) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let filter = match &q.filter {
        Some(f) => match parse_filter(f, &["displayName", "mailNickname"], &["displayName"], ctx) {
            Ok(f) => Some(f),
            Err(r) => return r,
        },
        None => None,
    };
    let items = st
        .groups
        .iter()
        .map(|g| g.to_graph())
        .filter(|full| filter.as_ref().is_none_or(|f| f.matches(full)))
        .map(|full| Value::Object(shape(full, &props)))
        .collect();
    Reply::json(200, odata::page(items, q, path, ctx, context_url("groups", q.select.as_deref())))
}

pub fn members(st: &State, ctx: &Ctx, id: &str, q: &Query, path: &str) -> Reply {
    let Some(gix) = st.group_index(id) else { return ctx.not_found(id) };
    user_objects(st, ctx, &st.groups[gix].members, q, path)
}

/// A page of `directoryObjects` that are users (a group's members or owners), each with its
/// `@odata.type`, under the user `$select`.
pub fn user_objects(st: &State, ctx: &Ctx, ids: &[String], q: &Query, path: &str) -> Reply {
    let props = match users::selected(q, ctx) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let items = ids
        .iter()
        .filter_map(|m| st.user_index(m))
        .map(|ix| {
            let mut m = project(&st.users[ix].to_graph(), &props);
            m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            Value::Object(m)
        })
        .collect();
    Reply::json(200, odata::page(items, q, path, ctx, context_url("directoryObjects", q.select.as_deref())))
}

/// The groups `keep` selects, as Graph lists them under a user (typed, `$select` applied).
fn groups_where(st: &State, props: &Option<Vec<String>>, keep: impl Fn(&super::model::Group) -> bool) -> Vec<Value> {
    st.groups
        .iter()
        .filter(|g| keep(g))
        .map(|g| {
            let mut m = shape(g.to_graph(), props);
            m.insert("@odata.type".into(), json!("#microsoft.graph.group"));
            Value::Object(m)
        })
        .collect()
}

/// `GET /users/{id}/ownedObjects[/microsoft.graph.group]`: the groups the user owns (the demo
/// has no other owned objects: apps and service principals are not owned by users here).
pub fn owned_groups(st: &State, ctx: &Ctx, id: &str, q: &Query, path: &str) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let uid = st.users[uix].id.as_str();
    let props = match q.select.as_ref().map(|s| check_select(s, GROUP_PROPS, "microsoft.graph.group", ctx)).transpose() {
        Ok(p) => p,
        Err(r) => return r,
    };
    let items = groups_where(st, &props, |g| g.owners.iter().any(|o| o.eq_ignore_ascii_case(uid)));
    Reply::json(200, odata::page(items, q, path, ctx, context_url("directoryObjects", q.select.as_deref())))
}

/// `memberOf`, or with `only_groups` the `/microsoft.graph.group` cast that drops directory roles.
pub fn member_of(st: &State, ctx: &Ctx, id: &str, q: &Query, only_groups: bool, path: &str) -> Reply {
    let Some(uix) = st.user_index(id) else { return ctx.not_found(id) };
    let uid = st.users[uix].id.as_str();
    let props = match &q.select {
        Some(s) if only_groups => check_select(s, GROUP_PROPS, "microsoft.graph.group", ctx).map(Some),
        Some(s) => {
            let union: Vec<&str> = GROUP_PROPS.iter().chain(ROLE_PROPS).copied().collect();
            check_select(s, &union, "microsoft.graph.directoryObject", ctx).map(Some)
        }
        None => Ok(None),
    };
    let props = match props {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut items = groups_where(st, &props, |g| g.members.iter().any(|m| m == uid));
    if !only_groups {
        items.extend(st.directory_roles.iter().filter(|r| r.members.iter().any(|m| m == uid)).map(|r| {
            // A role has only its own properties; a group-only $select leaves just the type.
            let full = r.to_graph();
            let mut m = match &props {
                Some(p) => p.iter().filter_map(|k| full.get(k).map(|v| (k.clone(), v.clone()))).collect(),
                None => full,
            };
            m.insert("@odata.type".into(), json!("#microsoft.graph.directoryRole"));
            Value::Object(m)
        }));
    }
    let set = if only_groups { "groups" } else { "directoryObjects" };
    Reply::json(200, odata::page(items, q, path, ctx, context_url(set, q.select.as_deref())))
}

/// Why Graph refuses to change this group's members, as Graph words it.
fn membership_refusal(g: &crate::demo::model::Group, ctx: &Ctx) -> Option<Reply> {
    if g.is_synced() {
        Some(ctx.on_prem_mastered())
    } else if g.is_dynamic() {
        Some(ctx.bad_request("Insufficient privileges to complete the operation."))
    } else if g.mail_enabled && !g.is_unified() {
        Some(ctx.bad_request("Cannot Update a mail-enabled security groups and or distribution list."))
    } else {
        None
    }
}

/// `POST /groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{userId}"}`.
pub fn add_member(st: &mut State, ctx: &Ctx, gid: &str, body: &[u8]) -> Reply {
    let Some(gix) = st.group_index(gid) else { return ctx.not_found(gid) };
    if let Some(r) = membership_refusal(&st.groups[gix], ctx) {
        return r;
    }
    let reference = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("@odata.id").and_then(|r| r.as_str()).map(str::to_string));
    let Some(reference) = reference else {
        return ctx.bad_request("Invalid request body: expected {\"@odata.id\": \".../directoryObjects/{id}\"}.");
    };
    let member = reference.rsplit('/').next().unwrap_or_default();
    let Some(uix) = st.user_index(member) else { return ctx.not_found(member) };
    let member_id = st.users[uix].id.clone();
    if st.groups[gix].members.iter().any(|m| m.eq_ignore_ascii_case(&member_id)) {
        return ctx.bad_request("One or more added object references already exist for the following modified properties: 'members'.");
    }
    st.groups[gix].members.push(member_id);
    // A group that assigns licences assigns them to its new member.
    let group_id = st.groups[gix].id.clone();
    for l in st.groups[gix].assigned_licenses.clone() {
        let state = crate::demo::seed::group_license_state(&l.sku_id, &group_id);
        st.users[uix].license_assignment_states.push(state);
    }
    Reply::no_content()
}

pub fn remove_member(st: &mut State, ctx: &Ctx, gid: &str, uid: &str) -> Reply {
    // Graph names a directory object here by its id only (checked as the URL is read, before
    // anything about the group): a UPN is not an object identifier.
    if uuid::Uuid::parse_str(uid).is_err() {
        return ctx.error(400, "Request_BadRequest", &format!("Invalid object identifier '{uid}'."));
    }
    let Some(gix) = st.group_index(gid) else { return ctx.not_found(gid) };
    if let Some(r) = membership_refusal(&st.groups[gix], ctx) {
        return r;
    }
    let member_id = uid.to_string();
    let Some(pos) = st.groups[gix].members.iter().position(|m| m.eq_ignore_ascii_case(&member_id)) else {
        return ctx.error(
            404,
            "Request_ResourceNotFound",
            "One or more removed object references do not exist for the following modified properties: 'members'.",
        );
    };
    st.groups[gix].members.remove(pos);
    let group_id = st.groups[gix].id.clone();
    if let Some(uix) = st.user_index(&member_id) {
        st.users[uix].license_assignment_states.retain(|s| s.assigned_by_group.as_deref() != Some(group_id.as_str()));
    }
    Reply::no_content()
}
