//! The user's JWT, as the App Router forwards it (`forwardAuthToken: true` -> `Authorization: Bearer`).

use crate::error::Error;
use axum::http::{HeaderMap, header};
use common::jwt::{Claims, JwtValidator};
use common::token_cache::{Expiring, TokenCache};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// sha256 of a user token: the key of every per-token cache, so no map holds a raw token.
pub type TokenHash = [u8; 32];

/// A validated user token. The raw token is kept only to pass it on (`X-user-token`); it is
/// never logged.
pub struct UserToken {
    pub raw: String,
    pub hash: TokenHash,
    pub claims: Arc<Claims>,
}

#[derive(Clone)]
struct Validated {
    claims: Arc<Claims>,
    expires_at: Instant,
}

impl Expiring for Validated {
    fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

/// Validates user tokens, remembering each valid token until its `exp` (like `@sap/xssec`'s
/// signature cache): a warm request costs a hash, not an RSA verification and a JSON parse.
/// Invalid tokens are never remembered.
pub struct Authenticator {
    validator: JwtValidator,
    cache: Option<TokenCache<TokenHash, Validated>>,
}

impl Authenticator {
    pub fn new(validator: JwtValidator, cache: bool) -> Self {
        Authenticator {
            validator,
            cache: cache.then(|| TokenCache::new(Duration::ZERO)),
        }
    }

    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<UserToken, Error> {
        let raw = bearer(headers)?;
        let hash: TokenHash = Sha256::digest(raw.as_bytes()).into();
        let claims = match &self.cache {
            None => Arc::new(
                self.validator
                    .validate(raw)
                    .await
                    .map_err(Error::from_jwt)?,
            ),
            Some(cache) => {
                let validator = self.validator.clone();
                let token = raw.to_owned();
                let validated = cache
                    .get_or_fetch(hash, None, move || async move {
                        let claims = validator.validate(&token).await.map_err(Error::from_jwt)?;
                        let left = claims
                            .expires_at()
                            .duration_since(SystemTime::now())
                            .unwrap_or(Duration::ZERO);
                        Ok::<_, Error>(Validated {
                            claims: Arc::new(claims),
                            expires_at: Instant::now() + left,
                        })
                    })
                    .await?;
                // A remembered token stops being valid when XSUAA withdraws its signing key.
                if !self.validator.key_still_published(&validated.claims).await {
                    cache.invalidate(&hash);
                    return Err(Error::InvalidToken(
                        "the token's signing key is no longer published by XSUAA".into(),
                    ));
                }
                validated.claims
            }
        };
        Ok(UserToken {
            raw: raw.to_owned(),
            hash,
            claims,
        })
    }
}

/// `Authorization: Bearer <jwt>` (scheme case-insensitive, as the tutorial's app sends `bearer`).
pub fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Error::MissingToken)?
        .to_str()
        .map_err(|_| Error::InvalidToken("the Authorization header is not ASCII".into()))?;
    let value = value.trim();
    if value.eq_ignore_ascii_case("bearer") {
        return Err(Error::MissingToken);
    }
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        Error::InvalidToken("the Authorization header is not \"Bearer <JWT>\"".into())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::InvalidToken(format!(
            "expected the Bearer scheme, got \"{}\"",
            scheme.chars().take(20).collect::<String>()
        )));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Error::MissingToken);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accepts_bearer_in_any_case() {
        assert_eq!(bearer(&headers("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(&headers("bearer abc")).unwrap(), "abc");
    }

    #[test]
    fn rejects_other_forms() {
        assert!(matches!(
            bearer(&HeaderMap::new()),
            Err(Error::MissingToken)
        ));
        assert!(matches!(
            bearer(&headers("Bearer ")),
            Err(Error::MissingToken)
        ));
        assert!(matches!(
            bearer(&headers("Basic abc")),
            Err(Error::InvalidToken(_))
        ));
        assert!(matches!(
            bearer(&headers("abc")),
            Err(Error::InvalidToken(_))
        ));
    }
}
