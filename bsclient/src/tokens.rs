//! The token source behind `/getToken`: HERE's signed request or XSUAA's client credentials, with
//! their caches. Below both the handler and the shared state that holds it.

use crate::config::{BsClientConfig, TokenSource};
use crate::error::Error;
use common::here::HereTokenClient;
use common::oauth::{OAuthClient, TokenResponse};
use common::properties::Flavour;
use common::token_cache::{Expiring, TokenCache};
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
        /// Keyed by ttl class: at most 211 entries (see [`ttl_class`]).
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
/// than it asked for (by more than the rounding). Bounds the cache to 211 entries (60 + 59 + 92)
/// whatever callers send, and lets callers asking 3600 and 3599 share one token.
pub fn ttl_class(ttl: u64) -> u64 {
    match ttl {
        0..=60 => ttl.max(1),
        61..=3600 => ttl / 60 * 60,
        _ => (ttl / 900 * 900).min(MAX_TTL),
    }
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

    pub async fn token(&self, ttl: Duration) -> Result<TokenResponse, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(classes.len(), 60 + 59 + 92);
        assert!((1..=MAX_TTL).all(|t| ttl_class(t) <= t));
    }
}
