//! Sessions in Redis (`tower-sessions-redis-store`), shared by every instance of the router: the
//! record codec (the session's data as JSON under one key) and the store calls.

use super::data::{Loaded, SessionData};
use crate::error::Error;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::Pool;

const REDIS_DATA_KEY: &str = "approuter";

pub(super) async fn load(r: &RedisStore<Pool>, id: &Id) -> Result<Option<Loaded>, Error> {
    let Some(record) = r.load(id).await? else {
        return Ok(None);
    };
    Ok(Some(Loaded {
        data: Arc::new(decode(&record)),
        expires: SystemTime::from(record.expiry_date),
    }))
}

pub(super) async fn create(
    r: &RedisStore<Pool>,
    data: &SessionData,
    ttl: Duration,
) -> Result<Id, Error> {
    let mut record = encode(Id::default(), data, ttl)?;
    r.create(&mut record).await?;
    Ok(record.id)
}

/// Writes only over an existing session (`SET XX`), so a deleted one stays deleted.
pub(super) async fn save(
    r: &RedisStore<Pool>,
    id: Id,
    data: &SessionData,
    ttl: Duration,
) -> Result<(), Error> {
    let record = encode(id, data, ttl)?;
    Ok(r.save(&record).await?)
}

pub(super) async fn delete(r: &RedisStore<Pool>, id: &Id) -> Result<(), Error> {
    Ok(r.delete(id).await?)
}

fn decode(record: &Record) -> SessionData {
    match record.data.get(REDIS_DATA_KEY) {
        Some(value) => serde_json::from_value::<SessionData>(value.clone()).unwrap_or_else(|e| {
            // A record another version wrote: start the session afresh, never fail the request.
            tracing::warn!(error = %e, "unreadable session record; treating it as empty");
            SessionData::default()
        }),
        None => SessionData::default(),
    }
}

fn encode(id: Id, data: &SessionData, ttl: Duration) -> Result<Record, Error> {
    let value = serde_json::to_value(data).map_err(|e| Error::InternalCause {
        what: "session encoding".into(),
        source: e.into(),
    })?;
    let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::hours(1));
    Ok(Record {
        id,
        data: HashMap::from([(REDIS_DATA_KEY.to_string(), value)]),
        expiry_date: time::OffsetDateTime::now_utc() + ttl,
    })
}
