//! XSUAA's token signing keys: RS256, published at `/token_keys` with `kid`, `n`, `e` and the
//! PEM `value`. The first key signs; rotated-out keys stay published until dropped.
//! Not `jsonwebtoken::jwk`: its `Jwk` has no place for XSUAA's `value` PEM, which SAP's libraries read.

use crate::error::Error;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::{Arc, RwLock};

pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// SPKI PEM (`-----BEGIN PUBLIC KEY-----`), the binding's `verificationkey`.
    pub public_pem: String,
    n: String,
    e: String,
}

impl SigningKey {
    pub fn generate() -> Result<Self, Error> {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .map_err(|e| Error::startup("cannot generate an RSA key", e))?;
        Self::from_rsa(key)
    }

    /// A PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) PEM file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::startup(
                format!("{}: cannot read the signing key", path.display()),
                e,
            )
        })?;
        let key = RsaPrivateKey::from_pkcs1_pem(&text)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(&text))
            .map_err(|e| {
                Error::startup(
                    format!(
                        "{}: not an RSA private key in PEM (PKCS#1 or PKCS#8)",
                        path.display()
                    ),
                    e,
                )
            })?;
        Self::from_rsa(key)
    }

    fn from_rsa(key: RsaPrivateKey) -> Result<Self, Error> {
        fn fail(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
            Error::startup("signing key", e)
        }
        let private_pem = key.to_pkcs1_pem(LineEnding::LF).map_err(fail)?;
        let public = RsaPublicKey::from(&key);
        let public_pem = public.to_public_key_pem(LineEnding::LF).map_err(fail)?;
        let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let digest = Sha256::digest(n.as_bytes());
        let kid = format!(
            "default-jwt-key-{}",
            digest
                .iter()
                .take(5)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Ok(Self {
            kid,
            encoding: EncodingKey::from_rsa_pem(private_pem.as_bytes()).map_err(fail)?,
            decoding: DecodingKey::from_rsa_components(&n, &e).map_err(fail)?,
            public_pem,
            n,
            e,
        })
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "RSA", "e": self.e, "use": "sig", "kid": self.kid, "alg": "RS256",
            "value": self.public_pem.trim_end(), "n": self.n
        })
    }
}

#[derive(Clone)]
pub struct KeyRing {
    keys: Arc<RwLock<Vec<Arc<SigningKey>>>>,
}

impl KeyRing {
    pub fn new(first: SigningKey) -> Self {
        Self {
            keys: Arc::new(RwLock::new(vec![Arc::new(first)])),
        }
    }

    pub fn current(&self) -> Arc<SigningKey> {
        self.read()[0].clone()
    }

    pub fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.read().iter().find(|k| k.kid == kid).cloned()
    }

    /// `GET /token_keys`.
    pub fn jwks(&self) -> Value {
        json!({"keys": self.read().iter().map(|k| k.jwk()).collect::<Vec<_>>()})
    }

    /// Makes `key` the signing key; the old ones stay published unless `keep_old` is false.
    pub fn rotate(&self, key: SigningKey, keep_old: bool) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if !keep_old {
            keys.clear();
        }
        keys.insert(0, Arc::new(key));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<SigningKey>>> {
        // A panic while holding the lock cannot leave the list half-written: recover it.
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }
}
