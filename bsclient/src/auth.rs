//! The user's JWT, as the App Router forwards it (`forwardAuthToken: true` -> `Authorization: Bearer`).

use crate::error::Error;
use axum::http::{HeaderMap, header};
use common::jwt::{Claims, JwtValidator};

/// A validated user token. The raw token is kept only to pass it on (`X-user-token`) and to derive
/// the cache key; it is never logged.
pub struct UserToken {
    pub raw: String,
    pub claims: Claims,
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

pub async fn authenticate(
    validator: &JwtValidator,
    headers: &HeaderMap,
) -> Result<UserToken, Error> {
    let raw = bearer(headers)?;
    let claims = validator.validate(raw).await.map_err(Error::from_jwt)?;
    Ok(UserToken {
        raw: raw.to_owned(),
        claims,
    })
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
