//! Server-side sessions: the session cookie, what a session holds, and where it is kept.
//!
//! Ids and records are `tower-sessions`' (`Id`, `Record`); Redis is `tower-sessions-redis-store`.
//! The router drives the store itself instead of through `SessionManagerLayer`, because that layer
//! saves the whole record after every modifying request: two parallel requests would overwrite
//! each other (a refreshed token lost, a logged-out session written back). Here every change is
//! made under a per-session lock on a freshly loaded record and written only if the session still
//! exists; reads take no lock.

use crate::backend_cookies::BackendCookies;
use crate::error::Error;
use crate::token_pack::{PackedToken, Packer};
use axum::http::{HeaderMap, HeaderValue};
use common::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::Pool;

/// `@sap/approuter`'s cookie name, so browser tooling and load balancers see what they know.
pub const DEFAULT_COOKIE_NAME: &str = "JSESSIONID";
const REDIS_DATA_KEY: &str = "approuter";

/// Kept small on purpose: tokens, expiry, zone, CSRF token, scopes (and backend session cookies
/// where a destination sets them). Only a login makes one; a
/// login in flight lives in a cookie ([`crate::login_state`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<Secret>,
    /// Session cookies the user's destinations set ([`crate::backend_cookies`]); boxed, as most
    /// sessions have none.
    #[serde(default, rename = "bc", skip_serializing_if = "Option::is_none")]
    pub backend_cookies: Option<Box<BackendCookies>>,
}

/// The logged-in user: validated at login or refresh, trusted until `expires_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthInfo {
    pub access_token: PackedToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// `exp` of the access token, unix seconds.
    pub expires_at: i64,
    /// `exp - iat` (or `expires_in`), to refresh proportionally early for short-lived tokens.
    pub lifetime: i64,
    /// The identity zone the user logged in to; a session is never used for another zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zid: Option<Shared>,
    /// `user_name` (else `sub`), for the access log (masked there) and refresh consistency.
    pub user: Box<str>,
    /// The token's scopes, space separated; users with the same roles share one copy.
    pub scopes: Shared,
}

impl AuthInfo {
    /// True when the token should be renewed now: within a third of its lifetime (at most five
    /// minutes) of expiry, so short-lived tokens too are refreshed before a backend sees them expire.
    pub fn needs_refresh(&self, now: i64) -> bool {
        let margin = (self.lifetime / 3).clamp(0, 300);
        now + margin >= self.expires_at
    }

    pub fn has_any_scope(&self, required: &[String]) -> bool {
        required.is_empty()
            || required
                .iter()
                .any(|r| self.scopes.split(' ').any(|s| s == r))
    }
}

/// An immutable string many sessions hold the same value of (zone id, scope list): stored once
/// per [`Interner`], serialized as a plain string.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Shared(Arc<str>);

impl Shared {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Shared {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Shared {
    fn from(s: &str) -> Self {
        Shared(Arc::from(s))
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Shared {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Shared {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Shared(Arc::from(s)))
    }
}

/// Hands out one [`Shared`] per distinct value, up to a bound (past it, values are not shared).
#[derive(Default)]
pub struct Interner(Mutex<std::collections::HashSet<Shared>>);

const INTERNER_LIMIT: usize = 4096;

impl Interner {
    pub fn intern(&self, value: &str) -> Shared {
        let mut set = lock(&self.0);
        if let Some(existing) = set.get(value) {
            return existing.clone();
        }
        let shared = Shared::from(value);
        if set.len() < INTERNER_LIMIT {
            set.insert(shared.clone());
        }
        shared
    }
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A session as read from the store.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub data: Arc<SessionData>,
    pub expires: SystemTime,
}

pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore<Pool>),
}

impl Store {
    async fn load(&self, id: &Id) -> Result<Option<Loaded>, Error> {
        match self {
            Store::Memory(m) => Ok(m.load(id)),
            Store::Redis(r) => {
                let Some(record) = r.load(id).await.map_err(store_error)? else {
                    return Ok(None);
                };
                let data = match record.data.get(REDIS_DATA_KEY) {
                    Some(value) => serde_json::from_value::<SessionData>(value.clone()).unwrap_or_else(|e| {
                        // A record another version wrote: start the session afresh, never fail the request.
                        tracing::warn!(error = %e, "unreadable session record; treating it as empty");
                        SessionData::default()
                    }),
                    None => SessionData::default(),
                };
                let expires = SystemTime::from(record.expiry_date);
                Ok(Some(Loaded {
                    data: Arc::new(data),
                    expires,
                }))
            }
        }
    }

    async fn create(&self, data: Arc<SessionData>, ttl: Duration) -> Result<Id, Error> {
        match self {
            Store::Memory(m) => Ok(m.create(data, ttl)),
            Store::Redis(r) => {
                let mut record = redis_record(Id::default(), &data, ttl)?;
                r.create(&mut record).await.map_err(store_error)?;
                Ok(record.id)
            }
        }
    }

    /// Writes only over an existing session (Redis `SET XX`), so a deleted one stays deleted.
    async fn save(&self, id: Id, data: Arc<SessionData>, ttl: Duration) -> Result<(), Error> {
        match self {
            Store::Memory(m) => {
                m.save_existing(id, data, ttl);
                Ok(())
            }
            Store::Redis(r) => {
                let record = redis_record(id, &data, ttl)?;
                r.save(&record).await.map_err(store_error)
            }
        }
    }

    async fn delete(&self, id: &Id) -> Result<(), Error> {
        match self {
            Store::Memory(m) => {
                m.delete(id);
                Ok(())
            }
            Store::Redis(r) => r.delete(id).await.map_err(store_error),
        }
    }
}

fn store_error(e: tower_sessions::session_store::Error) -> Error {
    Error::SessionStore(e.to_string())
}

fn redis_record(id: Id, data: &SessionData, ttl: Duration) -> Result<Record, Error> {
    let value = serde_json::to_value(data)
        .map_err(|e| Error::Internal(format!("session encoding: {e}")))?;
    let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::hours(1));
    Ok(Record {
        id,
        data: HashMap::from([(REDIS_DATA_KEY.to_string(), value)]),
        expiry_date: time::OffsetDateTime::now_utc() + ttl,
    })
}

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

/// In-process sessions: sharded maps of `Arc`s (a read is a hash lookup and a reference count),
/// expired entries swept by a background task.
#[derive(Clone)]
pub struct MemoryStore {
    shards: Arc<[Mutex<HashMap<Id, Entry>>; SHARDS]>,
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
        let weak: Weak<[Mutex<HashMap<Id, Entry>>; SHARDS]> = Arc::downgrade(&self.shards);
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

    fn load(&self, id: &Id) -> Option<Loaded> {
        let shard = lock(self.shard(id));
        let entry = shard.get(id)?;
        (entry.expires > unix_millis(SystemTime::now())).then(|| Loaded {
            data: entry.data.clone(),
            expires: UNIX_EPOCH + Duration::from_millis(entry.expires),
        })
    }

    fn create(&self, data: Arc<SessionData>, ttl: Duration) -> Id {
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

    fn save_existing(&self, id: Id, data: Arc<SessionData>, ttl: Duration) {
        if let Some(entry) = lock(self.shard(&id)).get_mut(&id) {
            entry.data = data;
            entry.expires = unix_millis(SystemTime::now() + ttl);
        }
    }

    fn delete(&self, id: &Id) {
        lock(self.shard(id)).remove(id);
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a HashMap half-updated in a way we care about.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One async mutex per session id while somebody holds it, so changes to a session (refresh,
/// login, CSRF token, logout) in this process happen one after another.
#[derive(Default)]
struct Locks(Mutex<HashMap<Id, Arc<tokio::sync::Mutex<()>>>>);

pub struct SessionLock<'a> {
    locks: &'a Locks,
    id: Id,
    mutex: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for SessionLock<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = lock(&self.locks.0);
        // Ours and the map's: nobody else waits, the entry can go.
        if Arc::strong_count(&self.mutex) == 2 {
            map.remove(&self.id);
        }
    }
}

impl Locks {
    async fn lock(&self, id: Id) -> SessionLock<'_> {
        let mutex = lock(&self.0).entry(id).or_default().clone();
        let guard = mutex.clone().lock_owned().await;
        SessionLock {
            locks: self,
            id,
            mutex,
            guard: Some(guard),
        }
    }
}

pub struct Sessions {
    store: Store,
    /// Only for the memory store: Redis gets plain tokens other instances can read.
    packer: Option<Packer>,
    locks: Locks,
    timeout: Duration,
    cookie_name: String,
    /// `COOKIES: {"SameSite": "None"}` (implies Secure).
    same_site_none: bool,
    /// `SECURE_SESSION_COOKIE`: forced on or off; `None` follows the request's scheme.
    force_secure: Option<bool>,
}

impl Sessions {
    /// The session cookie's attributes from `COOKIES` and `SECURE_SESSION_COOKIE`.
    pub fn with_cookie_policy(
        mut self,
        same_site: crate::config::SameSite,
        secure: Option<bool>,
    ) -> Self {
        self.same_site_none = same_site == crate::config::SameSite::None;
        self.force_secure = secure;
        self
    }

    /// `; SameSite=...` and `; Secure` for a request that came over https or not.
    pub fn cookie_attributes(&self, https: bool) -> &'static str {
        let secure = self.same_site_none || self.force_secure.unwrap_or(https);
        match (self.same_site_none, secure) {
            (true, _) => "; SameSite=None; Secure",
            (false, true) => "; SameSite=Lax; Secure",
            (false, false) => "; SameSite=Lax",
        }
    }

    pub fn new(store: Store, timeout: Duration, cookie_name: &str) -> Self {
        let packer = matches!(store, Store::Memory(_)).then(Packer::default);
        Self {
            store,
            packer,
            locks: Locks::default(),
            timeout,
            cookie_name: cookie_name.to_string(),
            same_site_none: false,
            force_secure: None,
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
        &self.cookie_name
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
        crate::cookies::find(headers, &self.cookie_name)
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
        let value = format!(
            "{}={}; Path=/; HttpOnly{}",
            self.cookie_name,
            id,
            self.cookie_attributes(secure)
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub fn clear_cookie(&self, secure: bool) -> HeaderValue {
        let value = format!(
            "{}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly{}",
            self.cookie_name,
            self.cookie_attributes(secure)
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(expires_at: i64, lifetime: i64) -> AuthInfo {
        AuthInfo {
            access_token: PackedToken::plain(Secret::new("t")),
            refresh_token: None,
            expires_at,
            lifetime,
            zid: None,
            user: "alice".into(),
            scopes: Shared::from("openid a.Read"),
        }
    }

    #[test]
    fn refresh_margin_scales_with_the_token_lifetime() {
        assert!(!auth(1000 + 43200, 43200).needs_refresh(1000));
        assert!(auth(1000 + 299, 43200).needs_refresh(1000));
        assert!(!auth(1000 + 5, 9).needs_refresh(1000));
        assert!(auth(1000 + 2, 9).needs_refresh(1000));
        assert!(auth(999, 9).needs_refresh(1000));
    }

    #[test]
    fn shared_strings_are_stored_once_and_serialize_plainly() {
        let interner = Interner::default();
        let a = interner.intern("zone-1");
        let b = interner.intern("zone-1");
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"zone-1\"");
        let back: Shared = serde_json::from_str("\"zone-1\"").unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn a_session_stays_small() {
        // 10,000 sessions must fit in a small process: every word here is 80 KB there.
        assert!(
            std::mem::size_of::<SessionData>() <= 160,
            "{}",
            std::mem::size_of::<SessionData>()
        );
    }

    #[test]
    fn scopes_any_of() {
        let a = auth(0, 0);
        assert!(a.has_any_scope(&[]));
        assert!(a.has_any_scope(&["x".into(), "a.Read".into()]));
        assert!(!a.has_any_scope(&["a.read".into()]));
    }

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

    #[test]
    fn the_cookie_is_read_among_others() {
        let sessions = Sessions::new(
            Store::Memory(MemoryStore::new()),
            Duration::from_secs(60),
            "JSESSIONID",
        );
        let id = Id::default();
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&format!("a=1; JSESSIONID=garbage; JSESSIONID={id}; b=2"))
                .unwrap(),
        );
        assert_eq!(sessions.id_from_headers(&headers), Some(id));
        let cookie = sessions.set_cookie(id, true);
        let text = cookie.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.ends_with("Secure")
        );
        assert!(
            !sessions
                .set_cookie(id, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }

    #[tokio::test]
    async fn the_sweep_hands_timed_out_logins_to_the_hook() {
        let store = MemoryStore::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let hook: OnTimeout = Arc::new(move |data: Arc<SessionData>| {
            let _ = tx.send(data.auth.as_ref().map(|a| a.user.to_string()));
        });
        let logged_in = Arc::new(SessionData {
            auth: Some(auth(i64::MAX, 60)),
            csrf: None,
            backend_cookies: None,
        });
        let anonymous = Arc::new(SessionData {
            auth: None,
            csrf: None,
            backend_cookies: None,
        });
        store.create(logged_in, Duration::from_millis(1));
        store.create(anonymous, Duration::from_millis(1));
        let live = store.create(
            Arc::new(SessionData {
                auth: Some(auth(i64::MAX, 60)),
                csrf: None,
                backend_cookies: None,
            }),
            Duration::from_secs(600),
        );
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
