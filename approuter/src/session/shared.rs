//! Interned strings: zone ids and scope lists are the same for many sessions, so each distinct
//! value is kept once per [`Interner`] and sessions hold an `Arc` to it.
//!
//! What it buys: part of the per-session savings of the commit that made sessions small (interned
//! zone and scopes, boxed pending logins, 16-byte store entries), which together with
//! `token_pack` keeps 10,000 logged-in sessions in 18.4 MiB RSS (README, Benchmarks; measured by
//! `cargo test -p approuter --test session_memory -- --ignored`); this part alone was not measured
//! separately. To switch it off: make [`Interner::intern`] return `Shared::from(value)`.

use super::lock::lock;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

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
pub struct Interner(Mutex<HashSet<Shared>>);

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
