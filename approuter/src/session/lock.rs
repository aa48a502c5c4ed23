//! One async mutex per session id while somebody holds it, so changes to a session (refresh,
//! login, CSRF token, logout) in this process happen one after another; and the poison-tolerant
//! `std` lock the stores share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tower_sessions::session::Id;

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a HashMap half-updated in a way we care about.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
pub(super) struct Locks(Mutex<HashMap<Id, Arc<tokio::sync::Mutex<()>>>>);

/// Held while a session is changed; the entry of an id nobody waits for goes with the last guard.
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
    pub(super) async fn lock(&self, id: Id) -> SessionLock<'_> {
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
