//! Tokens whose signature was already verified, so that the next request with the same token skips
//! the RSA check, as `@sap/xssec` 4 does with its signature cache.
//!
//! A browser session or a token cache sends the same token on every request until it expires, and
//! the RSA check (with the key's set-up for each verification) is most of what validating costs.
//! The cache is keyed by the whole token, not by a digest of it: a collision would be an
//! authentication bypass, and the token is in memory anyway. Time is not cached: every hit is
//! checked against `exp` again, and an entry is dropped once it has expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How many verified tokens a cache holds by default. A bound is the point: without one, anybody
/// who can send tokens could grow the map until the process dies.
pub const DEFAULT_CAPACITY: usize = 1000;

struct Entry<T> {
    value: Arc<T>,
    exp: i64,
}

/// Verified tokens with what their verification produced (`T`, e.g. the claims).
pub struct SignatureCache<T> {
    entries: Mutex<HashMap<Box<str>, Entry<T>>>,
    capacity: usize,
}

impl<T> SignatureCache<T> {
    pub fn new(capacity: usize) -> Self {
        SignatureCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Entry<T>>> {
        // Nothing is left half-written under this lock: a panic elsewhere cannot spoil the map.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What `token`'s verification gave, when it was verified before and `exp` has not passed:
    /// still valid at `now` (Unix seconds) with `leeway` seconds of clock skew, like the full check.
    pub fn get(&self, token: &str, now: i64, leeway: u64) -> Option<Arc<T>> {
        let mut entries = self.lock();
        let entry = entries.get(token)?;
        if entry.exp.saturating_add(leeway as i64) < now {
            entries.remove(token);
            return None;
        }
        Some(entry.value.clone())
    }

    /// Remembers a token that passed the full check, until its `exp`.
    pub fn insert(&self, token: &str, exp: i64, value: Arc<T>, now: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(token) {
            entries.retain(|_, e| e.exp >= now);
            if entries.len() >= self.capacity {
                // Full of live tokens: make room for the newest, which is the one most likely to be
                // sent again. Which old one goes does not matter for correctness.
                if let Some(key) = entries.keys().next().cloned() {
                    entries.remove(&key);
                }
            }
        }
        entries.insert(token.into(), Entry { value, exp });
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_until_exp_plus_leeway_then_dropped() {
        let cache = SignatureCache::new(10);
        cache.insert("t1", 1000, Arc::new("claims"), 900);
        assert_eq!(cache.get("t1", 999, 0).as_deref(), Some(&"claims"));
        assert_eq!(cache.get("t1", 1000, 0).as_deref(), Some(&"claims"));
        assert_eq!(cache.get("t1", 1030, 60).as_deref(), Some(&"claims"));
        assert!(cache.get("t1", 1001, 0).is_none(), "expired");
        assert!(cache.is_empty(), "an expired entry is dropped on the miss");
        assert!(cache.get("t2", 900, 0).is_none(), "never verified");
    }

    #[test]
    fn only_the_exact_token_hits() {
        let cache = SignatureCache::new(10);
        cache.insert("aaa.bbb.ccc", 1000, Arc::new(1), 900);
        assert!(cache.get("aaa.bbb.ccd", 900, 0).is_none());
        assert!(cache.get("aaa.bbb.cc", 900, 0).is_none());
        assert!(cache.get("aaa.bbb.ccc", 900, 0).is_some());
    }

    #[test]
    fn bounded_expired_entries_go_first() {
        let cache = SignatureCache::new(3);
        cache.insert("old", 100, Arc::new(0), 50);
        cache.insert("a", 1000, Arc::new(1), 50);
        cache.insert("b", 1000, Arc::new(2), 50);
        // At capacity: the expired "old" makes room.
        cache.insert("c", 1000, Arc::new(3), 500);
        assert_eq!(cache.len(), 3);
        assert!(cache.get("old", 50, 0).is_none());
        for t in ["a", "b", "c"] {
            assert!(cache.get(t, 500, 0).is_some(), "{t} kept");
        }
        // Full of live tokens: still bounded, and the newest is in.
        cache.insert("d", 1000, Arc::new(4), 500);
        assert_eq!(cache.len(), 3);
        assert!(cache.get("d", 500, 0).is_some());
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let cache = SignatureCache::new(0);
        cache.insert("t", 1000, Arc::new(()), 0);
        assert!(cache.get("t", 0, 0).is_none());
    }
}
