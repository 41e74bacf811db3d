//! Reads shared by the phases of one run.
//!
//! Every action re-checks its precondition against live state, but a phase that wrote nothing to an
//! object has not changed it, so the next phase can reuse what was read. As soon as a write was
//! attempted, the entries it can change are dropped (the action's `stale_reads`: by default all
//! read about the user), or, after a write that landed and whose result the action knows, brought
//! up to date ([`ReadCache::update`]), so a precondition is never checked against state older than
//! our own last write. Concurrent lookups of one object share one set of requests.
//!
//! The cache holds what a provider hands it and knows none of their types: an entry is a value of
//! any type that says under which ids it is found ([`Cached`]), kept apart by its type so that a
//! cloud user and an AD user with the same key never meet.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::action_error::ActionError;

/// A value the cache can hold: a directory object read from a provider.
pub trait Cached: Any + Send + Sync {
    /// The ids it is found under and dropped by (object id, UPN, objectGUID, ...), any case.
    fn cache_ids(&self) -> Vec<String>;
}

struct Entry {
    ids: Vec<String>,
    value: Arc<dyn Any + Send + Sync>,
}

type Cell = Arc<OnceCell<Entry>>;

#[derive(Default)]
pub struct ReadCache {
    /// Keyed by the value's type and a lower-case id; the ids of one object share one cell.
    cells: Mutex<HashMap<(TypeId, String), Cell>>,
}

/// Why a lookup produced no value: not there (not cached), or the read failed.
enum Miss {
    Missing,
    Failed(ActionError),
}

impl ReadCache {
    fn cell(&self, ty: TypeId, key: &str) -> Cell {
        // std Mutex: held only to clone the cell, never across an await.
        let mut map = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((ty, key.to_ascii_lowercase())).or_default().clone()
    }

    /// The `T` found under `key`, read with `load` unless already read. `Ok(None)`, "no such
    /// object", is not cached: asking again asks the provider again.
    pub async fn get_or_load<T, F, Fut>(&self, key: &str, load: F) -> Result<Option<Arc<T>>, ActionError>
    where
        T: Cached,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, ActionError>>,
    {
        let ty = TypeId::of::<T>();
        let cell = self.cell(ty, key);
        let res = cell
            .get_or_try_init(|| async {
                match load().await {
                    Ok(Some(v)) => Ok(Entry { ids: v.cache_ids(), value: Arc::new(v) }),
                    Ok(None) => Err(Miss::Missing),
                    Err(e) => Err(Miss::Failed(e)),
                }
            })
            .await;
        match res {
            Ok(entry) => {
                self.alias(ty, &entry.ids, &cell);
                Ok(entry.value.clone().downcast::<T>().ok())
            }
            Err(Miss::Missing) => Ok(None),
            Err(Miss::Failed(e)) => Err(e),
        }
    }

    /// Make the object reachable under each of its ids.
    fn alias(&self, ty: TypeId, ids: &[String], cell: &Cell) {
        let mut map = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        for k in ids {
            map.entry((ty, k.to_ascii_lowercase())).or_insert_with(|| cell.clone());
        }
    }

    /// Replace the `T` found under `key` (if one was read) by a copy changed with `f`, under all
    /// of its ids: for a write whose new state is known from its own request.
    pub fn update<T: Cached + Clone>(&self, key: &str, f: impl FnOnce(&mut T)) {
        let ty = TypeId::of::<T>();
        let mut map = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        let Some(old) = map.get(&(ty, key.to_ascii_lowercase())).and_then(|c| c.get()) else { return };
        let Some(mut value) = old.value.downcast_ref::<T>().cloned() else { return };
        let old_ids = old.ids.clone();
        f(&mut value);
        let ids = value.cache_ids();
        let cell: Cell = Arc::new(OnceCell::new_with(Some(Entry { ids: ids.clone(), value: Arc::new(value) })));
        for k in old_ids.iter().chain(&ids).chain(std::iter::once(&key.to_string())) {
            map.insert((ty, k.to_ascii_lowercase()), cell.clone());
        }
    }

    /// Keep `value` as the latest read of its object (a fresh read made outside the cache).
    pub fn put<T: Cached>(&self, value: T) {
        let ty = TypeId::of::<T>();
        let ids = value.cache_ids();
        let cell: Cell = Arc::new(OnceCell::new_with(Some(Entry { ids: ids.clone(), value: Arc::new(value) })));
        let mut map = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        for k in &ids {
            map.insert((ty, k.to_ascii_lowercase()), cell.clone());
        }
    }

    /// Forget everything read about the object with this id (cloud object id, AD objectGUID, or
    /// the key of one provider read such as `exo:mailbox:<upn>`).
    pub fn invalidate_user(&self, id: &str) {
        let id = id.to_ascii_lowercase();
        let mut map = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|(_, k), cell| *k != id && cell.get().is_none_or(|e| !e.ids.iter().any(|i| i.eq_ignore_ascii_case(&id))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct Obj {
        id: &'static str,
        name: &'static str,
    }
    impl Cached for Obj {
        fn cache_ids(&self) -> Vec<String> {
            vec![self.id.into(), self.name.into()]
        }
    }

    #[tokio::test]
    async fn reads_once_per_object_and_forgets_on_invalidate() {
        let cache = ReadCache::default();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let load = || async {
            reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Some(Obj { id: "ID1", name: "a@x.test" }))
        };
        assert_eq!(cache.get_or_load("id1", load).await.unwrap().unwrap().name, "a@x.test");
        // Found under its other id without a read.
        let again = cache.get_or_load::<Obj, _, _>("A@X.TEST", || async { unreachable!() }).await.unwrap().unwrap();
        assert_eq!(again.id, "ID1");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        cache.invalidate_user("id1");
        assert!(cache.get_or_load::<Obj, _, _>("a@x.test", || async { Ok(None) }).await.unwrap().is_none());
        // A miss is not cached.
        assert!(cache.get_or_load("a@x.test", load).await.unwrap().is_some());
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
        // An update is seen under every id, without a read.
        cache.update::<Obj>("a@x.test", |o| o.name = "b@x.test");
        let updated = cache.get_or_load::<Obj, _, _>("ID1", || async { unreachable!() }).await.unwrap().unwrap();
        assert_eq!(updated.name, "b@x.test");
        assert_eq!(cache.get_or_load::<Obj, _, _>("B@x.test", || async { unreachable!() }).await.unwrap().unwrap().id, "ID1");
        // A fresh read put in replaces what was cached.
        cache.put(Obj { id: "ID1", name: "c@x.test" });
        assert_eq!(cache.get_or_load::<Obj, _, _>("id1", || async { unreachable!() }).await.unwrap().unwrap().name, "c@x.test");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
