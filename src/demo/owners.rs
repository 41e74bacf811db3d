//! Group owners: `GET /groups/{id}/owners`, `POST /groups/{id}/owners/$ref`,
//! `DELETE /groups/{id}/owners/{id}/$ref`.
//!
//! Graph's rule that a hand-over meets: once a group has owners, its last owner (a user) cannot
//! be removed (`Request_BadRequest`, "The group must have at least one owner, hence this owner
//! cannot be removed."), so the new owner must be added before the leaver goes. Owners of a group
//! synced from Active Directory are mastered there, as its members are.

use serde_json::Value;

use super::model::State;
use super::odata::Query;
use super::reply::{Ctx, Reply};

/// `GET /groups/{id}/owners`: users, as a group's members are listed.
pub fn list(st: &State, ctx: &Ctx, gid: &str, q: &Query, path: &str) -> Reply {
    let Some(gix) = st.group_index(gid) else { return ctx.not_found(gid) };
    super::groups::user_objects(st, ctx, &st.groups[gix].owners, q, path)
}

/// `POST /groups/{id}/owners/$ref` with `{"@odata.id": ".../directoryObjects/{userId}"}`.
pub fn add(st: &mut State, ctx: &Ctx, gid: &str, body: &[u8]) -> Reply {
    let Some(gix) = st.group_index(gid) else { return ctx.not_found(gid) };
    let reference = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("@odata.id").and_then(Value::as_str).map(str::to_string));
    let Some(reference) = reference else {
        return ctx.bad_request("Invalid request body: expected {\"@odata.id\": \".../directoryObjects/{id}\"}.");
    };
    let who = reference.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    // A reference names the object by id; a UPN there is not found, as on Graph.
    let Some(uix) = st.users.iter().position(|u| u.id.eq_ignore_ascii_case(who)) else { return ctx.not_found(who) };
    if st.groups[gix].is_synced() {
        return ctx.on_prem_mastered();
    }
    let uid = st.users[uix].id.clone();
    let owners = &mut st.groups[gix].owners;
    if owners.iter().any(|o| o.eq_ignore_ascii_case(&uid)) {
        return ctx.bad_request("One or more added object references already exist for the following modified properties: 'owners'.");
    }
    owners.push(uid);
    Reply::no_content()
}

/// `DELETE /groups/{id}/owners/{userId}/$ref`
pub fn remove(st: &mut State, ctx: &Ctx, gid: &str, uid: &str) -> Reply {
    let Some(gix) = st.group_index(gid) else { return ctx.not_found(gid) };
    if st.groups[gix].is_synced() {
        return ctx.on_prem_mastered();
    }
    let owners = &mut st.groups[gix].owners;
    let Some(pos) = owners.iter().position(|o| o.eq_ignore_ascii_case(uid)) else {
        return ctx.error(
            404,
            "Request_ResourceNotFound",
            "One or more removed object references do not exist for the following modified properties: 'owners'.",
        );
    };
    if owners.len() == 1 {
        return ctx.bad_request("The group must have at least one owner, hence this owner cannot be removed.");
    }
    owners.remove(pos);
    Reply::no_content()
}
