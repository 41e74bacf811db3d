//! Reads shared by the phases of one run.
//!
//! Every action re-checks its precondition against live state, but a phase that wrote nothing to a
//! user has not changed it, so the next phase can reuse what was read. A user's entry is dropped as
//! soon as any write to that user was attempted (whatever its outcome), so a precondition is never
//! checked against state older than our own last write. Concurrent lookups of one user share one
//! set of requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::{ActionError, Providers};
use crate::ad::AdUser;
use crate::entra::CloudUser;

type Cell = Arc<OnceCell<Arc<CloudUser>>>;

#[derive(Default)]
pub struct ReadCache {
    /// Keyed by lower-case object id and UPN; both keys of a user share one cell.
    users: Mutex<HashMap<String, Cell>>,
    /// AD users by lower-case objectGUID (the subject id of AD actions).
    ad_users: Mutex<HashMap<String, Arc<OnceCell<Arc<AdUser>>>>>,
}

/// Why a lookup produced no user: not there (not cached), or the read failed.
enum Miss {
    Missing,
    Failed(ActionError),
}

impl ReadCache {
    fn cell(&self, key: &str) -> Cell {
        // std Mutex: held only to clone the cell, never across an await.
        let mut map = self.users.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_ascii_lowercase()).or_default().clone()
    }

    /// The cloud user by object id or UPN; `None` when the directory has no such user.
    pub async fn cloud_user(&self, providers: &Providers, key: &str) -> Result<Option<Arc<CloudUser>>, ActionError> {
        let cell = self.cell(key);
        let res = cell
            .get_or_try_init(|| async {
                let cloud = providers.cloud().map_err(Miss::Failed)?;
                match cloud.resolve_user(key).await {
                    Ok(Some(u)) => Ok(Arc::new(u)),
                    // Not cached: asking again must ask the directory again.
                    Ok(None) => Err(Miss::Missing),
                    Err(e) => Err(Miss::Failed(e.into())),
                }
            })
            .await;
        match res {
            Ok(u) => {
                let u = u.clone();
                self.alias(&u, &cell);
                Ok(Some(u))
            }
            Err(Miss::Missing) => Ok(None),
            Err(Miss::Failed(e)) => Err(e),
        }
    }

    /// Make the user reachable under both its id and its UPN.
    fn alias(&self, u: &CloudUser, cell: &Cell) {
        let mut map = self.users.lock().unwrap_or_else(|p| p.into_inner());
        for k in [&u.id, &u.upn] {
            map.entry(k.to_ascii_lowercase()).or_insert_with(|| cell.clone());
        }
    }

    /// The AD user with this objectGUID as it is now.
    pub async fn ad_user(&self, providers: &Providers, guid: &str) -> Result<Arc<AdUser>, ActionError> {
        let cell = {
            let mut map = self.ad_users.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(guid.to_ascii_lowercase()).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            match providers.ad()?.user_by_guid(guid).await? {
                Some(u) => Ok(Arc::new(u)),
                None => Err(ActionError::Other(format!("AD user {guid} no longer exists in the directory"))),
            }
        })
        .await
        .cloned()
    }

    /// Forget everything read about the user with this object id (cloud id or AD objectGUID).
    pub fn invalidate_user(&self, id: &str) {
        let id = id.to_ascii_lowercase();
        let mut map = self.users.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|k, cell| *k != id && cell.get().is_none_or(|u| !u.id.eq_ignore_ascii_case(&id)));
        drop(map);
        self.ad_users.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}
