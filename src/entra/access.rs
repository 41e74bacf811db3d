//! How an action, the script host or the CLI reach the cloud directory through the executor's
//! provider-neutral [`Providers`] (the executor knows no provider; see `exec/providers.rs`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{CloudDirectory, CloudUser};
use crate::action_error::ActionError;
use crate::exec::cache::{Cached, ReadCache};
use crate::exec::{Cx, HasProviders, Providers};

/// `providers.cloud()`, `cx.cloud()`, `host.cloud()`.
pub trait CloudAccess: HasProviders {
    /// The cloud directory, or an error naming what is missing.
    fn cloud(&self) -> Result<&Arc<dyn CloudDirectory>, ActionError> {
        self.providers().require::<dyn CloudDirectory>("this tenant has no cloud directory (Graph) configured")
    }
}

impl<T: HasProviders + ?Sized> CloudAccess for T {}

/// Add the cloud directory to a run's providers; its requests count in the run's statistics.
pub fn provide_cloud(providers: &mut Providers, cloud: Arc<dyn CloudDirectory>) {
    let counted = cloud.clone();
    providers.count_stats(move || counted.stats());
    providers.insert::<dyn CloudDirectory>(cloud);
}

impl Cached for CloudUser {
    fn cache_ids(&self) -> Vec<String> {
        vec![self.id.clone(), self.upn.clone()]
    }
}

/// The cloud user by object id or UPN, shared with the run's other readers until one writes to
/// this user; `None` when the directory has no such user.
pub async fn cached_user(cache: &ReadCache, providers: &Providers, key: &str) -> Result<Option<Arc<CloudUser>>, ActionError> {
    cache.get_or_load(key, || async { Ok(providers.cloud()?.resolve_user(key).await?) }).await
}

/// After a write to the user whose new state its own request says (`accountEnabled` false, no
/// manager): the cached user says so too, so the next phase does not read the whole user (its
/// groups, manager and licences, four requests) again. A value only the service knows after the
/// write (a timestamp it stamps) is set to `None`: unknown, so no observation takes it as done.
pub fn patch_user(cache: &ReadCache, id: &str, f: impl FnOnce(&mut CloudUser)) {
    cache.update::<CloudUser>(id, f);
}

/// `cx.cloud_user(id)`.
#[async_trait]
pub trait CloudUsers {
    /// The cloud user as it is now (shared with other actions until one writes to this user).
    async fn cloud_user(&self, id: &str) -> Result<Arc<CloudUser>, ActionError>;
}

#[async_trait]
impl CloudUsers for Cx {
    async fn cloud_user(&self, id: &str) -> Result<Arc<CloudUser>, ActionError> {
        cached_user(&self.cache, &self.providers, id)
            .await?
            .ok_or_else(|| ActionError::Other(format!("user {id} no longer exists in the directory")))
    }
}

/// A user's Intune devices as one read of this run found them: the list, or Graph's error (a
/// tenant without Intune answers 403 every time, so the answer is kept either way). Found under
/// the user's id too, so a write to the user (a retire) forgets it.
pub struct ManagedDevices {
    user_id: String,
    pub list: Result<Vec<super::ManagedDevice>, crate::graph::GraphError>,
}

impl Cached for ManagedDevices {
    fn cache_ids(&self) -> Vec<String> {
        vec![format!("intune:devices:{}", self.user_id), self.user_id.clone()]
    }
}

/// `GET /users/{id}/managedDevices` once per run: the declaration, the steps' observations and a
/// read-ahead share it.
pub async fn cached_managed_devices(cache: &ReadCache, providers: &Providers, user_id: &str) -> Result<Arc<ManagedDevices>, ActionError> {
    let key = format!("intune:devices:{user_id}");
    let read = cache
        .get_or_load(&key, || async {
            let list = providers.cloud()?.managed_devices(user_id).await;
            Ok(Some(ManagedDevices { user_id: user_id.to_string(), list }))
        })
        .await?;
    read.ok_or_else(|| ActionError::Other(format!("no value cached under {key}")))
}
