//! The Backend API's data: the entities (for the life of the process) and the CSRF tokens. Below
//! `state`, which holds it, and the handlers in `backend`, which use it.

use crate::odata::{Entity, EntityModel};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub struct BackendStore {
    /// Read by every GET while it renders, written by the rare POST/PUT/DELETE.
    entities: RwLock<Vec<Entity>>,
    /// CSRF token per token subject (user id, or client id for technical users).
    csrf: Mutex<HashMap<String, String>>,
}

impl BackendStore {
    pub fn new(model: &EntityModel) -> Self {
        Self {
            entities: RwLock::new(model.data.clone()),
            csrf: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn entities(&self) -> RwLockReadGuard<'_, Vec<Entity>> {
        self.entities.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn entities_mut(&self) -> RwLockWriteGuard<'_, Vec<Entity>> {
        self.entities.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn csrf(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.csrf.lock().unwrap_or_else(|p| p.into_inner())
    }
}
