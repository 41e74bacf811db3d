//! What a user has let applications do: delegated permission grants (OAuth2 consents,
//! `/oauth2PermissionGrants`, `/users/{id}/oauth2PermissionGrants`) and app role assignments
//! (`/users/{id}/appRoleAssignments`), with the service principals they point at.
//!
//! Graph's rules that a revoke-and-restore step meets: a grant names existing service
//! principals, `principalId` goes with `consentType` `Principal` and only with it, a second grant
//! for the same client, principal and resource is refused; an app role assignment must name the
//! user as its principal and an app role the resource defines (or the default access role, the
//! all-zero id), and cannot be made twice. Ids are the opaque base64url strings Graph uses.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::model::{graph_object, AppRoleAssignment, PermissionGrant, ServicePrincipal, State};
use super::odata::{self, check_own_type, parse_filter, Query};
use super::reply::{now, Ctx, Reply};

/// The app role id that means "default access" to an application without app roles.
const DEFAULT_ACCESS: &str = "00000000-0000-0000-0000-000000000000";
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// An opaque, stable id in Graph's style (43 base64url characters).
fn opaque_id(kind: &str, key: &str) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("offboard-demo:{kind}:{key}"));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn read_object(ctx: &Ctx, body: &[u8]) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ctx.error(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )),
    }
}

/// Check a create body's property names and types against the entity's: `props` are
/// (name, must be a string). Returns the string values by name.
fn check_body(ctx: &Ctx, obj: &Map<String, Value>, entity: &str, props: &[&str]) -> Result<Map<String, Value>, Reply> {
    for (k, v) in obj {
        if k == "@odata.type" {
            check_own_type(v, entity, ctx)?;
        } else if !props.contains(&k.as_str()) {
            return Err(ctx.bad_request(&format!("Property '{k}' does not exist as a declared property or extension property.")));
        } else if !(v.is_string() || v.is_null()) {
            return Err(ctx.error(400, "BadRequest", &format!("Cannot convert the literal '{v}' to the expected type 'Edm.String'.")));
        }
    }
    Ok(obj.iter().filter(|(k, _)| props.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn sp<'a>(st: &'a State, id: &str) -> Option<&'a ServicePrincipal> {
    st.service_principals.iter().find(|s| s.id.eq_ignore_ascii_case(id))
}

const GRANTS_CONTEXT: &str = "https://graph.microsoft.com/v1.0/$metadata#oauth2PermissionGrants";

/// `GET /oauth2PermissionGrants[?$filter=...]` (`uid` None) or `/users/{id}/oauth2PermissionGrants`.
pub fn list_grants(st: &State, ctx: &Ctx, uid: Option<&str>, q: &Query, path: &str) -> Reply {
    let principal = match uid {
        Some(u) => match st.user_index(u) {
            Some(ix) => Some(st.users[ix].id.clone()),
            None => return ctx.not_found(u),
        },
        None => None,
    };
    let filter = match &q.filter {
        Some(f) => match parse_filter(f, &["principalId", "clientId", "resourceId", "consentType"], &[], ctx) {
            Ok(f) => Some(f),
            Err(r) => return r,
        },
        None => None,
    };
    let items = st
        .oauth2_permission_grants
        .iter()
        .filter(|g| principal.is_none() || g.principal_id == principal)
        .map(|g| graph_object(g, &[]))
        .filter(|m| filter.as_ref().is_none_or(|f| f.matches(m)))
        .map(Value::Object)
        .collect();
    Reply::json(200, odata::page(items, q, path, ctx, GRANTS_CONTEXT.into()))
}

pub fn get_grant(st: &State, ctx: &Ctx, id: &str) -> Reply {
    match st.oauth2_permission_grants.iter().find(|g| g.id == id) {
        Some(g) => {
            let mut m = graph_object(g, &[]);
            m.insert("@odata.context".into(), json!(format!("{GRANTS_CONTEXT}/$entity")));
            Reply::json(200, Value::Object(m))
        }
        None => ctx.not_found(id),
    }
}

pub fn delete_grant(st: &mut State, ctx: &Ctx, id: &str) -> Reply {
    let before = st.oauth2_permission_grants.len();
    st.oauth2_permission_grants.retain(|g| g.id != id);
    if st.oauth2_permission_grants.len() == before {
        return ctx.not_found(id);
    }
    Reply::no_content()
}

/// `POST /oauth2PermissionGrants`: how a restore puts a revoked consent back.
pub fn create_grant(st: &mut State, ctx: &Ctx, body: &[u8]) -> Reply {
    let obj = match read_object(ctx, body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let props = ["clientId", "consentType", "principalId", "resourceId", "scope"];
    let v = match check_body(ctx, &obj, "microsoft.graph.oAuth2PermissionGrant", &props) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(client), Some(resource)) = (s("clientId"), s("resourceId")) else {
        return ctx.bad_request("Invalid value specified for property 'clientId' or 'resourceId' of resource 'OAuth2PermissionGrant'.");
    };
    let consent = s("consentType").unwrap_or_default();
    let principal = s("principalId");
    match (consent.as_str(), &principal) {
        ("Principal", Some(p)) if st.user_index(p).is_some() => {}
        ("AllPrincipals", None) => {}
        _ => {
            return ctx
                .bad_request("Invalid value specified for property 'consentType' or 'principalId' of resource 'OAuth2PermissionGrant'.")
        }
    }
    for id in [&client, &resource] {
        if sp(st, id).is_none() {
            return ctx.not_found(id);
        }
    }
    let principal = principal.and_then(|p| st.user_index(&p)).map(|ix| st.users[ix].id.clone());
    if st.oauth2_permission_grants.iter().any(|g| g.client_id == client && g.resource_id == resource && g.principal_id == principal) {
        return ctx.error(409, "Request_BadRequest", "Permission entry already exists.");
    }
    let key = format!("{client}:{}:{resource}", principal.as_deref().unwrap_or("all"));
    let g = PermissionGrant {
        id: opaque_id("grant", &key),
        client_id: client,
        consent_type: consent,
        principal_id: principal,
        resource_id: resource,
        scope: s("scope").unwrap_or_default(),
    };
    let mut m = graph_object(&g, &[]);
    m.insert("@odata.context".into(), json!(format!("{GRANTS_CONTEXT}/$entity")));
    st.oauth2_permission_grants.push(g);
    Reply::json(201, Value::Object(m)).changed()
}

fn assignments_context(uid: &str) -> String {
    format!("https://graph.microsoft.com/v1.0/$metadata#users('{uid}')/appRoleAssignments")
}

/// `GET /users/{id}/appRoleAssignments`
pub fn list_assignments(st: &State, ctx: &Ctx, uid: &str, q: &Query, path: &str) -> Reply {
    let Some(ix) = st.user_index(uid) else { return ctx.not_found(uid) };
    let user_id = &st.users[ix].id;
    let items = st.app_role_assignments.iter().filter(|a| &a.principal_id == user_id).map(|a| Value::Object(a.to_graph())).collect();
    Reply::json(200, odata::page(items, q, path, ctx, assignments_context(uid)))
}

/// `DELETE /users/{id}/appRoleAssignments/{assignment id}`
pub fn delete_assignment(st: &mut State, ctx: &Ctx, uid: &str, id: &str) -> Reply {
    let Some(ix) = st.user_index(uid) else { return ctx.not_found(uid) };
    let user_id = st.users[ix].id.clone();
    let Some(pos) = st.app_role_assignments.iter().position(|a| a.id == id && a.principal_id == user_id) else {
        return ctx.not_found(id);
    };
    st.app_role_assignments.remove(pos);
    Reply::no_content()
}

/// `POST /users/{id}/appRoleAssignments` with `principalId`, `resourceId`, `appRoleId`.
pub fn create_assignment(st: &mut State, ctx: &Ctx, uid: &str, body: &[u8]) -> Reply {
    let Some(uix) = st.user_index(uid) else { return ctx.not_found(uid) };
    let obj = match read_object(ctx, body) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let v = match check_body(ctx, &obj, "microsoft.graph.appRoleAssignment", &["principalId", "resourceId", "appRoleId"]) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (principal, resource, role) = (s("principalId"), s("resourceId"), s("appRoleId"));
    let user = &st.users[uix];
    if !principal.eq_ignore_ascii_case(&user.id) {
        return ctx.bad_request("The principalId of the app role assignment must be the id of the user it is created for.");
    }
    let Some(res) = sp(st, &resource) else { return ctx.not_found(&resource) };
    if role != DEFAULT_ACCESS && !res.app_roles.iter().any(|(id, _)| id.eq_ignore_ascii_case(&role)) {
        return ctx.bad_request(&format!("Permission being assigned was not found on application '{}'.", res.app_id));
    }
    if st
        .app_role_assignments
        .iter()
        .any(|a| a.principal_id == user.id && a.resource_id == res.id && a.app_role_id.eq_ignore_ascii_case(&role))
    {
        return ctx.bad_request("Permission being assigned already exists on the object");
    }
    let a = AppRoleAssignment {
        id: opaque_id("app-role-assignment", &format!("{}:{}:{role}", user.id, res.id)),
        app_role_id: role.to_ascii_lowercase(),
        created_date_time: now(),
        principal_display_name: user.display_name.clone().unwrap_or_default(),
        principal_id: user.id.clone(),
        principal_type: "User".into(),
        resource_display_name: res.display_name.clone(),
        resource_id: res.id.clone(),
    };
    let mut m = a.to_graph();
    m.insert("@odata.context".into(), json!(format!("{}/$entity", assignments_context(uid))));
    st.app_role_assignments.push(a);
    Reply::json(201, Value::Object(m)).changed()
}

fn service_principal(name: &str, roles: &[&str]) -> ServicePrincipal {
    let id = |what: &str| super::ids::derived_id("service-principal", &format!("{name}:{what}"));
    let app_id = if name == "Microsoft Graph" { GRAPH_APP_ID.to_string() } else { id("app") };
    let app_roles = roles.iter().map(|r| (id(r), r.to_string())).collect();
    ServicePrincipal { id: id("object"), app_id, display_name: name.into(), app_roles }
}

/// Service principals, and the leavers' consents and app role assignments. Salesforce has an
/// admin consent for everyone (`AllPrincipals`): a per-user revoke must leave it alone.
pub fn seed(st: &mut State, leavers: &[(&str, &str)]) {
    let graph = service_principal("Microsoft Graph", &[]);
    let salesforce = service_principal("Salesforce", &["User", "Administrator"]);
    let zoom = service_principal("Zoom", &[]);
    let acrobat = service_principal("Adobe Acrobat Sign", &[]);
    let grant = |client: &ServicePrincipal, principal: Option<&str>, scope: &str| {
        let key = format!("{}:{}:{}", client.id, principal.unwrap_or("all"), graph.id);
        PermissionGrant {
            id: opaque_id("grant", &key),
            client_id: client.id.clone(),
            consent_type: if principal.is_some() { "Principal" } else { "AllPrincipals" }.into(),
            principal_id: principal.map(str::to_string),
            resource_id: graph.id.clone(),
            scope: scope.into(),
        }
    };
    let assign = |user: &str, res: &ServicePrincipal, role: Option<&str>, days: i64| {
        let role = role.and_then(|r| res.app_roles.iter().find(|(_, v)| v == r)).map(|(id, _)| id.clone());
        let role = role.unwrap_or_else(|| DEFAULT_ACCESS.into());
        let name = st.user_index(user).and_then(|ix| st.users[ix].display_name.clone()).unwrap_or_default();
        AppRoleAssignment {
            id: opaque_id("app-role-assignment", &format!("{user}:{}:{role}", res.id)),
            app_role_id: role,
            created_date_time: (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            principal_display_name: name,
            principal_id: user.into(),
            principal_type: "User".into(),
            resource_display_name: res.display_name.clone(),
            resource_id: res.id.clone(),
        }
    };
    let mut grants = vec![grant(&salesforce, None, "User.Read")];
    let mut assignments = Vec::new();
    for (user, who) in leavers {
        grants.push(grant(&zoom, Some(user), "User.Read Calendars.ReadWrite offline_access"));
        let role = if *who == "admin" { "Administrator" } else { "User" };
        assignments.push(assign(user, &salesforce, Some(role), 200));
        if *who == "cloud" {
            grants.push(grant(&acrobat, Some(user), "User.Read Files.Read.All"));
            assignments.push(assign(user, &acrobat, None, 90));
        }
    }
    st.service_principals = vec![graph, salesforce, zoom, acrobat];
    st.oauth2_permission_grants = grants;
    st.app_role_assignments = assignments;
}
