//! Verification keys: the JWKS at `{url}/token_keys` (or a trusted `jku`), cached by `kid` and
//! refreshed on an unknown `kid` at most once per [`REFRESH_INTERVAL`], or one offline PEM key.

use super::JwtError;
use crate::oauth::{error_chain, snippet};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

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

pub struct JwksCache {
    http: reqwest::Client,
    default_url: String,
    keys: Mutex<HashMap<String, DecodingKey>>,
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
    pub fn new(http: reqwest::Client, default_url: String) -> Self {
        JwksCache {
            http,
            default_url,
            keys: Mutex::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(LastRefresh::default()),
        }
    }

    fn cached(&self, kid: &str) -> Option<DecodingKey> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(kid)
            .cloned()
    }

    /// The key for `kid`, fetching the JWKS (from `jku` when trusted, else the default URL) when it
    /// is not cached and the last fetch is older than [`REFRESH_INTERVAL`].
    pub async fn key(&self, kid: &str, jku: Option<&str>) -> Result<DecodingKey, JwtError> {
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        let mut last = self.refresh.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(key);
        }
        if last.at.is_some_and(|t| t.elapsed() < REFRESH_INTERVAL) {
            tracing::debug!(
                kid,
                "unknown kid, JWKS refreshed recently: not fetching again"
            );
            return Err(last
                .error
                .clone()
                .unwrap_or_else(|| JwtError::UnknownKid(kid.to_owned())));
        }
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
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.extend(fetched);
        keys.get(kid)
            .cloned()
            .ok_or_else(|| JwtError::UnknownKid(kid.to_owned()))
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
