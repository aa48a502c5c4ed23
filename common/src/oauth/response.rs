//! The token endpoint's answer: RFC 6749 §5.1 tokens and §5.2 errors.

use super::error::OAuthError;
use crate::error_chain;
use crate::secret::Secret;
use crate::token_cache::Expiring;
use serde::{Deserialize, Deserializer};
use std::time::{Duration, Instant};

/// RFC 6749 §5.1 token response (XSUAA also sends `jti`; camelCase spellings are accepted too).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    #[serde(alias = "accessToken")]
    pub access_token: Secret,
    #[serde(alias = "tokenType", default = "bearer")]
    pub token_type: String,
    #[serde(alias = "expiresIn", default, deserialize_with = "u64_or_string")]
    pub expires_in: u64,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(alias = "refreshToken", default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub id_token: Option<Secret>,
    #[serde(default)]
    pub jti: Option<String>,
    /// When the answer arrived: `expires_in` counts from here.
    #[serde(skip, default = "Instant::now")]
    pub received_at: Instant,
}

fn bearer() -> String {
    "bearer".into()
}

fn u64_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        Num(u64),
        Float(f64),
        Str(String),
    }
    match N::deserialize(d)? {
        N::Num(n) => Ok(n),
        N::Float(f) if f >= 0.0 => Ok(f as u64),
        N::Float(f) => Err(serde::de::Error::custom(format!("negative number {f}"))),
        N::Str(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl Expiring for TokenResponse {
    fn expires_at(&self) -> Instant {
        self.received_at + Duration::from_secs(self.expires_in)
    }
}

impl TokenResponse {
    /// `scope`, split on spaces.
    pub fn scopes(&self) -> Vec<&str> {
        self.scope
            .as_deref()
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default()
    }
}

/// Logs how a token request ended, its lifetime or why it failed (never the token), and passes
/// the result on.
pub(crate) fn logged(
    result: Result<TokenResponse, OAuthError>,
) -> Result<TokenResponse, OAuthError> {
    match &result {
        Ok(t) => tracing::debug!(expires_in = t.expires_in, "token received"),
        Err(e) => tracing::warn!(error = %e, "token request failed"),
    }
    result
}

/// A request that got no answer: timed out, or why it could not be sent.
pub(crate) fn send_error(url: &str, e: &reqwest::Error) -> OAuthError {
    if e.is_timeout() {
        OAuthError::Timeout {
            url: url.to_owned(),
        }
    } else {
        OAuthError::Unreachable {
            url: url.to_owned(),
            reason: error_chain(e),
        }
    }
}

/// At most this much of an unexpected body goes into an error message.
pub(crate) fn snippet(body: &str) -> String {
    const MAX: usize = 300;
    let body = body.trim();
    match body.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &body[..i]),
        None => body.to_owned(),
    }
}

/// The status and body of a token endpoint's answer; a body that does not arrive in time is a
/// timeout, one that breaks off is an invalid response.
pub(crate) async fn read_body(
    url: &str,
    resp: reqwest::Response,
) -> Result<(reqwest::StatusCode, String), OAuthError> {
    let status = resp.status();
    let body = resp.text().await.map_err(|e| {
        if e.is_timeout() {
            OAuthError::Timeout {
                url: url.to_owned(),
            }
        } else {
            OAuthError::InvalidResponse {
                url: url.to_owned(),
                reason: error_chain(&e),
            }
        }
    })?;
    Ok((status, body))
}

pub(super) async fn parse_token_response(
    url: &str,
    resp: reqwest::Response,
) -> Result<TokenResponse, OAuthError> {
    let (status, body) = read_body(url, resp).await?;
    if status.is_success() {
        let mut token: TokenResponse =
            serde_json::from_str(&body).map_err(|e| OAuthError::InvalidResponse {
                url: url.to_owned(),
                reason: format!("not a token response: {e}"),
            })?;
        if token.access_token.is_empty() {
            return Err(OAuthError::InvalidResponse {
                url: url.to_owned(),
                reason: "empty access_token".into(),
            });
        }
        if token.expires_in == 0 {
            // Without expires_in, fall back to the JWT's own exp so the token is not cached forever.
            if let Ok(claims) = crate::jwt::decode_unverified(token.access_token.expose()) {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                token.expires_in = (claims.exp - now).max(0) as u64;
            }
        }
        return Ok(token);
    }
    #[derive(Deserialize)]
    struct Rfc6749Error {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_str::<Rfc6749Error>(&body) {
        Ok(e) => Err(OAuthError::Rejected {
            url: url.to_owned(),
            status: status.as_u16(),
            error: e.error,
            description: e.error_description.unwrap_or_default(),
        }),
        Err(_) => Err(OAuthError::InvalidResponse {
            url: url.to_owned(),
            reason: format!("HTTP {status}: {}", snippet(&body)),
        }),
    }
}
