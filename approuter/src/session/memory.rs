//! In-process sessions: sharded maps of `Arc`s (a read is a hash lookup and a reference count),
//! expired entries swept by a background task.

use super::data::{Loaded, SessionData};
use super::lock::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower_sessions::session::Id;

const SHARDS: usize = 16;

/// Called with each memory-store session that ended by timing out.
pub type OnTimeout = Arc<dyn Fn(Arc<SessionData>) + Send + Sync>;

/// 16 bytes, so a map slot with its (16-byte aligned) id is 32 bytes rather than 48.
struct Entry {
    /// Unix milliseconds.
    expires: u64,
    data: Arc<SessionData>,
}

fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

type Shards = [Mutex<HashMap<Id, Entry>>; SHARDS];

#[derive(Clone)]
pub struct MemoryStore {
    shards: Arc<Shards>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self {
            shards: Arc::new(std::array::from_fn(|_| Mutex::new(HashMap::new()))),
        }
    }

    /// Sweeps expired sessions every `interval` until the store is dropped. Needs a Tokio runtime.
    pub fn spawn_sweeper(&self, interval: Duration) {
        self.spawn_sweeper_with(interval, None);
    }

    /// Like [`MemoryStore::spawn_sweeper`]; `on_timeout` gets each swept session that had a
    /// login (its backend logouts are called, as `@sap/approuter` does on a session timeout).
    pub fn spawn_sweeper_with(&self, interval: Duration, on_timeout: Option<OnTimeout>) {
        let weak: Weak<Shards> = Arc::downgrade(&self.shards);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(shards) = weak.upgrade() else { break };
                let now = unix_millis(SystemTime::now());
                let mut timed_out = Vec::new();
                for shard in shards.iter() {
                    lock(shard).retain(|_, e| {
                        let live = e.expires > now;
                        if !live && on_timeout.is_some() && e.data.auth.is_some() {
                            timed_out.push(e.data.clone());
                        }
                        live
                    });
                }
                if let Some(hook) = &on_timeout {
                    for data in timed_out {
                        hook(data);
                    }
                }
            }
        });
    }

    fn shard(&self, id: &Id) -> &Mutex<HashMap<Id, Entry>> {
        // Ids are random; their low bits spread evenly.
        &self.shards[(id.0 as u128 % SHARDS as u128) as usize]
    }

    pub(super) fn load(&self, id: &Id) -> Option<Loaded> {
        let shard = lock(self.shard(id));
        let entry = shard.get(id)?;
        (entry.expires > unix_millis(SystemTime::now())).then(|| Loaded {
            data: entry.data.clone(),
            expires: UNIX_EPOCH + Duration::from_millis(entry.expires),
        })
    }

    pub(super) fn create(&self, data: Arc<SessionData>, ttl: Duration) -> Id {
        loop {
            let id = Id::default();
            let mut shard = lock(self.shard(&id));
            if shard.contains_key(&id) {
                continue;
            }
            shard.insert(
                id,
                Entry {
                    expires: unix_millis(SystemTime::now() + ttl),
                    data,
                },
            );
            return id;
        }
    }

    pub(super) fn save_existing(&self, id: Id, data: Arc<SessionData>, ttl: Duration) {
        if let Some(entry) = lock(self.shard(&id)).get_mut(&id) {
            entry.data = data;
            entry.expires = unix_millis(SystemTime::now() + ttl);
        }
    }

    pub(super) fn delete(&self, id: &Id) {
        lock(self.shard(id)).remove(id);
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::data::AuthInfo;
    use crate::session::shared::Shared;
    use crate::token_pack::PackedToken;
    use common::Secret;

    fn logged_in() -> Arc<SessionData> {
        Arc::new(SessionData {
            auth: Some(AuthInfo {
                access_token: PackedToken::plain(Secret::new("t")),
                refresh_token: None,
                expires_at: i64::MAX,
                lifetime: 60,
                zid: None,
                user: "alice".into(),
                scopes: Shared::from("openid"),
            }),
            csrf: None,
            backend_cookies: None,
        })
    }

    #[tokio::test]
    async fn the_sweep_hands_timed_out_logins_to_the_hook() {
        let store = MemoryStore::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let hook: OnTimeout = Arc::new(move |data: Arc<SessionData>| {
            let _ = tx.send(data.auth.as_ref().map(|a| a.user.to_string()));
        });
        store.create(logged_in(), Duration::from_millis(1));
        store.create(Arc::new(SessionData::default()), Duration::from_millis(1));
        let live = store.create(logged_in(), Duration::from_secs(600));
        store.spawn_sweeper_with(Duration::from_millis(10), Some(hook));
        let first = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the sweep calls the hook");
        assert_eq!(first, Some(Some("alice".to_string())));
        // Only the expired login: not the anonymous session, not the live one.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err());
        assert!(store.load(&live).is_some());
    }
}
