//! Where sessions are kept: in this process or in Redis.

use super::data::{Loaded, SessionData};
use super::memory::MemoryStore;
use super::redis;
use crate::error::Error;
use std::sync::Arc;
use std::time::Duration;
use tower_sessions::session::Id;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::Pool;

pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore<Pool>),
}

impl Store {
    pub(super) async fn load(&self, id: &Id) -> Result<Option<Loaded>, Error> {
        match self {
            Store::Memory(m) => Ok(m.load(id)),
            Store::Redis(r) => redis::load(r, id).await,
        }
    }

    pub(super) async fn create(&self, data: Arc<SessionData>, ttl: Duration) -> Result<Id, Error> {
        match self {
            Store::Memory(m) => Ok(m.create(data, ttl)),
            Store::Redis(r) => redis::create(r, &data, ttl).await,
        }
    }

    /// Writes only over an existing session, so a deleted one stays deleted.
    pub(super) async fn save(
        &self,
        id: Id,
        data: Arc<SessionData>,
        ttl: Duration,
    ) -> Result<(), Error> {
        match self {
            Store::Memory(m) => {
                m.save_existing(id, data, ttl);
                Ok(())
            }
            Store::Redis(r) => redis::save(r, id, &data, ttl).await,
        }
    }

    pub(super) async fn delete(&self, id: &Id) -> Result<(), Error> {
        match self {
            Store::Memory(m) => {
                m.delete(id);
                Ok(())
            }
            Store::Redis(r) => redis::delete(r, id).await,
        }
    }
}
