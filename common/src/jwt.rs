//! Validation of XSUAA access tokens: RS256 only, key from the JWKS (cached by `kid`) or the
//! binding's `verificationkey`, `exp` without leeway and `nbf` with 60 s leeway, issuer, zone and
//! audience, plus an exact scope check.

mod claims;
mod decode;
mod error;
mod keys;

pub use claims::Claims;
use decode::decode_header;
pub use decode::decode_unverified;
pub use error::JwtError;
pub use keys::{JwksPolicy, MAX_KEY_AGE, REFRESH_INTERVAL};

use crate::cf::XsuaaCredentials;
use jsonwebtoken::{DecodingKey, Validation};
use keys::JwksCache;
use std::sync::Arc;

/// Clock skew tolerated on `nbf`, as `@sap/xssec`. Not on `exp` (where `@sap/xssec` allows it
/// too): XSUAA refuses an expired token in the token exchange without leeway, so a token past
/// `exp` gets its 401 here, which makes the App Router log the user in again, instead of a 502
/// from the failed exchange further on.
pub const LEEWAY_SECS: u64 = 60;

enum KeySource {
    Offline(DecodingKey),
    Jwks(JwksCache),
}

struct Inner {
    clientid: String,
    xsappname: String,
    /// host and port of the binding's `url`
    url_authority: Option<(String, u16)>,
    /// host and port of `uaadomain` (port 443 when not given)
    uaadomain: Option<(String, u16)>,
    zone_id: Option<String>,
    /// The binding's `verificationkey`, for tokens without `kid`.
    fallback_key: Option<DecodingKey>,
    keys: KeySource,
}

/// Validates XSUAA access tokens for one xsuaa binding. Cheap to clone.
#[derive(Clone)]
pub struct JwtValidator {
    inner: Arc<Inner>,
}

fn authority(url: &url::Url) -> Option<(String, u16)> {
    Some((
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?,
    ))
}

fn uaadomain_authority(uaadomain: &str) -> Option<(String, u16)> {
    let d = uaadomain.trim().trim_end_matches('/');
    let d = d.split_once("://").map_or(d, |(_, rest)| rest);
    authority(&url::Url::parse(&format!("https://{d}")).ok()?)
}

fn same_or_subdomain(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

impl JwtValidator {
    fn build(creds: &XsuaaCredentials, keys: KeySource) -> Self {
        JwtValidator {
            inner: Arc::new(Inner {
                clientid: creds.clientid.clone(),
                xsappname: creds.xsappname.clone(),
                url_authority: url::Url::parse(&creds.url)
                    .ok()
                    .as_ref()
                    .and_then(authority),
                uaadomain: uaadomain_authority(&creds.uaadomain),
                zone_id: creds.zone_id().map(str::to_owned),
                fallback_key: creds
                    .verificationkey
                    .as_deref()
                    .and_then(|pem| keys::decoding_key_from_pem(pem).ok()),
                keys,
            }),
        }
    }

    /// Keys from `{url}/token_keys` (or the token's `jku` when its host is `uaadomain` or a subdomain
    /// of it), cached by `kid`; an unknown `kid` triggers one refresh, at most every 10 s, and the
    /// set is fetched again when older than 10 min (keys no longer published are dropped).
    pub fn from_xsuaa(creds: &XsuaaCredentials, http: reqwest::Client) -> Self {
        Self::from_xsuaa_with_policy(creds, http, JwksPolicy::default())
    }

    /// [`from_xsuaa`](Self::from_xsuaa) with other refresh intervals.
    pub fn from_xsuaa_with_policy(
        creds: &XsuaaCredentials,
        http: reqwest::Client,
        policy: JwksPolicy,
    ) -> Self {
        Self::build(
            creds,
            KeySource::Jwks(JwksCache::new(http, creds.token_keys_url(), policy)),
        )
    }

    /// Whether the key that signed `claims` (validated earlier by this validator) is still
    /// published: for callers that remember validated tokens. The key set is refreshed first when
    /// it is older than its maximum age.
    pub async fn key_still_published(&self, claims: &Claims) -> bool {
        match (&self.inner.keys, claims.kid.as_deref()) {
            (KeySource::Jwks(cache), Some(kid)) => cache.is_published(kid).await,
            // The binding's own key (offline, or a token without kid) cannot be withdrawn.
            _ => true,
        }
    }

    /// Offline: only the binding's `verificationkey` PEM, no HTTP.
    pub fn with_verification_key(creds: &XsuaaCredentials) -> Result<Self, JwtError> {
        let pem = creds
            .verificationkey
            .as_deref()
            .ok_or_else(|| JwtError::KeyFetch("the xsuaa binding has no verificationkey".into()))?;
        let key = keys::decoding_key_from_pem(pem)
            .map_err(|e| JwtError::KeyFetch(format!("verificationkey: {e}")))?;
        Ok(Self::build(creds, KeySource::Offline(key)))
    }

    fn trusted_jku(&self, jku: &str) -> bool {
        let (Some(domain), Ok(url)) = (&self.inner.uaadomain, url::Url::parse(jku)) else {
            return false;
        };
        matches!(authority(&url), Some((host, port)) if port == domain.1 && same_or_subdomain(&host, &domain.0))
    }

    fn check_issuer(&self, iss: &str) -> Result<(), JwtError> {
        let wrong = || JwtError::WrongIssuer(iss.to_owned());
        let parsed = if iss.contains("://") {
            url::Url::parse(iss)
        } else {
            url::Url::parse(&format!("https://{iss}"))
        };
        let (host, port) = parsed.ok().as_ref().and_then(authority).ok_or_else(wrong)?;
        let binding_host = self
            .inner
            .url_authority
            .as_ref()
            .is_some_and(|(h, p)| *h == host && *p == port);
        let zone_host = self
            .inner
            .uaadomain
            .as_ref()
            .is_some_and(|(d, p)| *p == port && same_or_subdomain(&host, d));
        if binding_host || zone_host {
            Ok(())
        } else {
            Err(wrong())
        }
    }

    fn check_audience(&self, claims: &Claims) -> Result<(), JwtError> {
        let inner = &self.inner;
        if claims.client_id() == Some(inner.clientid.as_str()) {
            return Ok(());
        }
        let audiences = claims.audiences();
        if audiences
            .iter()
            .any(|a| *a == inner.clientid || *a == inner.xsappname)
        {
            Ok(())
        } else {
            Err(JwtError::WrongAudience(if audiences.is_empty() {
                "none".into()
            } else {
                audiences.join(", ")
            }))
        }
    }

    /// Validates signature, `exp`/`nbf`, issuer, zone and audience.
    pub async fn validate(&self, token: &str) -> Result<Claims, JwtError> {
        let header = decode_header(token)?;
        let alg = header
            .get("alg")
            .and_then(|a| a.as_str())
            .unwrap_or("(missing)");
        if alg != "RS256" {
            return Err(JwtError::UnsupportedAlgorithm(alg.to_owned()));
        }
        let kid = header.get("kid").and_then(|k| k.as_str());
        let jku = header.get("jku").and_then(|k| k.as_str());
        let key = match (&self.inner.keys, kid) {
            (KeySource::Offline(key), _) => key.clone(),
            (KeySource::Jwks(cache), Some(kid)) => {
                let jku = jku.filter(|j| self.trusted_jku(j));
                cache.key(kid, jku).await?
            }
            (KeySource::Jwks(_), None) => self
                .inner
                .fallback_key
                .clone()
                .ok_or_else(|| JwtError::Malformed("token header has no kid".into()))?,
        };

        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.leeway = LEEWAY_SECS;
        // `exp` is checked below, without leeway.
        validation.validate_exp = false;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        let mut claims = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(map_jwt_error)?
            .claims;
        claims.kid = kid.map(str::to_owned);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if claims.exp <= i64::try_from(now).unwrap_or(i64::MAX) {
            return Err(JwtError::Expired);
        }

        self.check_issuer(&claims.iss)?;
        if let Some(zone) = &self.inner.zone_id
            && claims.zid.as_deref() != Some(zone.as_str())
        {
            return Err(JwtError::WrongZone(
                claims.zid.clone().unwrap_or_else(|| "no zid".into()),
            ));
        }
        self.check_audience(&claims)?;
        Ok(claims)
    }

    /// [`validate`](Self::validate), then an exact check for `scope`.
    pub async fn validate_with_scope(&self, token: &str, scope: &str) -> Result<Claims, JwtError> {
        let claims = self.validate(token).await?;
        if claims.has_scope(scope) {
            Ok(claims)
        } else {
            Err(JwtError::MissingScope(scope.to_owned()))
        }
    }
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> JwtError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::InvalidSignature => JwtError::BadSignature,
        K::ExpiredSignature => JwtError::Expired,
        K::ImmatureSignature => JwtError::NotYetValid,
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => {
            JwtError::UnsupportedAlgorithm(e.to_string())
        }
        K::MissingRequiredClaim(c) => JwtError::Malformed(format!("missing claim \"{c}\"")),
        // The key is RS256 by construction; a key/crypto error here means the token does not verify.
        K::InvalidRsaKey(_) | K::InvalidKeyFormat | K::Crypto(_) => JwtError::BadSignature,
        _ => JwtError::Malformed(e.to_string()),
    }
}

#[cfg(test)]
mod tests;
