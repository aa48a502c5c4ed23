//! `GET /getToken?ttl=SECONDS` (seed 003): a token from the token endpoint, fetched with credentials
//! that never leave the server. It sits behind the App Router and asks for a valid user JWT with
//! the token provider's scope (seed 003's "additional protection"; 403 without it).
//!
//! Two flavours, chosen by the credentials file's keys (see `common::properties`):
//! - **HERE** (`here.*` keys, the seed's own): an OAuth 1.0a HMAC-SHA256 signed request with
//!   `expiresIn` = the ttl class (below); the token is cached per class until its own expiry minus
//!   a margin, one fetch per class at a time.
//! - **XSUAA** (no file, or other prefixes): OAuth2 client credentials; `ttl` is not sent (XSUAA
//!   decides the lifetime) and only bounds how long the cached token is handed out.

use crate::error::Error;
use crate::state::AppState;
use crate::tokens::{DEFAULT_TTL, MAX_TTL};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::time::Duration;

/// `ttl`: optional integer seconds in 1..=86400, default 3600.
pub fn parse_ttl(query: &HashMap<String, String>) -> Result<Duration, Error> {
    let Some(raw) = query.get("ttl") else {
        return Ok(Duration::from_secs(DEFAULT_TTL));
    };
    let seconds: u64 = raw.trim().parse().map_err(|_| {
        Error::BadTtl(format!(
            "\"{}\" is not a whole number of seconds (1..{MAX_TTL})",
            raw.chars().take(40).collect::<String>()
        ))
    })?;
    if !(1..=MAX_TTL).contains(&seconds) {
        return Err(Error::BadTtl(format!(
            "{seconds} is outside 1..{MAX_TTL} seconds"
        )));
    }
    Ok(Duration::from_secs(seconds))
}

pub async fn get_token(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let user = state.auth.authenticate(&headers).await?;
    let scope = &state.config.token_provider_scope;
    if !user.claims.has_scope(scope) {
        return Err(Error::MissingScope(scope.clone()));
    }
    let ttl = parse_ttl(&query)?;
    let token = state.token_provider.token(ttl).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        token.access_token.expose().to_owned(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttl(v: &str) -> Result<Duration, Error> {
        parse_ttl(&HashMap::from([("ttl".to_owned(), v.to_owned())]))
    }

    #[test]
    fn ttl_is_an_integer_in_range() {
        assert_eq!(
            parse_ttl(&HashMap::new()).unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(ttl("600").unwrap(), Duration::from_secs(600));
        assert_eq!(ttl("86400").unwrap(), Duration::from_secs(86400));
        for bad in ["0", "86401", "-1", "abc", "1.5", "", "1e3"] {
            assert!(matches!(ttl(bad), Err(Error::BadTtl(_))), "{bad}");
        }
    }
}
