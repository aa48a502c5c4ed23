//! `GET /getToken?ttl=SECONDS` (seed 003): a token from the token endpoint, fetched with credentials
//! that never leave the server, cached until it expires or the caller's `ttl` runs out.
//! It sits behind the App Router, so it asks for a valid user JWT (seed 003's "additional protection").

use crate::AppState;
use crate::config::{BsClientConfig, TokenSource};
use crate::error::Error;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use common::oauth::{OAuthClient, TokenResponse};
use common::token_cache::TokenCache;
use std::collections::HashMap;
use std::time::Duration;

pub const DEFAULT_TTL: u64 = 3600;
pub const MAX_TTL: u64 = 86_400;

/// A token is handed out no later than this before its expiry, so the caller can still use it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

pub struct TokenProvider {
    client: OAuthClient,
    scope: Option<String>,
    cache: TokenCache<(), TokenResponse>,
}

impl TokenProvider {
    pub fn new(config: &BsClientConfig, http: reqwest::Client) -> Self {
        let (client, scope) = match &config.token_source {
            TokenSource::File { credentials, .. } => (
                OAuthClient::with_token_url(
                    &credentials.token_endpoint_url,
                    &credentials.access_key_id,
                    credentials.access_key_secret.clone(),
                    http,
                ),
                credentials.token_scope.clone(),
            ),
            TokenSource::XsuaaBinding => (OAuthClient::from_xsuaa(&config.xsuaa, http), None),
        };
        TokenProvider {
            client,
            scope,
            cache: TokenCache::new(EXPIRY_MARGIN),
        }
    }

    async fn token(&self, ttl: Duration) -> Result<TokenResponse, Error> {
        let client = self.client.clone();
        let scope = self.scope.clone();
        self.cache
            .get_or_fetch((), Some(ttl), move || async move {
                tracing::info!("requesting a new token for /getToken");
                client
                    .client_credentials(scope.as_deref())
                    .await
                    .map_err(Error::from_token_endpoint)
            })
            .await
    }
}

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
    state.auth.authenticate(&headers).await?;
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
