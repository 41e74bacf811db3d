//! Entra ID (cloud directory): the provider trait, its Graph implementation and the actions.
//!
//! [`CloudDirectory`] is what the actions and script functions need from a cloud directory, one
//! method per Graph call. [`GraphDirectory`] implements it with our Graph client, so the demo
//! tenant and the tests exercise the same HTTP code as production. Each write method documents
//! the exact call it makes (see `offboarding-anchors.md` F5–F20).

mod access;
pub mod actions;
mod mailbox_need;
pub mod model;
pub mod user_query;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::graph::{odata_string, path_segment, query_value, GraphClient, GraphError, GraphRequest, GraphStats};
use crate::secret::Secret;
pub use access::{cached_managed_devices, cached_user, patch_user, provide_cloud, CloudAccess, CloudUsers, ManagedDevices};
pub use mailbox_need::MailboxLicenceNeed;
pub use model::{CloudUser, DirectoryRole, Group, GroupHold, GroupKind, License, ManagedDevice, Manager, SkuInfo, SkuMap};
pub use user_query::{ListedUser, UserList, UserQuery};

type GResult<T> = Result<T, GraphError>;

/// The MAPI named property offboard-host sets on the mail it sends (a GUID of its own), so it can
/// find the message in the sender's Sent Items: the read-back that makes a sent mail `done`.
pub const MARKER_PROPERTY: &str = "String {5d7b3c1e-9a24-4f6b-8e0d-3c2a1b9f7e64} Name OffboardHostMarker";

/// A message found in a mailbox's Sent Items.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub id: String,
    pub sent: String,
}

#[async_trait]
pub trait CloudDirectory: Send + Sync {
    /// Resolve a user by UPN or object id with groups, licences and manager. `None`: no such user.
    async fn resolve_user(&self, user: &str) -> GResult<Option<CloudUser>>;
    /// `POST /users/{id}/revokeSignInSessions`
    async fn revoke_sessions(&self, user_id: &str) -> GResult<()>;
    /// `PATCH /users/{id} {"passwordProfile":{"password","forceChangePasswordNextSignIn"}}`
    async fn set_password(&self, user_id: &str, password: &Secret, force_change: bool) -> GResult<()>;
    /// `PATCH /users/{id} {"accountEnabled": enabled}`
    async fn set_account_enabled(&self, user_id: &str, enabled: bool) -> GResult<()>;
    /// `DELETE /groups/{gid}/members/{uid}/$ref`
    async fn remove_group_member(&self, group_id: &str, user_id: &str) -> GResult<()>;
    /// `POST /groups/{gid}/members/$ref {"@odata.id": ".../directoryObjects/{uid}"}`
    async fn add_group_member(&self, group_id: &str, user_id: &str) -> GResult<()>;
    /// Groups with this object id, or else with this display name (`$filter`, quotes doubled).
    async fn find_groups(&self, id_or_name: &str) -> GResult<Vec<Group>>;
    /// `POST /users/{id}/assignLicense {"addLicenses":[],"removeLicenses":[sku]}`
    async fn remove_license(&self, user_id: &str, sku_id: &str) -> GResult<()>;
    /// `DELETE /users/{id}/manager/$ref`
    async fn remove_manager(&self, user_id: &str) -> GResult<()>;
    /// `PATCH /users/{id} {"employeeId": value}`
    async fn set_employee_id(&self, user_id: &str, value: Option<&str>) -> GResult<()>;
    /// `GET /users/{id}/mailboxSettings` → its `automaticRepliesSetting`.
    async fn get_auto_replies(&self, _user_id: &str) -> GResult<Value> {
        Err(GraphError::Protocol { message: "this directory does not read mailbox settings".into() })
    }
    /// `PATCH /users/{id}/mailboxSettings {"automaticRepliesSetting": setting}`
    async fn set_auto_replies(&self, _user_id: &str, _setting: &Value) -> GResult<()> {
        Err(GraphError::Protocol { message: "this directory does not write mailbox settings".into() })
    }
    /// `GET /users/{id}?$select=employeeLeaveDateTime`: when the user leaves, as HR entered it
    /// (None: not set). Reading it needs `User-LifeCycleInfo.Read.All`.
    async fn leave_date(&self, _user_id: &str) -> GResult<Option<String>> {
        Err(GraphError::Protocol { message: "this directory does not read employeeLeaveDateTime".into() })
    }
    /// `POST /users/{sender}/sendMail`: one plain-text message, saved to the sender's Sent Items
    /// (not idempotent: a resend is a second mail). `marker`, when given, is set as the extended
    /// property [`MARKER_PROPERTY`] so [`CloudDirectory::find_sent_mail`] can find the message
    /// again. Defaults to unsupported so test fakes need not implement it.
    async fn send_mail(&self, _sender: &str, _to: &str, _subject: &str, _body: &str, _marker: Option<&str>) -> GResult<()> {
        Err(GraphError::Protocol { message: "sending mail is not supported by this directory".into() })
    }
    /// `GET /users/{sender}/mailFolders/SentItems/messages?$filter=singleValueExtendedProperties/any(...)`:
    /// the message this tool sent with `marker`, if the sender's Sent Items hold it.
    async fn find_sent_mail(&self, _sender: &str, _marker: &str) -> GResult<Option<SentMessage>> {
        Err(GraphError::Protocol { message: "reading Sent Items is not supported by this directory".into() })
    }
    /// `POST /users/{id}/assignLicense {"addLicenses":[{"skuId"}],"removeLicenses":[]}` (restore).
    async fn add_license(&self, _user_id: &str, _sku_id: &str) -> GResult<()> {
        Err(GraphError::Protocol { message: "assigning licences is not supported by this directory".into() })
    }
    /// `PUT /users/{id}/manager/$ref {"@odata.id": ".../users/{manager}"}` (restore).
    async fn set_manager(&self, _user_id: &str, _manager_id: &str) -> GResult<()> {
        Err(GraphError::Protocol { message: "setting the manager is not supported by this directory".into() })
    }
    /// `GET /users/{id}/managedDevices?$select=...` (every page): the user's Intune devices. A tenant
    /// without Intune answers 403 or 400 (see [`intune_unavailable`]).
    async fn managed_devices(&self, _user_id: &str) -> GResult<Vec<ManagedDevice>> {
        Err(GraphError::Protocol { message: "this directory does not read Intune managed devices".into() })
    }
    /// `POST /deviceManagement/managedDevices/{id}/retire` (no body): remove company data and
    /// management from the device.
    async fn retire_managed_device(&self, _device_id: &str) -> GResult<()> {
        Err(GraphError::Protocol { message: "retiring Intune devices is not supported by this directory".into() })
    }
    /// `POST /deviceManagement/managedDevices/{id}/wipe {"keepEnrollmentData":false,"keepUserData":false}`:
    /// factory reset.
    async fn wipe_managed_device(&self, _device_id: &str) -> GResult<()> {
        Err(GraphError::Protocol { message: "wiping Intune devices is not supported by this directory".into() })
    }
    /// `GET /users?$filter=...&$select=...&$orderby=displayName&$count=true&$top=N` with
    /// `ConsistencyLevel: eventual` (see [`user_query`]), pages followed until `q.max` users.
    async fn list_users(&self, _q: &UserQuery) -> GResult<UserList> {
        Err(GraphError::Protocol { message: "this directory does not search users".into() })
    }
    /// `GET /groups/{id}/members?$select=...` (pages until `max`): the members that are users, and
    /// whether more members (of any kind) were left unread.
    async fn group_members(&self, _group_id: &str, _max: usize) -> GResult<UserList> {
        Err(GraphError::Protocol { message: "this directory does not list group members".into() })
    }
    /// `GET /subscribedSkus` (read once): the tenant's licences, skuId (lower case) → part number.
    async fn subscribed_skus(&self) -> GResult<SkuMap> {
        Err(GraphError::Protocol { message: "this directory does not list its licences".into() })
    }
    /// `GET /users/{id}/memberOf/microsoft.graph.directoryRole` (every page): the user's active
    /// directory roles. No default: a directory that cannot say must not pass for "no roles".
    async fn directory_roles(&self, user_id: &str) -> GResult<Vec<DirectoryRole>>;
    /// `DELETE /directoryRoles/{role}/members/{uid}/$ref`
    async fn remove_directory_role_member(&self, _role_id: &str, _user_id: &str) -> GResult<()> {
        Err(GraphError::Protocol { message: "removing directory roles is not supported by this directory".into() })
    }
    /// `POST /directoryRoles/{role}/members/$ref {"@odata.id": ".../directoryObjects/{uid}"}` (restore).
    async fn add_directory_role_member(&self, _role_id: &str, _user_id: &str) -> GResult<()> {
        Err(GraphError::Protocol { message: "assigning directory roles is not supported by this directory".into() })
    }
    /// A script's own read (`graph::get`): GET a relative path; `all` follows every
    /// `@odata.nextLink` and returns the items of `value` as an array.
    async fn raw_get(&self, _path: &str, _all: bool) -> GResult<Value> {
        Err(GraphError::Protocol { message: "generic Graph reads are not supported by this directory".into() })
    }
    /// A script's own write (`graph::send`): `method` a relative path with an optional JSON body;
    /// the answer's body (`Null` for 204). `idempotent`: may be re-sent after an unclear failure.
    async fn raw_send(&self, _method: &str, _path: &str, _body: Option<Value>, _idempotent: bool) -> GResult<Value> {
        Err(GraphError::Protocol { message: "generic Graph writes are not supported by this directory".into() })
    }
    /// Make sure the credentials work before anything else happens.
    async fn authenticate(&self) -> GResult<()>;
    fn stats(&self) -> GraphStats;
}

/// Why a failed managed-device list means "this tenant has no Intune for us" (no licence, or the
/// app lacks `DeviceManagementManagedDevices.*`): Graph answers 403, or 400 for an unlicensed
/// tenant. `None`: a real failure.
pub fn intune_unavailable(e: &GraphError) -> Option<String> {
    match e {
        GraphError::Api { status: 403, .. } => {
            Some(format!("Intune is not available to this app (no Intune licence or no DeviceManagementManagedDevices permission): {e}"))
        }
        GraphError::Api { status: 400, .. } => Some(format!("the tenant has no Intune (no licence or not set up): {e}")),
        _ => None,
    }
}

pub struct GraphDirectory {
    graph: GraphClient,
    /// skuId (lower case) → part number, read once per process from `/subscribedSkus`.
    skus: OnceCell<SkuMap>,
}

impl GraphDirectory {
    pub fn new(graph: GraphClient) -> Arc<Self> {
        Arc::new(GraphDirectory { graph, skus: OnceCell::new() })
    }

    async fn sku_names(&self) -> GResult<&SkuMap> {
        self.skus
            .get_or_try_init(|| async {
                let items = self.graph.get_all("/subscribedSkus?$select=skuId,skuPartNumber,servicePlans").await?;
                Ok(items.iter().filter_map(|s| Some((s.get("skuId")?.as_str()?.to_ascii_lowercase(), SkuInfo::from_graph(s)))).collect())
            })
            .await
    }

    fn user_path(user_id: &str) -> String {
        format!("/users/{}", path_segment(user_id))
    }

    /// `DELETE /{collection}/{id}/members/{uid}/$ref`: groups and directory roles alike.
    async fn remove_member_ref(&self, collection: &str, id: &str, user_id: &str) -> GResult<()> {
        let path = format!("/{collection}/{}/members/{}/$ref", path_segment(id), path_segment(user_id));
        self.graph.request(GraphRequest::delete(path).idempotent(true)).await.map(drop)
    }

    /// `POST /{collection}/{id}/members/$ref {"@odata.id": ".../directoryObjects/{uid}"}`. A second
    /// add answers 400 "already exist", which the actions read as done: safe to resend.
    async fn add_member_ref(&self, collection: &str, id: &str, user_id: &str) -> GResult<()> {
        let path = format!("/{collection}/{}/members/$ref", path_segment(id));
        let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user_id}")});
        self.graph.request(GraphRequest::post(path, body).idempotent(true)).await.map(drop)
    }
}

#[async_trait]
impl CloudDirectory for GraphDirectory {
    async fn resolve_user(&self, user: &str) -> GResult<Option<CloudUser>> {
        let base = Self::user_path(user);
        // Four independent reads: sent together, the client coalesces them into one $batch.
        let user_path = format!("{base}?$select={}", model::USER_SELECT);
        let groups_path = format!("{base}/memberOf/microsoft.graph.group?$select={}", model::GROUP_SELECT);
        let manager_path = format!("{base}/manager?$select=id,userPrincipalName,displayName,mail");
        let user_req = self.graph.get(&user_path);
        let groups_req = self.graph.get_all(&groups_path);
        let manager_req = self.graph.get(&manager_path);
        let (u, g, m, skus) = tokio::join!(user_req, groups_req, manager_req, self.sku_names());
        let u = match u {
            Ok(u) => u,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let groups = match g {
            Ok(g) => g,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let manager = match m {
            Ok(m) => Some(m),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        Ok(Some(CloudUser::from_graph(&u, &groups, manager.as_ref(), skus?)))
    }

    async fn revoke_sessions(&self, user_id: &str) -> GResult<()> {
        let path = format!("{}/revokeSignInSessions", Self::user_path(user_id));
        // Revoking twice has the same effect as once: safe to re-send after an unclear failure.
        self.graph.request(GraphRequest::post(path, json!({})).idempotent(true)).await.map(drop)
    }

    async fn set_password(&self, user_id: &str, password: &Secret, force_change: bool) -> GResult<()> {
        let body = json!({"passwordProfile": {"password": password.expose(), "forceChangePasswordNextSignIn": force_change}});
        self.graph.request(GraphRequest::patch(Self::user_path(user_id), body)).await.map(drop)
    }

    async fn set_account_enabled(&self, user_id: &str, enabled: bool) -> GResult<()> {
        let req = GraphRequest::patch(Self::user_path(user_id), json!({"accountEnabled": enabled})).idempotent(true);
        self.graph.request(req).await.map(drop)
    }

    async fn remove_group_member(&self, group_id: &str, user_id: &str) -> GResult<()> {
        self.remove_member_ref("groups", group_id, user_id).await
    }

    async fn add_group_member(&self, group_id: &str, user_id: &str) -> GResult<()> {
        self.add_member_ref("groups", group_id, user_id).await
    }

    async fn find_groups(&self, id_or_name: &str) -> GResult<Vec<Group>> {
        if crate::input::is_guid(id_or_name) {
            return match self.graph.get(&format!("/groups/{}?$select={}", path_segment(id_or_name), model::GROUP_SELECT)).await {
                Ok(g) => Ok(vec![Group::from_graph(&g)]),
                Err(e) if e.is_not_found() => Ok(vec![]),
                Err(e) => Err(e),
            };
        }
        let filter = query_value(&format!("displayName eq {}", odata_string(id_or_name)));
        let items = self.graph.get_all(&format!("/groups?$filter={filter}&$select={}", model::GROUP_SELECT)).await?;
        Ok(items.iter().map(Group::from_graph).collect())
    }

    async fn remove_license(&self, user_id: &str, sku_id: &str) -> GResult<()> {
        let path = format!("{}/assignLicense", Self::user_path(user_id));
        let body = json!({"addLicenses": [], "removeLicenses": [sku_id]});
        self.graph.request(GraphRequest::post(path, body).idempotent(true)).await.map(drop)
    }

    async fn remove_manager(&self, user_id: &str) -> GResult<()> {
        let path = format!("{}/manager/$ref", Self::user_path(user_id));
        self.graph.request(GraphRequest::delete(path).idempotent(true)).await.map(drop)
    }

    async fn send_mail(&self, sender: &str, to: &str, subject: &str, body: &str, marker: Option<&str>) -> GResult<()> {
        let path = format!("{}/sendMail", Self::user_path(sender));
        let mut message = json!({
            "subject": subject,
            "body": {"contentType": "Text", "content": body},
            "toRecipients": [{"emailAddress": {"address": to}}],
        });
        if let Some(marker) = marker {
            message["singleValueExtendedProperties"] = json!([{"id": MARKER_PROPERTY, "value": marker}]);
        }
        let message = json!({"message": message, "saveToSentItems": true});
        // A second send is a second mail: never re-sent after an unclear failure.
        self.graph.request(GraphRequest::post(path, message).idempotent(false)).await.map(drop)
    }

    async fn find_sent_mail(&self, sender: &str, marker: &str) -> GResult<Option<SentMessage>> {
        let filter = format!(
            "singleValueExtendedProperties/any(ep: ep/id eq {} and ep/value eq {})",
            odata_string(MARKER_PROPERTY),
            odata_string(marker)
        );
        let path = format!(
            "{}/mailFolders/SentItems/messages?$filter={}&$select=id,sentDateTime,subject",
            Self::user_path(sender),
            query_value(&filter)
        );
        let found = self.graph.get(&path).await?;
        Ok(found["value"].as_array().and_then(|v| v.first()).map(|m| SentMessage {
            id: m["id"].as_str().unwrap_or_default().to_string(),
            sent: m["sentDateTime"].as_str().unwrap_or_default().to_string(),
        }))
    }

    async fn raw_get(&self, path: &str, all: bool) -> GResult<Value> {
        if all {
            return self.graph.get_all(path).await.map(Value::Array);
        }
        self.graph.get(path).await
    }

    async fn raw_send(&self, method: &str, path: &str, body: Option<Value>, idempotent: bool) -> GResult<Value> {
        let req = match (method.to_ascii_uppercase().as_str(), body) {
            ("POST", b) => GraphRequest::post(path, b.unwrap_or_else(|| json!({}))),
            ("PATCH", Some(b)) => GraphRequest::patch(path, b),
            ("PUT", Some(b)) => GraphRequest::put(path, b),
            ("DELETE", None) => GraphRequest::delete(path),
            (m, b) => {
                let why = if b.is_some() { "takes no body" } else { "needs a body" };
                return Err(GraphError::Protocol { message: format!("{m} {why} here (POST, PATCH and PUT take a body; DELETE none)") });
            }
        };
        self.graph.request(req.idempotent(idempotent)).await.map(|r| r.body)
    }

    async fn add_license(&self, user_id: &str, sku_id: &str) -> GResult<()> {
        let path = format!("{}/assignLicense", Self::user_path(user_id));
        let body = json!({"addLicenses": [{"skuId": sku_id, "disabledPlans": []}], "removeLicenses": []});
        self.graph.request(GraphRequest::post(path, body).idempotent(true)).await.map(drop)
    }

    async fn set_manager(&self, user_id: &str, manager_id: &str) -> GResult<()> {
        let path = format!("{}/manager/$ref", Self::user_path(user_id));
        let body = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{manager_id}")});
        self.graph.request(GraphRequest::put(path, body).idempotent(true)).await.map(drop)
    }

    async fn set_employee_id(&self, user_id: &str, value: Option<&str>) -> GResult<()> {
        let body = json!({"employeeId": value.map(|v| Value::String(v.to_string())).unwrap_or(Value::Null)});
        self.graph.request(GraphRequest::patch(Self::user_path(user_id), body).idempotent(true)).await.map(drop)
    }

    async fn leave_date(&self, user_id: &str) -> GResult<Option<String>> {
        let v = self.graph.get(&format!("{}?$select=id,employeeLeaveDateTime", Self::user_path(user_id))).await?;
        Ok(v.get("employeeLeaveDateTime").and_then(Value::as_str).map(str::to_string))
    }

    async fn get_auto_replies(&self, user_id: &str) -> GResult<Value> {
        let v = self.graph.get(&format!("{}/mailboxSettings", Self::user_path(user_id))).await?;
        Ok(v.get("automaticRepliesSetting").cloned().unwrap_or(Value::Null))
    }

    async fn set_auto_replies(&self, user_id: &str, setting: &Value) -> GResult<()> {
        let body = json!({"automaticRepliesSetting": setting});
        let req = GraphRequest::patch(format!("{}/mailboxSettings", Self::user_path(user_id)), body).idempotent(true);
        self.graph.request(req).await.map(drop)
    }

    async fn managed_devices(&self, user_id: &str) -> GResult<Vec<ManagedDevice>> {
        let path = format!("{}/managedDevices?$select={}", Self::user_path(user_id), model::MANAGED_DEVICE_SELECT);
        let items = self.graph.get_all(&path).await?;
        Ok(items.iter().map(ManagedDevice::from_graph).collect())
    }

    async fn retire_managed_device(&self, device_id: &str) -> GResult<()> {
        let path = format!("/deviceManagement/managedDevices/{}/retire", path_segment(device_id));
        // Retiring twice asks for the same thing: safe to re-send after an unclear failure.
        let req = GraphRequest { method: reqwest::Method::POST, path, body: None, idempotent: true, eventual: false };
        self.graph.request(req).await.map(drop)
    }

    async fn wipe_managed_device(&self, device_id: &str) -> GResult<()> {
        let path = format!("/deviceManagement/managedDevices/{}/wipe", path_segment(device_id));
        let body = json!({"keepEnrollmentData": false, "keepUserData": false});
        // A factory reset is never re-sent blindly: the action re-observes the management state.
        self.graph.request(GraphRequest::post(path, body).idempotent(false)).await.map(drop)
    }

    async fn list_users(&self, q: &UserQuery) -> GResult<UserList> {
        let req = GraphRequest { eventual: true, ..GraphRequest::get(q.path()) };
        let (page, skus) = tokio::join!(self.graph.get_pages(req, q.max), self.sku_names());
        let (page, skus) = (page?, skus?);
        let users = page.items.iter().map(|u| ListedUser::from_graph(u, skus)).collect();
        Ok(UserList { users, total: page.count, more: page.more })
    }

    async fn group_members(&self, group_id: &str, max: usize) -> GResult<UserList> {
        // An advanced query ($count with ConsistencyLevel) for the count of members, as for users.
        let path = format!(
            "/groups/{}/members?$select={}&$count=true&$top={}",
            path_segment(group_id),
            user_query::LIST_SELECT,
            max.clamp(1, 999)
        );
        let req = GraphRequest { eventual: true, ..GraphRequest::get(path) };
        let (page, skus) = tokio::join!(self.graph.get_pages(req, max), self.sku_names());
        let (page, skus) = (page?, skus?);
        let users = page
            .items
            .iter()
            .filter(|m| m.get("@odata.type").and_then(Value::as_str) == Some("#microsoft.graph.user"))
            .map(|u| ListedUser::from_graph(u, skus))
            .collect();
        Ok(UserList { users, total: page.count, more: page.more })
    }

    async fn subscribed_skus(&self) -> GResult<SkuMap> {
        self.sku_names().await.cloned()
    }

    async fn directory_roles(&self, user_id: &str) -> GResult<Vec<DirectoryRole>> {
        let path = format!("{}/memberOf/microsoft.graph.directoryRole?$select=id,displayName,roleTemplateId", Self::user_path(user_id));
        let items = self.graph.get_all(&path).await?;
        Ok(items.iter().map(DirectoryRole::from_graph).collect())
    }

    async fn remove_directory_role_member(&self, role_id: &str, user_id: &str) -> GResult<()> {
        self.remove_member_ref("directoryRoles", role_id, user_id).await
    }

    async fn add_directory_role_member(&self, role_id: &str, user_id: &str) -> GResult<()> {
        self.add_member_ref("directoryRoles", role_id, user_id).await
    }

    async fn authenticate(&self) -> GResult<()> {
        self.graph.authenticate().await
    }

    fn stats(&self) -> GraphStats {
        self.graph.stats()
    }
}
