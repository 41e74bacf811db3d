//! How an action, the script host or the CLI reach the on-premises AD through the executor's
//! provider-neutral [`Providers`] (the executor knows no provider; see `exec/providers.rs`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{AdUser, OnPremDirectory};
use crate::action_error::ActionError;
use crate::exec::cache::Cached;
use crate::exec::{Cx, HasProviders, Providers};

/// `providers.ad()`, `cx.ad()`, `host.ad()`.
pub trait AdAccess: HasProviders {
    /// The on-premises AD, or an error naming what is missing.
    fn ad(&self) -> Result<&Arc<dyn OnPremDirectory>, ActionError> {
        self.providers().require::<dyn OnPremDirectory>("this tenant has no on-premises AD configured ([tenants.<name>.ad])")
    }
    /// Whether this tenant has an on-premises AD at all.
    fn has_ad(&self) -> bool {
        self.providers().get::<dyn OnPremDirectory>().is_some()
    }
}

impl<T: HasProviders + ?Sized> AdAccess for T {}

/// Add the on-premises AD to a run's providers; its LDAP operations count as requests.
pub fn provide_ad(providers: &mut Providers, ad: Arc<dyn OnPremDirectory>) {
    let counted = ad.clone();
    providers.count_stats(move || counted.stats());
    providers.mark_directory("ad");
    providers.insert::<dyn OnPremDirectory>(ad);
}

impl Cached for AdUser {
    fn cache_ids(&self) -> Vec<String> {
        vec![self.guid.clone()]
    }
}

/// `cx.ad_user(guid)`.
#[async_trait]
pub trait AdUsers {
    /// The on-premises AD user (by objectGUID) as it is now (read once per phase).
    async fn ad_user(&self, guid: &str) -> Result<Arc<AdUser>, ActionError>;
}

#[async_trait]
impl AdUsers for Cx {
    async fn ad_user(&self, guid: &str) -> Result<Arc<AdUser>, ActionError> {
        self.cache
            .get_or_load(guid, || async { Ok(self.ad()?.user_by_guid(guid).await?) })
            .await?
            .ok_or_else(|| ActionError::Other(format!("AD user {guid} no longer exists in the directory")))
    }
}
