//! Destinations from the bound Destination service: a route's `destination` that the
//! `destinations` env does not define is looked up with "find destination" (instance level
//! first, then subaccount level), as `@sap/approuter` does, and its `URL`, `ProxyType`,
//! `HTML5.ForwardAuthToken`, `HTML5.Timeout`, `HTML5.PreserveHostHeader`,
//! `HTML5.SetXForwardedHeaders`, `sap-client` and the authentication the service answers in
//! `authTokens[0]` are applied.
//!
//! The lookup goes with the binding's client-credentials token and, for a logged-in user, the
//! user's token as `X-user-token` (the service exchanges it for `OAuth2UserTokenExchange` /
//! `OAuth2JWTBearer`). Answers are cached per destination and user, never longer than the token
//! in `authTokens[0]` lives (`expires_in`), and never when `authTokens[0].error` is set; the
//! cache is bounded ([`MAX_CACHED`]). Destinations of the `destinations` env never come here.

use crate::error::Error;
use crate::proxy::Upstream;
use axum::http::{HeaderName, HeaderValue};
use common::cf::{AppRouterDestination, DestinationCredentials};
use common::destination::{DestinationClient, DestinationError, DestinationLookup};
use common::token_cache::{Expiring, TokenCache};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connect and total timeout of a call to the Destination service (and of the token for it).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an answer without a token (`NoAuthentication`, `BasicAuthentication`) is reused: the
/// destination's configuration may change, so it is looked up again now and then.
const CONFIG_TTL: Duration = Duration::from_secs(300);
/// A cached token is not handed out within this margin of its expiry.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);
/// Cached answers at most (users x destinations); beyond it lookups are not cached until
/// expired entries have gone.
pub const MAX_CACHED: usize = 10_000;

/// One looked-up destination, ready to forward to.
#[derive(Clone)]
pub struct Resolved {
    pub upstream: Arc<Upstream>,
    /// From `authTokens[0]` (`http_header`, else `<type> <value>`): replaces the client's.
    pub auth_header: Option<(HeaderName, HeaderValue)>,
    expires_at: Instant,
}

impl Expiring for Resolved {
    fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

/// Who a lookup is for: the destination and, for a logged-in user, the user (an answer may hold
/// a token exchanged for that user, which nobody else may get).
type Key = (Arc<str>, Option<Arc<str>>);

pub struct DestinationService {
    client: DestinationClient,
    cache: TokenCache<Key, Resolved>,
    upstreams: Upstreams,
}

/// One pooled client per destination, kept across lookups while its URL and settings stay the
/// same (the fingerprint), so that a new token does not mean new connections.
#[derive(Clone, Default)]
struct Upstreams(Arc<Mutex<HashMap<String, Fingerprinted>>>);

/// A destination's settings as text, and the client built for them.
type Fingerprinted = (String, Arc<Upstream>);

impl DestinationService {
    pub fn new(creds: &DestinationCredentials) -> Self {
        let http = common::http::client_with_timeouts(LOOKUP_TIMEOUT, LOOKUP_TIMEOUT);
        DestinationService {
            client: DestinationClient::new(creds, http),
            cache: TokenCache::new(TOKEN_MARGIN),
            upstreams: Upstreams::default(),
        }
    }

    /// The destination `name` for `user` (name and token of a logged-in user, else `None`).
    pub async fn resolve(&self, name: &str, user: Option<(&str, &str)>) -> Result<Resolved, Error> {
        let key: Key = (Arc::from(name), user.map(|(u, _)| Arc::from(u)));
        let client = self.client.clone();
        let upstreams = self.upstreams.clone();
        let owned_name = name.to_string();
        let user_token = user.map(|(_, t)| t.to_string());
        let lookup = move || async move {
            let started = Instant::now();
            let found = client
                .find(&owned_name, user_token.as_deref())
                .await
                .map_err(LookupError::Service)?;
            upstreams
                .resolved(&found, started)
                .map_err(LookupError::Destination)
        };
        // Past the bound, answers are fetched but not kept (expired entries are swept as the
        // cache is used).
        let result = if self.cache.len() >= MAX_CACHED {
            lookup().await
        } else {
            self.cache.get_or_fetch(key, None, lookup).await
        };
        result.map_err(|e| e.into_error(name))
    }
}

impl Upstreams {
    /// The answer as something to forward to; `Err` with the reason when it cannot be used.
    fn resolved(&self, found: &DestinationLookup, started: Instant) -> Result<Resolved, String> {
        let config = &found.destination_configuration;
        let name = config.name.as_str();
        let prop = |key: &str| -> Option<String> {
            config.properties.get(key).map(|v| match v {
                serde_json::Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            })
        };
        let flag = |key: &str| prop(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let authentication = config
            .authentication
            .as_deref()
            .unwrap_or("NoAuthentication");
        let proxy_type = config.proxy_type.as_deref().unwrap_or("Internet");
        if proxy_type.eq_ignore_ascii_case("OnPremise") {
            // @sap/approuter fails the request the same way ("... ProxyType \"OnPremise\" but
            // connectivity service is not bound"); the Cloud Connector is out of reach here.
            return Err(
                "ProxyType OnPremise needs the Connectivity service (Cloud Connector), which this App Router does not support".into(),
            );
        }
        if !proxy_type.eq_ignore_ascii_case("Internet") {
            return Err(format!(
                "ProxyType {proxy_type:?} is not supported (Internet only)"
            ));
        }
        let forward_auth_token = flag("HTML5.ForwardAuthToken");
        if forward_auth_token && authentication != "NoAuthentication" {
            // As @sap/approuter's validator: the user's token and the destination's own
            // authentication would both want the Authorization header.
            return Err(format!(
                "HTML5.ForwardAuthToken cannot be used with Authentication {authentication} (only with NoAuthentication)"
            ));
        }
        let url = config
            .url
            .as_deref()
            .ok_or_else(|| "the destination has no URL".to_string())?;
        let url = url::Url::parse(url.trim()).map_err(|e| format!("its URL is not valid: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "its URL scheme {:?} is not http or https",
                url.scheme()
            ));
        }
        let timeout = match prop("HTML5.Timeout") {
            None => None,
            Some(ms) => Some(
                ms.parse::<u64>()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(Duration::from_millis)
                    .ok_or_else(|| {
                        format!("HTML5.Timeout {ms:?} is not a positive number of milliseconds")
                    })?,
            ),
        };
        let dest = AppRouterDestination {
            name: name.to_string(),
            url,
            forward_auth_token,
            timeout,
            strict_ssl: !flag("TrustAll"),
            set_x_forwarded_headers: prop("HTML5.SetXForwardedHeaders")
                .is_none_or(|v| !v.eq_ignore_ascii_case("false")),
            preserve_host_header: flag("HTML5.PreserveHostHeader"),
            proxy_host: None,
            proxy_port: None,
            sap_client: prop("sap-client").filter(|c| !c.is_empty()),
        };
        let upstream = self.upstream(&dest)?;
        let auth_header = match found.authorization() {
            Ok(None) => None,
            Ok(Some((key, value))) => {
                let name = HeaderName::from_bytes(key.trim().as_bytes()).map_err(|_| {
                    format!("authTokens[0].http_header.key {key:?} is not a header name")
                })?;
                let mut value = HeaderValue::from_str(value.expose())
                    .map_err(|_| "authTokens[0] is not a valid header value".to_string())?;
                value.set_sensitive(true);
                Some((name, value))
            }
            Err(e) => return Err(e.to_string()),
        };
        // Answers without a token are configuration only; a token is reused for its lifetime,
        // and one without a lifetime not at all.
        let ttl = match (&auth_header, found.token_expires_in()) {
            (None, _) => CONFIG_TTL,
            (Some(_), Some(expires_in)) => expires_in,
            (Some(_), None) => Duration::ZERO,
        };
        Ok(Resolved {
            upstream,
            auth_header,
            expires_at: started + ttl,
        })
    }

    fn upstream(&self, dest: &AppRouterDestination) -> Result<Arc<Upstream>, String> {
        let fingerprint = format!("{dest:?}");
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((known, upstream)) = map.get(&dest.name)
            && *known == fingerprint
        {
            return Ok(upstream.clone());
        }
        let upstream = Arc::new(Upstream::new(dest).map_err(|e| e.to_string())?);
        map.insert(dest.name.clone(), (fingerprint, upstream.clone()));
        Ok(upstream)
    }
}

/// Why a lookup failed; `Clone` so that concurrent lookups of one key share it.
#[derive(Debug, Clone)]
enum LookupError {
    Service(DestinationError),
    /// The answer cannot be used (OnPremise without Connectivity, a bad URL, ...).
    Destination(String),
}

impl LookupError {
    fn into_error(self, name: &str) -> Error {
        let reason = match self {
            LookupError::Service(DestinationError::NotFound { .. }) => {
                "the Destination service has no destination of this name (neither on the instance nor on the subaccount level)".to_string()
            }
            LookupError::Service(DestinationError::Timeout { .. }) => {
                return Error::GatewayTimeout {
                    destination: name.to_string(),
                    millis: LOOKUP_TIMEOUT.as_millis(),
                };
            }
            LookupError::Service(e) => format!("Destination service lookup failed: {e}"),
            LookupError::Destination(reason) => reason,
        };
        Error::BadGateway {
            destination: name.to_string(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lookup(config: serde_json::Value, tokens: serde_json::Value) -> DestinationLookup {
        serde_json::from_value(json!({"destinationConfiguration": config, "authTokens": tokens}))
            .unwrap()
    }

    fn dest(extra: serde_json::Value) -> serde_json::Value {
        let mut d = json!({"Name": "d", "Type": "HTTP", "URL": "http://127.0.0.1:1/base", "Authentication": "NoAuthentication", "ProxyType": "Internet"});
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    }

    #[test]
    fn an_answer_becomes_an_upstream_with_its_token_for_the_token_lifetime() {
        let upstreams = Upstreams::default();
        let now = Instant::now();
        let found = lookup(
            dest(
                json!({"Authentication": "OAuth2ClientCredentials", "HTML5.Timeout": "1500", "sap-client": "100"}),
            ),
            json!([{"type": "bearer", "value": "tok", "http_header": {"key": "Authorization", "value": "Bearer tok"}, "expires_in": "120"}]),
        );
        let resolved = upstreams.resolved(&found, now).unwrap();
        assert_eq!(resolved.upstream.base_url(), "http://127.0.0.1:1/base");
        assert_eq!(resolved.upstream.timeout, Duration::from_millis(1500));
        let (name, value) = resolved.auth_header.as_ref().unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer tok")
        );
        assert!(value.is_sensitive(), "never logged");
        assert_eq!(resolved.expires_at, now + Duration::from_secs(120));
        // The same settings again: the same pooled client.
        let again = upstreams.resolved(&found, now).unwrap();
        assert!(Arc::ptr_eq(&resolved.upstream, &again.upstream));
        // A token without a lifetime is used once, not kept.
        let once = lookup(dest(json!({})), json!([{"type": "bearer", "value": "tok"}]));
        assert_eq!(upstreams.resolved(&once, now).unwrap().expires_at, now);
        // No token: configuration only, looked up again after a while.
        let plain = upstreams
            .resolved(&lookup(dest(json!({})), json!([])), now)
            .unwrap();
        assert!(plain.auth_header.is_none());
        assert_eq!(plain.expires_at, now + CONFIG_TTL);
    }

    #[test]
    fn answers_that_cannot_be_used_say_why() {
        let upstreams = Upstreams::default();
        let now = Instant::now();
        for (config, tokens, expected) in [
            (
                dest(json!({"ProxyType": "OnPremise"})),
                json!([]),
                "Connectivity service",
            ),
            (
                dest(
                    json!({"Authentication": "BasicAuthentication", "HTML5.ForwardAuthToken": "true"}),
                ),
                json!([{"type": "Basic", "value": "x"}]),
                "HTML5.ForwardAuthToken cannot be used with Authentication BasicAuthentication",
            ),
            (
                dest(json!({"HTML5.Timeout": "soon"})),
                json!([]),
                "HTML5.Timeout \"soon\"",
            ),
            (
                dest(json!({"URL": "ftp://host/x"})),
                json!([]),
                "scheme \"ftp\"",
            ),
            (
                dest(json!({"Authentication": "OAuth2ClientCredentials"})),
                json!([{"type": "", "value": "", "error": "Retrieval of OAuthToken failed"}]),
                "Retrieval of OAuthToken failed",
            ),
        ] {
            let reason = upstreams
                .resolved(&lookup(config, tokens), now)
                .err()
                .unwrap();
            assert!(reason.contains(expected), "{reason}");
        }
    }
}
