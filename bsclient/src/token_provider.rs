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

use crate::AppState;
use crate::config::{BsClientConfig, TokenSource};
use crate::error::Error;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use common::here::HereTokenClient;
use common::oauth::{OAuthClient, TokenResponse};
use common::properties::Flavour;
use common::token_cache::{Expiring, TokenCache};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const DEFAULT_TTL: u64 = 3600;
pub const MAX_TTL: u64 = 86_400;

/// A token is handed out no later than this before its expiry, so the caller can still use it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

pub enum TokenProvider {
    OAuth2 {
        client: OAuthClient,
        scope: Option<String>,
        cache: TokenCache<(), TokenResponse>,
    },
    Here {
        client: HereTokenClient,
        /// Keyed by ttl class: at most [`ttl_classes`] entries.
        cache: TokenCache<u64, HereToken>,
        /// `BSCLIENT_DISABLE_CACHE`: one signed request per call (the benchmark's cold case).
        cached: bool,
    },
}

/// A HERE token with the moment it stops being handed out.
#[derive(Clone)]
pub struct HereToken {
    pub token: TokenResponse,
    usable_until: Instant,
}

impl Expiring for HereToken {
    fn expires_at(&self) -> Instant {
        self.usable_until
    }
}

impl HereToken {
    fn new(token: TokenResponse) -> Self {
        let lifetime = Duration::from_secs(token.expires_in);
        // 30 s, but never more than a tenth of a short token's life (ttl=10 is still cached for 9 s).
        let margin = EXPIRY_MARGIN.min(lifetime / 10);
        HereToken {
            usable_until: token.received_at + lifetime - margin,
            token,
        }
    }
}

/// The ttl class a requested ttl falls in: the ttl itself up to a minute, whole minutes up to an
/// hour, quarter hours above, always rounded down so no caller gets a token meant to live longer
/// than it asked for (by more than the rounding). Bounds the cache to [`ttl_classes`] entries
/// whatever callers send, and lets callers asking 3600 and 3599 share one token.
pub fn ttl_class(ttl: u64) -> u64 {
    match ttl {
        0..=60 => ttl.max(1),
        61..=3600 => ttl / 60 * 60,
        _ => (ttl / 900 * 900).min(MAX_TTL),
    }
}

/// How many classes there are (60 + 59 + 92).
pub fn ttl_classes() -> usize {
    60 + 59 + ((MAX_TTL - 3600) / 900) as usize
}

impl TokenProvider {
    pub fn new(config: &BsClientConfig, http: reqwest::Client) -> Self {
        match &config.token_source {
            TokenSource::File { credentials, .. } if credentials.flavour == Flavour::Here => {
                let url = url::Url::parse(&credentials.token_endpoint_url)
                    .expect("checked when the credentials file was read");
                TokenProvider::Here {
                    client: HereTokenClient::new(
                        url,
                        &credentials.access_key_id,
                        credentials.access_key_secret.clone(),
                        credentials.token_scope.clone(),
                        http,
                    ),
                    cache: TokenCache::new(Duration::ZERO),
                    cached: !config.disable_cache,
                }
            }
            TokenSource::File { credentials, .. } => TokenProvider::OAuth2 {
                client: OAuthClient::with_token_url(
                    &credentials.token_endpoint_url,
                    &credentials.access_key_id,
                    credentials.access_key_secret.clone(),
                    http,
                ),
                scope: credentials.token_scope.clone(),
                cache: TokenCache::new(EXPIRY_MARGIN),
            },
            TokenSource::XsuaaBinding => TokenProvider::OAuth2 {
                client: OAuthClient::from_xsuaa(&config.xsuaa, http),
                scope: None,
                cache: TokenCache::new(EXPIRY_MARGIN),
            },
        }
    }

    fn cached(&self) -> bool {
        match self {
            TokenProvider::OAuth2 { .. } => true,
            TokenProvider::Here { cached, .. } => *cached,
        }
    }

    pub fn flavour(&self) -> Flavour {
        match self {
            TokenProvider::OAuth2 { .. } => Flavour::OAuth2,
            TokenProvider::Here { .. } => Flavour::Here,
        }
    }

    async fn token(&self, ttl: Duration) -> Result<TokenResponse, Error> {
        match self {
            TokenProvider::OAuth2 {
                client,
                scope,
                cache,
            } => {
                let client = client.clone();
                let scope = scope.clone();
                cache
                    .get_or_fetch((), Some(ttl), move || async move {
                        tracing::info!("requesting a new token for /getToken");
                        client
                            .client_credentials(scope.as_deref())
                            .await
                            .map_err(Error::from_token_endpoint)
                    })
                    .await
            }
            TokenProvider::Here { client, .. } if !self.cached() => client
                .request_token(ttl_class(ttl.as_secs()))
                .await
                .map_err(Error::from_token_endpoint),
            TokenProvider::Here { client, cache, .. } => {
                let class = ttl_class(ttl.as_secs());
                let client = client.clone();
                let token = cache
                    .get_or_fetch(class, None, move || async move {
                        tracing::info!(
                            expires_in = class,
                            "requesting a new HERE token for /getToken"
                        );
                        client
                            .request_token(class)
                            .await
                            .map(HereToken::new)
                            .map_err(Error::from_token_endpoint)
                    })
                    .await?;
                Ok(token.token)
            }
        }
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

    #[test]
    fn ttl_classes_round_down_and_are_bounded() {
        assert_eq!(ttl_class(1), 1);
        assert_eq!(ttl_class(60), 60);
        assert_eq!(ttl_class(61), 60);
        assert_eq!(ttl_class(3599), 3540);
        assert_eq!(ttl_class(3600), 3600);
        assert_eq!(ttl_class(4000), 3600);
        assert_eq!(ttl_class(86_400), 86_400);
        let classes: std::collections::BTreeSet<u64> = (1..=MAX_TTL).map(ttl_class).collect();
        assert_eq!(classes.len(), ttl_classes());
        assert!((1..=MAX_TTL).all(|t| ttl_class(t) <= t));
    }
}
