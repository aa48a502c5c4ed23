//! The HERE endpoint's memory: its config, the nonces seen and the per-process signing key. Below
//! `state`, which holds it, and the handlers in `here`, which use it.

use crate::clock::now;
use crate::config::HereConfig;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Nonces remembered at most (each for at most twice the timestamp window, 16 bytes plus the
/// map's overhead: about 32 MB when full); past this the endpoint answers 429 as HERE does when
/// flooded, rather than grow. A benchmark of cold `/getToken` calls stays well below.
pub const MAX_NONCES: usize = 1_000_000;

pub struct HereStore {
    config: HereConfig,
    /// hash of (access key id, nonce) -> the request's `oauth_timestamp`. A keyed 64-bit hash (per
    /// process random keys): a false "replayed" needs a collision, about 1 in 10^7 when full.
    nonces: Mutex<HashMap<u64, i64>>,
    hasher: std::collections::hash_map::RandomState,
    pub(super) signing_key: [u8; 32],
}

/// What remembering a nonce found.
pub(super) enum Nonce {
    Fresh,
    Replayed,
    /// [`MAX_NONCES`] reached.
    Full,
}

impl HereStore {
    pub fn new(config: &HereConfig) -> Self {
        HereStore {
            config: config.clone(),
            nonces: Mutex::new(HashMap::new()),
            hasher: std::collections::hash_map::RandomState::new(),
            signing_key: rand::random(),
        }
    }

    pub fn config(&self) -> &HereConfig {
        &self.config
    }

    fn nonces(&self) -> MutexGuard<'_, HashMap<u64, i64>> {
        self.nonces.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many nonces are remembered now (for the memory-bound test).
    pub fn remembered_nonces(&self) -> usize {
        self.nonces().len()
    }

    /// Remembers `nonce` for `key`.
    pub(super) fn use_nonce(&self, key: &str, nonce: &str, timestamp: i64) -> Nonce {
        let window = self.config.timestamp_window_seconds as i64;
        let mut nonces = self.nonces();
        let entry = std::hash::BuildHasher::hash_one(&self.hasher, (key, nonce));
        if nonces.contains_key(&entry) {
            return Nonce::Replayed;
        }
        if nonces.len() >= MAX_NONCES / 2 {
            let oldest_allowed = now() - window;
            nonces.retain(|_, ts| *ts >= oldest_allowed);
        }
        if nonces.len() >= MAX_NONCES {
            return Nonce::Full;
        }
        nonces.insert(entry, timestamp);
        Nonce::Fresh
    }
}
