//! What one user's destination lookup yields and the Backend API call made with it: below both
//! `mainentry` (which uses them) and the shared state (which caches the lookups).

use crate::error::Error;
use crate::render;
use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, Uri, header};
use common::destination::DestinationClient;
use common::token_cache::Expiring;
use http_body_util::{BodyExt, Empty};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A lookup without an auth token (e.g. `NoAuthentication`) carries no expiry of its own; refreshing
/// it now and then picks up configuration changes.
const UNAUTHENTICATED_TTL: Duration = Duration::from_secs(300);

/// What one user's destination lookup yields: where the Backend API is and how to authenticate.
#[derive(Clone)]
pub struct Target {
    uri: Uri,
    /// The URL without query, fragment or user info, for error messages.
    shown_url: String,
    authorization: Option<(HeaderName, HeaderValue)>,
    expires_at: Instant,
}

impl Expiring for Target {
    fn expires_at(&self) -> Instant {
        self.expires_at
    }
}

/// The Backend API client: hyper's pooled client (`common::http::pooled_client`), since this is the
/// one call of a warm request.
pub type BackendClient = common::http::PooledClient<Empty<Bytes>>;

/// The user token's sha256 (one destination per process): one user's entry is never found with
/// another token, and the map holds no raw tokens.
pub type CacheKey = crate::auth::TokenHash;

/// One lookup with token exchange. The result expires with the exchanged token, and never after
/// the user token it was made with.
pub async fn lookup(
    client: DestinationClient,
    name: String,
    user_token: String,
    user_token_left: Duration,
) -> Result<Target, Error> {
    // Expiries count from before the call: the exchanged token's `expires_in` started earlier.
    let started = Instant::now();
    let found = client
        .find(&name, Some(&user_token))
        .await
        .map_err(Error::from_destination)?;
    let url = found
        .destination_configuration
        .url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Error::DestinationWithoutUrl { name: name.clone() })?;
    let url = reqwest::Url::parse(url.trim()).map_err(|e| {
        Error::DestinationServiceInvalid(format!("destination \"{name}\" has an invalid URL: {e}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::DestinationServiceInvalid(format!(
            "destination \"{name}\": URL scheme \"{}\" is not http(s)",
            url.scheme()
        )));
    }
    // Parsed once per lookup, not per request; `url` serializes to what `Uri` accepts.
    let uri = Uri::try_from(url.as_str()).map_err(|e| {
        Error::DestinationServiceInvalid(format!("destination \"{name}\" has an invalid URL: {e}"))
    })?;
    let authorization = match found.authorization().map_err(Error::from_destination)? {
        None => None,
        Some((key, value)) => {
            let invalid = || {
                Error::DestinationServiceInvalid(format!(
                    "destination \"{name}\": authTokens[0] does not make a valid HTTP header"
                ))
            };
            let key = HeaderName::from_bytes(key.as_bytes()).map_err(|_| invalid())?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| invalid())?;
            value.set_sensitive(true);
            Some((key, value))
        }
    };
    let ttl = if authorization.is_some() {
        // Missing `expires_in`: usable for this request, not cached.
        found.token_expires_in().unwrap_or(Duration::ZERO)
    } else {
        UNAUTHENTICATED_TTL
    };
    Ok(Target {
        uri,
        shown_url: without_query(&url),
        authorization,
        expires_at: started + ttl.min(user_token_left),
    })
}

pub struct BackendAnswer {
    pub body: Bytes,
    pub content_type: Option<HeaderValue>,
}

/// `GET` the Backend API with the destination's token, within `timeout` for the whole answer.
pub async fn call_backend(
    client: &BackendClient,
    timeout: Duration,
    target: &Target,
) -> Result<BackendAnswer, Error> {
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = target.uri.clone();
    let headers = request.headers_mut();
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(
        header::USER_AGENT,
        HeaderValue::from_static(common::http::USER_AGENT),
    );
    if let Some((key, value)) = &target.authorization {
        headers.insert(key.clone(), value.clone());
    }
    let call = async {
        let response = client.request(request).await.map_err(cause)?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(cause)?;
        Ok::<_, Arc<dyn std::error::Error + Send + Sync>>((parts, body.to_bytes()))
    };
    let (parts, body) = match tokio::time::timeout(timeout, call).await {
        Err(_) => return Err(Error::BackendTimeout(target.shown_url.clone())),
        Ok(Err(source)) => {
            return Err(Error::BackendUnreachable {
                url: target.shown_url.clone(),
                source,
            });
        }
        Ok(Ok(answer)) => answer,
    };
    let status = parts.status;
    let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
    if status.is_success() {
        return Ok(BackendAnswer { body, content_type });
    }
    let challenge = parts
        .headers
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok());
    let reason = reason(&body, challenge, status);
    Err(match status.as_u16() {
        401 | 403 => Error::BackendForbidden {
            status: status.as_u16(),
            reason,
        },
        code => Error::BackendFailed {
            status: code,
            reason,
        },
    })
}

/// A transport error kept as the source of [`Error::BackendUnreachable`] (shared: errors are cloned
/// to every caller waiting on one lookup).
fn cause(
    e: impl std::error::Error + Send + Sync + 'static,
) -> Arc<dyn std::error::Error + Send + Sync> {
    Arc::new(e)
}

fn without_query(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    shown.to_string()
}

/// The backend's own explanation: OData v2/v4 error, OAuth error, `WWW-Authenticate`, else the body.
fn reason(body: &[u8], challenge: Option<&str>, status: StatusCode) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let found = json
            .pointer("/error/message/value")
            .and_then(text)
            .or_else(|| json.pointer("/error/message").and_then(text))
            .or_else(|| json.get("error_description").and_then(text))
            .or_else(|| json.get("message").and_then(text))
            .or_else(|| json.get("ErrorMessage").and_then(text))
            .or_else(|| json.get("error").and_then(text));
        if let Some(found) = found {
            return render::clip(&found);
        }
    }
    let text = String::from_utf8_lossy(body);
    if !text.trim().is_empty() {
        return render::clip(&text);
    }
    if let Some(challenge) = challenge {
        return render::clip(challenge);
    }
    status
        .canonical_reason()
        .unwrap_or("no reason given")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_come_from_odata_or_oauth_errors() {
        let odata = br#"{"error":{"code":"403","message":{"lang":"en","value":"missing scope AllAccess"}}}"#;
        assert_eq!(
            reason(odata, None, StatusCode::FORBIDDEN),
            "missing scope AllAccess"
        );
        let oauth = br#"{"error":"invalid_token","error_description":"expired"}"#;
        assert_eq!(reason(oauth, None, StatusCode::UNAUTHORIZED), "expired");
        assert_eq!(
            reason(
                b"",
                Some("Bearer error=\"insufficient_scope\""),
                StatusCode::FORBIDDEN
            ),
            "Bearer error=\"insufficient_scope\""
        );
        assert_eq!(reason(b"", None, StatusCode::FORBIDDEN), "Forbidden");
        assert_eq!(
            reason(b"boom\n", None, StatusCode::INTERNAL_SERVER_ERROR),
            "boom"
        );
    }
}
