//! Destination service client and the wire types shared with mock-platform's Destination service.

use crate::cf::DestinationCredentials;
use crate::error_chain;
use crate::oauth::{OAuthClient, OAuthError, TokenResponse, snippet};
use crate::secret::Secret;
use crate::token_cache::TokenCache;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use tracing::Instrument;

/// Service tokens are renewed this long before they expire.
const SERVICE_TOKEN_MARGIN: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DestinationError {
    #[error("destination \"{name}\" not found")]
    NotFound { name: String },
    #[error("the Destination service refused our token ({status}): {body}")]
    Unauthorized { status: u16, body: String },
    #[error("the Destination service answered {status}: {body}")]
    Upstream { status: u16, body: String },
    #[error("timeout calling the Destination service at {url}")]
    Timeout { url: String },
    #[error("cannot reach the Destination service at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("destination \"{name}\": token retrieval failed: {error}")]
    TokenRetrieval { name: String, error: String },
    #[error("cannot get a token for the Destination service: {0}")]
    ServiceToken(#[source] OAuthError),
    #[error("invalid answer from the Destination service: {reason}")]
    InvalidResponse { reason: String },
}

/// `GET .../destinations/{name}` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DestinationLookup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<serde_json::Value>,
    #[serde(rename = "destinationConfiguration")]
    pub destination_configuration: DestinationConfiguration,
    #[serde(rename = "authTokens", default, skip_serializing_if = "Vec::is_empty")]
    pub auth_tokens: Vec<AuthToken>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DestinationConfiguration {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Type", default)]
    pub type_: String,
    #[serde(rename = "URL", default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(
        rename = "Authentication",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication: Option<String>,
    #[serde(rename = "ProxyType", default, skip_serializing_if = "Option::is_none")]
    pub proxy_type: Option<String>,
    /// Every other property (`clientId`, `tokenServiceURL`, `HTML5.ForwardAuthToken`, ...).
    #[serde(flatten)]
    pub properties: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthToken {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub value: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_header: Option<HttpHeader>,
    /// Seconds, as a string on the wire (numbers are accepted too).
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpHeader {
    pub key: String,
    pub value: Secret,
}

fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected a string or number, got {other}"
            )));
        }
    })
}

impl DestinationLookup {
    /// `(header name, header value)` from `authTokens[0]`: its `http_header` when present, else
    /// `"<type> <value>"`. An `error` (or an empty token) is `Err(TokenRetrieval)`; no tokens is `Ok(None)`.
    pub fn authorization(&self) -> Result<Option<(String, Secret)>, DestinationError> {
        let Some(token) = self.auth_tokens.first() else {
            return Ok(None);
        };
        let fail = |error: String| DestinationError::TokenRetrieval {
            name: self.destination_configuration.name.clone(),
            error,
        };
        if let Some(error) = token.error.as_deref().filter(|e| !e.trim().is_empty()) {
            return Err(fail(error.to_owned()));
        }
        if let Some(h) = &token.http_header
            && !h.key.trim().is_empty()
            && !h.value.expose().trim().is_empty()
        {
            return Ok(Some((h.key.clone(), h.value.clone())));
        }
        if token.value.expose().trim().is_empty() {
            return Err(fail(
                "the Destination service returned an empty token".into(),
            ));
        }
        let scheme = match token.type_.as_str() {
            t if t.eq_ignore_ascii_case("bearer") => "Bearer",
            t if t.eq_ignore_ascii_case("basic") => "Basic",
            "" => "Bearer",
            t => t,
        };
        Ok(Some((
            "Authorization".into(),
            Secret::new(format!("{scheme} {}", token.value.expose())),
        )))
    }

    /// How long the exchanged token in `authTokens[0]` stays valid (its `expires_in`).
    pub fn token_expires_in(&self) -> Option<Duration> {
        let secs = self
            .auth_tokens
            .first()?
            .expires_in
            .as_deref()?
            .trim()
            .parse::<f64>()
            .ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs(secs as u64))
    }
}

/// Client of the Destination service of one binding. Cheap to clone.
#[derive(Clone)]
pub struct DestinationClient {
    base: String,
    oauth: OAuthClient,
    service_token: TokenCache<(), TokenResponse>,
    http: reqwest::Client,
}

impl DestinationClient {
    /// Service token: client credentials at `{url}/oauth/token`, cached until shortly before it expires.
    pub fn new(creds: &DestinationCredentials, http: reqwest::Client) -> Self {
        DestinationClient {
            base: creds.uri.trim_end_matches('/').to_owned(),
            oauth: OAuthClient::new(
                &creds.url,
                &creds.clientid,
                creds.clientsecret.clone(),
                http.clone(),
            ),
            service_token: TokenCache::new(SERVICE_TOKEN_MARGIN),
            http,
        }
    }

    async fn service_token(&self) -> Result<TokenResponse, DestinationError> {
        let oauth = self.oauth.clone();
        self.service_token
            .get_or_fetch((), None, move || async move {
                oauth.client_credentials(None).await
            })
            .await
            .map_err(DestinationError::ServiceToken)
    }

    /// `GET {uri}/destination-configuration/v1/destinations/{name}` with the service token and, when
    /// given, `X-user-token`. An `authTokens[0].error` is `Err(TokenRetrieval)`.
    pub async fn find(
        &self,
        name: &str,
        user_token: Option<&str>,
    ) -> Result<DestinationLookup, DestinationError> {
        let span = tracing::info_span!(
            "destination_lookup",
            destination = name,
            user = user_token.is_some()
        );
        self.find_inner(name, user_token).instrument(span).await
    }

    async fn find_inner(
        &self,
        name: &str,
        user_token: Option<&str>,
    ) -> Result<DestinationLookup, DestinationError> {
        let url = format!(
            "{}/destination-configuration/v1/destinations/{}",
            self.base,
            percent_encoding::utf8_percent_encode(name, PATH_SEGMENT)
        );
        let token = self.service_token().await?;
        let mut req = self
            .http
            .get(&url)
            .bearer_auth(token.access_token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(user_token) = user_token {
            req = req.header("X-user-token", user_token);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                DestinationError::Timeout { url: url.clone() }
            } else {
                DestinationError::Unreachable {
                    url: url.clone(),
                    reason: error_chain(&e),
                }
            }
        })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| {
            if e.is_timeout() {
                DestinationError::Timeout { url: url.clone() }
            } else {
                DestinationError::InvalidResponse {
                    reason: error_chain(&e),
                }
            }
        })?;
        match status.as_u16() {
            200..=299 => {}
            404 if is_not_found_message(&body) => {
                return Err(DestinationError::NotFound {
                    name: name.to_owned(),
                });
            }
            401 | 403 => {
                // The service token may have been revoked or its zone changed: fetch a new one next time.
                self.service_token.invalidate(&());
                return Err(DestinationError::Unauthorized {
                    status: status.as_u16(),
                    body: snippet(&body),
                });
            }
            s => {
                return Err(DestinationError::Upstream {
                    status: s,
                    body: snippet(&body),
                });
            }
        }
        let lookup: DestinationLookup =
            serde_json::from_str(&body).map_err(|e| DestinationError::InvalidResponse {
                reason: format!("not a destination lookup: {e}"),
            })?;
        // Fails on authTokens[0].error, so a caller never sends a request with an empty token.
        lookup.authorization()?;
        tracing::debug!(
            authentication = lookup
                .destination_configuration
                .authentication
                .as_deref()
                .unwrap_or(""),
            tokens = lookup.auth_tokens.len(),
            "destination found"
        );
        Ok(lookup)
    }
}

fn is_not_found_message(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("ErrorMessage").is_some())
}

/// Everything but unreserved characters is escaped in the destination name path segment.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[cfg(test)]
mod tests;
