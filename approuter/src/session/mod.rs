//! Server-side sessions: what a session holds (`data`), where it is kept (`store`: `memory` or
//! `redis`), the per-session lock (`lock`), the session cookie (`cookie`) and interned strings
//! (`shared`); [`Sessions`] is what the rest of the router uses.
//!
//! Ids and records are `tower-sessions`' (`Id`, `Record`); Redis is `tower-sessions-redis-store`.
//! The router drives the store itself instead of through `SessionManagerLayer`, because that layer
//! saves the whole record after every modifying request: two parallel requests would overwrite
//! each other (a refreshed token lost, a logged-out session written back). Here every change is
//! made under a per-session lock on a freshly loaded record and written only if the session still
//! exists; reads take no lock.

mod cookie;
mod data;
mod lock;
mod memory;
mod redis;
mod shared;
mod store;

pub use cookie::{DEFAULT_COOKIE_NAME, SameSite, SessionCookie};
pub use data::{AuthInfo, Loaded, SessionData, SessionRef, unix_now};
pub use lock::SessionLock;
pub use memory::{MemoryStore, OnTimeout};
pub use shared::{Interner, Shared};
pub use store::Store;

use crate::backend_cookies::SetCookie;
use crate::error::Error;
use crate::token_pack::{PackedToken, Packer};
use axum::http::{HeaderMap, HeaderValue};
use common::Secret;
use lock::Locks;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tower_sessions::session::Id;

/// The router's sessions: loads, changes under the session's lock, the cookie, token packing.
pub struct Sessions {
    store: Store,
    /// Only for the memory store: Redis gets plain tokens other instances can read.
    packer: Option<Packer>,
    locks: Locks,
    timeout: Duration,
    cookie: SessionCookie,
}

impl Sessions {
    /// The session cookie's attributes from `COOKIES` and `SECURE_SESSION_COOKIE`.
    pub fn with_cookie_policy(mut self, same_site: SameSite, secure: Option<bool>) -> Self {
        self.cookie = self.cookie.with_policy(same_site, secure);
        self
    }

    /// `; SameSite=...` and `; Secure` for a request that came over https or not.
    pub fn cookie_attributes(&self, https: bool) -> &'static str {
        self.cookie.attributes(https)
    }

    pub fn new(store: Store, timeout: Duration, cookie_name: &str) -> Self {
        let packer = matches!(store, Store::Memory(_)).then(Packer::default);
        Self {
            store,
            packer,
            locks: Locks::default(),
            timeout,
            cookie: SessionCookie::new(cookie_name),
        }
    }

    /// The token as this store keeps it best.
    pub fn pack(&self, token: Secret) -> PackedToken {
        match &self.packer {
            Some(packer) => packer.pack(token),
            None => PackedToken::plain(token),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn cookie_name(&self) -> &str {
        self.cookie.name()
    }

    pub fn is_redis(&self) -> bool {
        matches!(self.store, Store::Redis(_))
    }

    /// Sessions held in memory (expired ones not yet swept included); `None` with Redis.
    pub fn memory_count(&self) -> Option<usize> {
        match &self.store {
            Store::Memory(m) => Some(m.len()),
            Store::Redis(_) => None,
        }
    }

    /// The session id from the `Cookie` header(s), if one parses.
    pub fn id_from_headers(&self, headers: &HeaderMap) -> Option<Id> {
        self.cookie.id_from_headers(headers)
    }

    /// The session, with its idle timeout renewed when a good part of it has passed (renewing on
    /// every request would be a store write per request).
    pub async fn load(&self, id: Id) -> Result<Option<Arc<SessionData>>, Error> {
        let Some(loaded) = self.store.load(&id).await? else {
            return Ok(None);
        };
        let remaining = loaded
            .expires
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let touch_after = (self.timeout / 10).min(Duration::from_secs(60));
        if self.timeout.saturating_sub(remaining) > touch_after {
            return self.update(id, |_| ()).await;
        }
        Ok(Some(loaded.data))
    }

    pub async fn create(&self, data: SessionData) -> Result<Id, Error> {
        self.store.create(Arc::new(data), self.timeout).await
    }

    /// Applies `change` to the current state of the session under its lock and saves it. `None`
    /// when the session no longer exists (expired, logged out): nothing is written then.
    pub async fn update<F, R>(&self, id: Id, change: F) -> Result<Option<Arc<SessionData>>, Error>
    where
        F: FnOnce(&mut SessionData) -> R,
    {
        let _guard = self.locks.lock(id).await;
        self.update_locked(id, change).await
    }

    /// Like [`Sessions::update`], for a caller that holds [`Sessions::lock`] already.
    pub async fn update_locked<F, R>(
        &self,
        id: Id,
        change: F,
    ) -> Result<Option<Arc<SessionData>>, Error>
    where
        F: FnOnce(&mut SessionData) -> R,
    {
        let Some(current) = self.store.load(&id).await? else {
            return Ok(None);
        };
        let mut data = Arc::unwrap_or_clone(current.data);
        change(&mut data);
        let data = Arc::new(data);
        self.store.save(id, data.clone(), self.timeout).await?;
        Ok(Some(data))
    }

    /// The current state, for a caller holding the lock.
    pub async fn reload(&self, id: Id) -> Result<Option<Arc<SessionData>>, Error> {
        Ok(self.store.load(&id).await?.map(|l| l.data))
    }

    pub async fn lock(&self, id: Id) -> SessionLock<'_> {
        self.locks.lock(id).await
    }

    /// Removes the session; waits for a refresh or login in flight on it to finish first, so it
    /// cannot be written back afterwards.
    pub async fn destroy(&self, id: Id) -> Result<(), Error> {
        let _guard = self.locks.lock(id).await;
        self.store.delete(&id).await
    }

    /// Deletes under a lock the caller already holds.
    pub async fn destroy_locked(&self, id: Id) -> Result<(), Error> {
        self.store.delete(&id).await
    }

    pub fn set_cookie(&self, id: Id, secure: bool) -> HeaderValue {
        self.cookie.set(id, secure)
    }

    pub fn clear_cookie(&self, secure: bool) -> HeaderValue {
        self.cookie.clear(secure)
    }

    /// Keeps a destination's session cookies in the user's session (a store write only when they
    /// change). A failure is logged, not answered: the backend's answer is already there, and the
    /// next request can set the cookie again.
    pub async fn keep_backend_cookies(
        &self,
        id: Id,
        data: &SessionData,
        destination: &str,
        cookies: &[SetCookie],
    ) {
        let unchanged = match &data.backend_cookies {
            Some(jar) => !jar.would_change(destination, cookies),
            None => cookies.iter().all(|c| !c.session || c.deletes),
        };
        if unchanged {
            return;
        }
        let mut refused = Vec::new();
        let result = self
            .update(id, |d| {
                let jar = d.backend_cookies.get_or_insert_with(Box::default);
                refused = jar.apply(destination, cookies);
                if jar.is_empty() {
                    d.backend_cookies = None;
                }
            })
            .await;
        for (name, why) in refused {
            tracing::warn!(destination, cookie = %name, reason = ?why, "backend session cookie not kept: the session's bound is reached");
        }
        if let Err(e) = result {
            let error = common::error_chain(&e);
            tracing::warn!(destination, %error, "backend session cookies not kept");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_sessions_update_only_while_they_exist() {
        let sessions = Sessions::new(
            Store::Memory(MemoryStore::new()),
            Duration::from_secs(60),
            "JSESSIONID",
        );
        let id = sessions.create(SessionData::default()).await.unwrap();
        let updated = sessions
            .update(id, |d| d.csrf = Some(Secret::new("c")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(updated.csrf.as_ref().unwrap().expose(), "c");
        assert!(sessions.load(id).await.unwrap().is_some());
        sessions.destroy(id).await.unwrap();
        assert!(sessions.load(id).await.unwrap().is_none());
        assert!(
            sessions
                .update(id, |d| d.csrf = None)
                .await
                .unwrap()
                .is_none(),
            "no resurrection"
        );
        assert!(sessions.load(id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_memory_sessions_are_gone() {
        let store = MemoryStore::new();
        let sessions = Sessions::new(
            Store::Memory(store.clone()),
            Duration::from_millis(1),
            "JSESSIONID",
        );
        let id = sessions.create(SessionData::default()).await.unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(sessions.load(id).await.unwrap().is_none());
    }
}
