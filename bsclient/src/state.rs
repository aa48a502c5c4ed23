//! What the handlers share. Holds the types of `backend` and `tokens`, which sit below it, so the
//! handlers that take it (`mainentry`, `token_provider`) sit above.

use crate::auth::Authenticator;
use crate::backend::{BackendClient, CacheKey, Target};
use crate::config::BsClientConfig;
use crate::tokens::TokenProvider;
use common::destination::DestinationClient;
use common::jwt::JwtValidator;
use common::token_cache::TokenCache;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// Lookups are refreshed this long before the exchanged token expires, so the Backend API never
/// sees a token in its last seconds.
const LOOKUP_EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: BsClientConfig,
    /// One pooled client for the calls of a cold request and the token provider (keys,
    /// Destination service, tokens).
    pub http: reqwest::Client,
    /// The Backend API call, the only one of a warm request.
    pub backend: BackendClient,
    pub auth: Authenticator,
    pub destinations: DestinationClient,
    pub lookups: TokenCache<CacheKey, Target>,
    pub token_provider: TokenProvider,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(config: BsClientConfig) -> Self {
        let http =
            common::http::client_with_timeouts(config.connect_timeout, config.upstream_timeout);
        let validator = JwtValidator::from_xsuaa(&config.xsuaa, http.clone());
        let auth = Authenticator::new(validator, !config.disable_cache);
        let destinations = DestinationClient::new(&config.destination, http.clone());
        let token_provider = TokenProvider::new(&config, http.clone());
        // Fails only when rustls cannot set up its defaults with ring, which is a broken build.
        let backend = common::http::pooled_client(config.connect_timeout)
            .expect("rustls with ring and its default protocol versions");
        AppState(Arc::new(Inner {
            config,
            http,
            backend,
            auth,
            destinations,
            lookups: TokenCache::new(LOOKUP_EXPIRY_MARGIN),
            token_provider,
        }))
    }
}
