//! A cache of tokens keyed by caller-defined keys, with single flight: concurrent callers of one key
//! share one upstream fetch. Entries are stale `margin` before the token's own expiry and never older
//! than the caller's `max_age`; a failed fetch is shared with the callers waiting on it but not cached.

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Something with an expiry, like an access token.
pub trait Expiring {
    fn expires_at(&self) -> Instant;
}

/// The flight's error is type-erased because `E` is chosen per call, not per cache.
type ErasedError = Arc<dyn Any + Send + Sync>;
/// `None` when the fetch panicked or its task was cancelled.
type Flight<V> = Shared<BoxFuture<'static, Option<Result<V, ErasedError>>>>;

enum Slot<V> {
    Ready { value: V, fetched_at: Instant },
    Pending { id: u64, flight: Flight<V> },
}

struct State<K, V> {
    slots: HashMap<K, Slot<V>>,
    next_id: u64,
    sweep_at: usize,
}

const MIN_SWEEP_AT: usize = 64;

/// Single-flight token cache. Cheap to clone (shared state).
pub struct TokenCache<K, V> {
    margin: Duration,
    state: Arc<Mutex<State<K, V>>>,
}

impl<K, V> Clone for TokenCache<K, V> {
    fn clone(&self) -> Self {
        TokenCache {
            margin: self.margin,
            state: self.state.clone(),
        }
    }
}

fn lock<K, V>(state: &Mutex<State<K, V>>) -> MutexGuard<'_, State<K, V>> {
    // A panic while holding the lock cannot leave the map inconsistent (every update is a single
    // insert or remove), so a poisoned lock is still usable.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl<K, V> TokenCache<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Expiring + Clone + Send + Sync + 'static,
{
    /// `margin`: how long before a token's own expiry it is no longer handed out.
    pub fn new(margin: Duration) -> Self {
        TokenCache {
            margin,
            state: Arc::new(Mutex::new(State {
                slots: HashMap::new(),
                next_id: 0,
                sweep_at: MIN_SWEEP_AT,
            })),
        }
    }

    fn is_fresh(
        &self,
        value: &V,
        fetched_at: Instant,
        max_age: Option<Duration>,
        now: Instant,
    ) -> bool {
        let expires = value.expires_at();
        let usable_until = expires.checked_sub(self.margin).unwrap_or(expires.min(now));
        now < usable_until && max_age.is_none_or(|m| now < fetched_at + m)
    }

    /// The cached value for `key` when fresh (for this caller's `max_age`), else the result of the
    /// fetch already in flight for `key`, else the result of a new `fetch`. The fetch runs in its own
    /// task, so it completes (and fills the cache) even when every caller waiting on it goes away.
    pub async fn get_or_fetch<F, Fut, E>(
        &self,
        key: K,
        max_age: Option<Duration>,
        fetch: F,
    ) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        E: Clone + Send + Sync + 'static,
    {
        let (flight, fetch) = {
            let mut state = lock(&self.state);
            let now = Instant::now();
            match state.slots.get(&key) {
                Some(Slot::Ready { value, fetched_at })
                    if self.is_fresh(value, *fetched_at, max_age, now) =>
                {
                    return Ok(value.clone());
                }
                Some(Slot::Pending { flight, .. }) => (flight.clone(), Some(fetch)),
                _ => {
                    let flight = self.start_flight(&mut state, key.clone(), fetch());
                    (flight, None)
                }
            }
        };
        match flight.await {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => match e.downcast_ref::<E>() {
                Some(e) => Err(e.clone()),
                // Another caller started this flight with a different error type: fetch on our own.
                None => match fetch {
                    Some(fetch) => fetch().await,
                    None => unreachable!("the flight's starter shares its own error type"),
                },
            },
            None => panic!("token cache: the fetch for this key panicked or was cancelled"),
        }
    }

    fn start_flight<Fut, E>(&self, state: &mut State<K, V>, key: K, fut: Fut) -> Flight<V>
    where
        Fut: Future<Output = Result<V, E>> + Send + 'static,
        E: Clone + Send + Sync + 'static,
    {
        self.sweep(state);
        let id = state.next_id;
        state.next_id += 1;

        let shared_state = Arc::downgrade(&self.state);
        let task_key = key.clone();
        let task = async move {
            // Removes the pending slot if the fetch panics or the task is cancelled mid-way.
            let guard = PendingGuard {
                state: shared_state.clone(),
                key: Some(task_key),
                id,
            };
            let result = AssertUnwindSafe(fut).catch_unwind().await;
            let key = guard.disarm();
            let Some(state) = shared_state.upgrade() else {
                return result
                    .ok()
                    .map(|r| r.map_err(|e| Arc::new(e) as ErasedError));
            };
            let mut state = lock(&state);
            let ours =
                matches!(state.slots.get(&key), Some(Slot::Pending { id: p, .. }) if *p == id);
            match result {
                Ok(Ok(value)) => {
                    if ours {
                        let fetched_at = Instant::now();
                        state.slots.insert(
                            key,
                            Slot::Ready {
                                value: value.clone(),
                                fetched_at,
                            },
                        );
                    }
                    Some(Ok(value))
                }
                Ok(Err(e)) => {
                    if ours {
                        state.slots.remove(&key);
                    }
                    Some(Err(Arc::new(e) as ErasedError))
                }
                Err(_panic) => {
                    if ours {
                        state.slots.remove(&key);
                    }
                    None
                }
            }
        };
        let handle = tokio::spawn(task);
        let flight: Flight<V> = async move { handle.await.ok().flatten() }.boxed().shared();
        state.slots.insert(
            key,
            Slot::Pending {
                id,
                flight: flight.clone(),
            },
        );
        flight
    }

    /// Drops expired entries once the map has grown past a threshold that doubles with its size,
    /// so memory stays bounded by the number of live keys at amortised O(1) cost.
    fn sweep(&self, state: &mut State<K, V>) {
        if state.slots.len() < state.sweep_at {
            return;
        }
        let now = Instant::now();
        state.slots.retain(|_, slot| match slot {
            Slot::Ready { value, fetched_at } => self.is_fresh(value, *fetched_at, None, now),
            Slot::Pending { .. } => true,
        });
        state.sweep_at = (state.slots.len() * 2).max(MIN_SWEEP_AT);
    }

    /// Forgets the cached value for `key` (e.g. after the upstream rejected it). A fetch in flight
    /// still completes for its waiters but is not stored.
    pub fn invalidate(&self, key: &K) {
        lock(&self.state).slots.remove(key);
    }

    /// Number of entries (cached or in flight), including expired ones not yet swept.
    pub fn len(&self) -> usize {
        lock(&self.state).slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct PendingGuard<K: Eq + Hash, V> {
    state: std::sync::Weak<Mutex<State<K, V>>>,
    key: Option<K>,
    id: u64,
}

impl<K: Eq + Hash, V> PendingGuard<K, V> {
    fn disarm(mut self) -> K {
        self.key.take().expect("guard holds its key until disarmed")
    }
}

impl<K: Eq + Hash, V> Drop for PendingGuard<K, V> {
    fn drop(&mut self) {
        let (Some(key), Some(state)) = (self.key.take(), self.state.upgrade()) else {
            return;
        };
        let mut state = lock(&state);
        if matches!(state.slots.get(&key), Some(Slot::Pending { id, .. }) if *id == self.id) {
            state.slots.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests;
