//! OneDrive for Business: `GET /users/{id}/drive`, the root folder, and the sharing permissions
//! on it (`POST .../items/{id}/invite`, `GET .../permissions`, `DELETE .../permissions/{id}`),
//! reached as `/drives/{drive-id}/...` or `/users/{id}/drive/...` the way Graph serves both.
//!
//! Only a drive's root item is modelled (what a hand-over shares). OneDrive answers with its own
//! error codes (`itemNotFound`, `invalidRequest`, `accessDenied`), and a user whose OneDrive was
//! never provisioned has none ("User's mysite not found."). The owner's own permission is
//! listed and cannot be removed; an invitation names users of the tenant only, because an
//! app-only caller cannot invite new guests.

use serde_json::{json, Map, Value};

use super::model::{Drive, DrivePermission, State, User};
use super::odata::{self, Query, Segments};
use super::reply::{Ctx, Reply};

fn item_not_found(ctx: &Ctx) -> Reply {
    ctx.error(404, "itemNotFound", "The resource could not be found.")
}

fn invalid(ctx: &Ctx, message: &str) -> Reply {
    ctx.error(400, "invalidRequest", message)
}

fn identity(u: &User) -> Value {
    json!({"user": {"displayName": u.display_name, "email": u.mail, "id": u.id}})
}

/// Which drive a path names, and where the item part of the path starts.
fn drive_of(st: &State, ctx: &Ctx, lc: &[&str], segs: &[String]) -> Result<usize, Reply> {
    if lc[0] == "users" {
        let Some(uix) = st.user_index(&segs[1]) else { return Err(ctx.not_found(&segs[1])) };
        let uid = &st.users[uix].id;
        st.drives.iter().position(|d| &d.user_id == uid).ok_or_else(|| ctx.error(404, "ResourceNotFound", "User's mysite not found."))
    } else {
        st.drives.iter().position(|d| d.id == segs[1]).ok_or_else(|| item_not_found(ctx))
    }
}

/// Every route under `/drives/{id}` and `/users/{id}/drive`.
pub fn route(st: &mut State, ctx: &Ctx, method: &str, p: &Segments, q: &Query, body: &[u8]) -> Reply {
    let (lc, segs, path) = (p.lc, p.segs, p.path);
    let dix = match drive_of(st, ctx, lc, segs) {
        Ok(ix) => ix,
        Err(r) => return r,
    };
    let rest = if lc[0] == "users" { &lc[3..] } else { &lc[2..] };
    let ids = &segs[segs.len() - rest.len()..];
    let d = &st.drives[dix];
    // `root` and `items/{root id}` are the same item; no other item is modelled.
    let (item, tail) = match rest {
        [] => return drive_reply(st, dix, method, ctx),
        ["root", tail @ ..] => (true, tail),
        ["items", _, tail @ ..] => (ids[1] == d.root_id || ids[1].eq_ignore_ascii_case("root"), tail),
        _ => return ctx.error(400, "BadRequest", &format!("Resource not found for the segment '{}'.", ids[0])),
    };
    if !item {
        return item_not_found(ctx);
    }
    let tail_ids = &ids[ids.len() - tail.len()..];
    match (tail, method) {
        ([], "GET") => Reply::json(200, root_json(st, dix)),
        (["permissions"], "GET") => {
            let items = st.drives[dix].permissions.iter().map(|p| permission_json(st, p)).collect();
            let context = format!("https://graph.microsoft.com/v1.0/$metadata#drives('{}')/items('{}')/permissions", d.id, d.root_id);
            Reply::json(200, odata::page(items, q, path, ctx, context))
        }
        (["permissions", _], "GET") => match st.drives[dix].permissions.iter().find(|p| p.id == tail_ids[1]) {
            Some(p) => Reply::json(200, permission_json(st, p)),
            None => item_not_found(ctx),
        },
        (["permissions", _], "DELETE") => delete_permission(st, ctx, dix, &tail_ids[1]),
        (["invite"], "POST") => invite(st, ctx, dix, body),
        ([] | ["permissions"] | ["permissions", _] | ["invite"], _) => {
            ctx.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
        }
        _ => ctx.error(400, "BadRequest", &format!("Resource not found for the segment '{}'.", tail_ids[0])),
    }
}

fn drive_reply(st: &State, dix: usize, method: &str, ctx: &Ctx) -> Reply {
    if method != "GET" {
        return ctx.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    }
    let d = &st.drives[dix];
    let Some(owner) = st.user_index(&d.user_id).map(|ix| &st.users[ix]) else { return item_not_found(ctx) };
    const TOTAL: u64 = 1024 * 1024 * 1024 * 1024;
    Reply::json(
        200,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#drives/$entity",
            "id": d.id,
            "name": "OneDrive",
            "description": "",
            "driveType": "business",
            "createdDateTime": d.created_date_time,
            "lastModifiedDateTime": d.created_date_time,
            "webUrl": d.web_url,
            "createdBy": {"user": {"displayName": "System Account"}},
            "lastModifiedBy": identity(owner),
            "owner": identity(owner),
            "quota": {"deleted": 0, "remaining": TOTAL - d.used_bytes, "state": "normal", "total": TOTAL, "used": d.used_bytes},
        }),
    )
}

fn root_json(st: &State, dix: usize) -> Value {
    let d = &st.drives[dix];
    json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#drives('{}')/root/$entity", d.id),
        "id": d.root_id,
        "name": "root",
        "createdDateTime": d.created_date_time,
        "lastModifiedDateTime": d.created_date_time,
        "webUrl": d.web_url,
        "size": d.used_bytes,
        "parentReference": {"driveId": d.id, "driveType": "business"},
        "fileSystemInfo": {"createdDateTime": d.created_date_time, "lastModifiedDateTime": d.created_date_time},
        "folder": {"childCount": 12},
        "root": {},
    })
}

fn permission_json(st: &State, p: &DrivePermission) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("roles".into(), json!(p.roles));
    if let Some(u) = st.user_index(&p.user_id).map(|ix| &st.users[ix]) {
        m.insert("grantedTo".into(), identity(u));
        m.insert("grantedToV2".into(), identity(u));
        if p.invited {
            m.insert("invitation".into(), json!({"email": u.mail, "signInRequired": p.sign_in_required}));
        }
    }
    Value::Object(m)
}

fn delete_permission(st: &mut State, ctx: &Ctx, dix: usize, pid: &str) -> Reply {
    let perms = &mut st.drives[dix].permissions;
    let Some(pos) = perms.iter().position(|p| p.id == pid) else { return item_not_found(ctx) };
    if perms[pos].roles.iter().any(|r| r == "owner") {
        return ctx.error(403, "accessDenied", "The owner's permission on their own drive cannot be removed.");
    }
    perms.remove(pos);
    Reply::no_content()
}

const INVITE_PARAMS: &[&str] =
    &["requireSignIn", "roles", "sendInvitation", "message", "recipients", "retainInheritedPermissions", "expirationDateTime", "password"];

/// `POST .../invite`: grant each recipient the roles; a recipient who already has a permission
/// gets its roles replaced, so a re-sent invitation does not add a second one.
fn invite(st: &mut State, ctx: &Ctx, dix: usize, body: &[u8]) -> Reply {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return invalid(
            ctx,
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        );
    };
    if let Some(k) = obj.keys().find(|k| !INVITE_PARAMS.contains(&k.as_str())) {
        return invalid(ctx, &format!("The parameter '{k}' in the request payload is not a valid parameter for the operation 'invite'."));
    }
    for k in ["requireSignIn", "sendInvitation", "retainInheritedPermissions"] {
        if obj.get(k).is_some_and(|v| !v.is_boolean()) {
            return invalid(ctx, &format!("Cannot convert the literal '{}' to the expected type 'Edm.Boolean'.", obj[k]));
        }
    }
    let roles: Vec<String> = match obj.get("roles").and_then(Value::as_array) {
        Some(a) if !a.is_empty() && a.iter().all(|r| r.as_str().is_some_and(|r| r == "read" || r == "write")) => {
            a.iter().filter_map(|r| r.as_str().map(str::to_string)).collect()
        }
        _ => return invalid(ctx, "Invalid roles: specify one or more of 'read' and 'write'."),
    };
    let Some(recipients) = obj.get("recipients").and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        return invalid(ctx, "At least one recipient is required.");
    };
    let mut users = Vec::new();
    for r in recipients {
        let Some(r) = r.as_object() else { return invalid(ctx, "Each recipient must be a driveRecipient object.") };
        if let Some(k) = r.keys().find(|k| !["email", "objectId", "alias", "@odata.type"].contains(&k.as_str())) {
            return invalid(ctx, &format!("The property '{k}' does not exist on type 'microsoft.graph.driveRecipient'."));
        }
        let who = ["objectId", "email", "alias"].iter().find_map(|k| r.get(*k).and_then(Value::as_str)).unwrap_or_default();
        let found =
            st.user_index(who).or_else(|| st.users.iter().position(|u| u.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(who))));
        match found {
            Some(ix) => users.push(st.users[ix].id.clone()),
            None => return ctx.error(403, "accessDenied", "New guests can't be invited using app-only access."),
        }
    }
    let sign_in = obj.get("requireSignIn").and_then(Value::as_bool).unwrap_or(false);
    let send = obj.get("sendInvitation").and_then(Value::as_bool).unwrap_or(false);
    let drive_id = st.drives[dix].id.clone();
    let mut out = Vec::new();
    for uid in users {
        let perms = &mut st.drives[dix].permissions;
        let pos = match perms.iter().position(|p| p.user_id == uid && !p.roles.iter().any(|r| r == "owner")) {
            Some(pos) => pos,
            None => {
                let id = super::ids::derived_id("drive-permission", &format!("{drive_id}:{uid}"));
                perms.push(DrivePermission { id, user_id: uid.clone(), ..DrivePermission::default() });
                perms.len() - 1
            }
        };
        let p = &mut perms[pos];
        p.roles = roles.clone();
        p.invited = true;
        p.sign_in_required = sign_in;
        p.invitation_sent |= send;
        let p = p.clone();
        out.push(permission_json(st, &p));
    }
    Reply::json(200, json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(permission)", "value": out})).changed()
}

/// A OneDrive for each named user (the others never opened theirs), each with the owner's
/// permission on its root.
pub fn seed(users: &[User]) -> Vec<Drive> {
    users
        .iter()
        .map(|u| {
            let site = u.user_principal_name.replace(['.', '@'], "_");
            let key = super::ids::derived_id("drive", &u.id).replace('-', "");
            Drive {
                id: format!("b!{key}"),
                user_id: u.id.clone(),
                root_id: format!("01{}", &key[..30].to_ascii_uppercase()),
                web_url: format!("https://contoso-my.sharepoint.com/personal/{site}/Documents"),
                created_date_time: u.created_date_time.clone().unwrap_or_default(),
                used_bytes: 7 * 1024 * 1024 * 1024 + u.id.len() as u64 * 1024 * 1024,
                permissions: vec![DrivePermission {
                    id: "aTowIy5mfG1lbWJlcnNoaXB8".to_string() + &key[..12],
                    roles: vec!["owner".into()],
                    user_id: u.id.clone(),
                    ..DrivePermission::default()
                }],
            }
        })
        .collect()
}
