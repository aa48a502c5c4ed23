//! Verification keys: the JWKS at `{url}/token_keys` (or a trusted `jku`), cached by `kid`,
//! refreshed on an unknown `kid` at most once per [`REFRESH_INTERVAL`] and before use when older
//! than [`MAX_KEY_AGE`]; each refresh replaces the whole set, so withdrawn keys are dropped.
//! Or one offline PEM key.
//! Not `jsonwebtoken::jwk::JwkSet`: XSUAA's keys may come as a PEM `value` only, which it cannot read.

use super::error::JwtError;
use crate::error_chain;
use crate::oauth::snippet;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// How long a fetched key set is used before it is fetched again (lazily, on the next token).
pub const MAX_KEY_AGE: Duration = Duration::from_secs(10 * 60);

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    kty: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

/// XSUAA's `verificationkey` and JWKS `value` are PEM, sometimes without line breaks; re-wrap so
/// the PEM parser accepts them.
pub fn decoding_key_from_pem(pem: &str) -> Result<DecodingKey, String> {
    let pem = pem.replace("\\n", "\n");
    let (label, body) = ["PUBLIC KEY", "RSA PUBLIC KEY"]
        .iter()
        .find_map(|label| {
            let begin = format!("-----BEGIN {label}-----");
            let end = format!("-----END {label}-----");
            let start = pem.find(&begin)? + begin.len();
            let stop = pem[start..].find(&end)? + start;
            Some((*label, &pem[start..stop]))
        })
        .ok_or("not a PEM public key")?;
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let wrapped: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let normalized = format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        wrapped.join("\n")
    );
    DecodingKey::from_rsa_pem(normalized.as_bytes()).map_err(|e| e.to_string())
}

fn decoding_key(jwk: &Jwk) -> Option<DecodingKey> {
    if jwk.kty.as_deref().is_some_and(|k| k != "RSA") {
        return None;
    }
    if let (Some(n), Some(e)) = (&jwk.n, &jwk.e)
        && let Ok(key) = DecodingKey::from_rsa_components(n, e)
    {
        return Some(key);
    }
    decoding_key_from_pem(jwk.value.as_deref()?).ok()
}

/// When the key set is fetched again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksPolicy {
    /// An unknown `kid` causes a refresh at most this often (a stream of forged `kid`s must not
    /// turn into a stream of requests to XSUAA).
    pub min_refresh_interval: Duration,
    /// A key set older than this is fetched again before it is used, so a key XSUAA withdrew
    /// stops being trusted within this time even when no token with a new `kid` arrives.
    pub max_age: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        JwksPolicy {
            min_refresh_interval: REFRESH_INTERVAL,
            max_age: MAX_KEY_AGE,
        }
    }
}

/// The keys of the last successful fetch; a refresh replaces them all, so keys that XSUAA no
/// longer publishes are dropped.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

pub struct JwksCache {
    http: reqwest::Client,
    default_url: String,
    policy: JwksPolicy,
    keys: Mutex<KeySet>,
    /// Serialises refreshes so a burst of tokens with a new `kid` causes one fetch.
    refresh: tokio::sync::Mutex<LastRefresh>,
}

#[derive(Default)]
struct LastRefresh {
    at: Option<Instant>,
    /// Repeated while rate-limited, so a key endpoint that is down is reported as such.
    error: Option<JwtError>,
}

impl JwksCache {
    pub fn new(http: reqwest::Client, default_url: String, policy: JwksPolicy) -> Self {
        JwksCache {
            http,
            default_url,
            policy,
            keys: Mutex::new(KeySet::default()),
            refresh: tokio::sync::Mutex::new(LastRefresh::default()),
        }
    }

    fn set(&self) -> std::sync::MutexGuard<'_, KeySet> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        self.set().keys.get(kid).cloned()
    }

    fn is_stale(&self) -> bool {
        self.set()
            .fetched_at
            .is_some_and(|at| at.elapsed() >= self.policy.max_age)
    }

    /// The key for `kid`. A key set older than [`JwksPolicy::max_age`] is fetched again first;
    /// an unknown `kid` causes a fetch (from `jku` when trusted, else the default URL) when the
    /// last one is older than [`JwksPolicy::min_refresh_interval`].
    pub async fn key(&self, kid: &str, jku: Option<&str>) -> Result<DecodingKey, JwtError> {
        if self.is_stale() {
            self.refresh_stale(jku).await;
        }
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last = self.refresh.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if last
            .at
            .is_some_and(|t| t.elapsed() < self.policy.min_refresh_interval)
        {
            tracing::debug!(
                kid,
                "unknown kid, JWKS refreshed recently: not fetching again"
            );
            return Err(last
                .error
                .clone()
                .unwrap_or_else(|| JwtError::UnknownKid(kid.to_owned())));
        }
        self.refresh_locked(&mut last, jku).await?;
        self.cached(kid)
            .ok_or_else(|| JwtError::UnknownKid(kid.to_owned()))
    }

    /// Whether `kid` is still published (after refreshing a stale key set): a token validated
    /// earlier and remembered must not outlive the withdrawal of its key.
    pub async fn is_published(&self, kid: &str) -> bool {
        if self.is_stale() {
            self.refresh_stale(None).await;
        }
        self.set().keys.contains_key(kid)
    }

    /// Fetches a key set that has grown too old. When XSUAA cannot be reached the old keys stay
    /// (a key endpoint that is down must not log everybody out); the next attempt waits for
    /// [`JwksPolicy::min_refresh_interval`].
    async fn refresh_stale(&self, jku: Option<&str>) {
        let mut last = self.refresh.lock().await;
        if !self.is_stale()
            || last
                .at
                .is_some_and(|t| t.elapsed() < self.policy.min_refresh_interval)
        {
            return;
        }
        if let Err(e) = self.refresh_locked(&mut last, jku).await {
            tracing::warn!(error = %e, "periodic JWKS refresh failed: keeping the keys fetched before");
        }
    }

    async fn refresh_locked(
        &self,
        last: &mut LastRefresh,
        jku: Option<&str>,
    ) -> Result<(), JwtError> {
        last.at = Some(Instant::now());
        let fetched = match jku {
            Some(jku) if jku != self.default_url => match self.fetch(jku).await {
                Ok(keys) => Ok(keys),
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS from jku failed, using the binding's token_keys");
                    self.fetch(&self.default_url).await
                }
            },
            _ => self.fetch(&self.default_url).await,
        };
        last.error = fetched.as_ref().err().cloned();
        let fetched = fetched?;
        let mut set = self.set();
        let withdrawn = set
            .keys
            .keys()
            .filter(|kid| !fetched.contains_key(*kid))
            .count();
        if withdrawn > 0 {
            tracing::info!(
                withdrawn,
                "JWKS refresh: keys no longer published are dropped"
            );
        }
        set.keys = fetched;
        set.fetched_at = Some(Instant::now());
        Ok(())
    }

    #[tracing::instrument(name = "jwks_fetch", skip(self))]
    async fn fetch(&self, url: &str) -> Result<HashMap<String, DecodingKey>, JwtError> {
        let fail = |reason: String| JwtError::KeyFetch(format!("{url}: {reason}"));
        let resp = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                fail(if e.is_timeout() {
                    "timeout".into()
                } else {
                    error_chain(&e)
                })
            })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| fail(error_chain(&e)))?;
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}: {}", snippet(&body))));
        }
        let jwks: Jwks =
            serde_json::from_str(&body).map_err(|e| fail(format!("not a JWKS: {e}")))?;
        let keys: HashMap<String, DecodingKey> = jwks
            .keys
            .iter()
            .filter_map(|k| Some((k.kid.clone()?, decoding_key(k)?)))
            .collect();
        tracing::debug!(url, count = keys.len(), "JWKS fetched");
        Ok(keys)
    }
}
