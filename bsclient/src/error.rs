//! Every way a request can fail, with the status and the sentence the user sees. Rendered as HTML,
//! JSON or plain text depending on the request (see [`Format`]).

use crate::render;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::destination::DestinationError;
use common::jwt::JwtError;
use common::oauth::OAuthError;
use std::sync::Arc;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error(
        "No user token: this endpoint expects \"Authorization: Bearer <JWT>\", which the App Router sends for a route with forwardAuthToken"
    )]
    MissingToken,
    #[error("Invalid user token: {0}")]
    InvalidToken(String),
    /// The token did not validate: the validator's reason is the source.
    #[error("Invalid user token: {0}")]
    RejectedToken(#[source] JwtError),
    #[error("Cannot check the user token: the XSUAA signing keys are not available: {0}")]
    KeysUnavailable(String),

    #[error("Cannot get a token for the Destination service from XSUAA: {0}")]
    DestinationServiceToken(#[source] OAuthError),
    #[error("Timeout getting a token for the Destination service from XSUAA ({0})")]
    DestinationServiceTokenTimeout(String),
    #[error("Destination service unreachable ({url}): {reason}")]
    DestinationServiceUnreachable { url: String, reason: String },
    #[error("Destination service did not answer in time ({0})")]
    DestinationServiceTimeout(String),
    #[error("Destination service failed with HTTP {status}: {body}")]
    DestinationServiceFailed { status: u16, body: String },
    #[error("Destination service rejected bsclient's credentials (HTTP {status}): {body}")]
    DestinationServiceRejected { status: u16, body: String },
    #[error("Destination service gave an unusable answer: {0}")]
    DestinationServiceInvalid(String),
    #[error("Destination \"{0}\" was not found in the Destination service")]
    DestinationNotFound(String),
    #[error("Destination \"{name}\": the token exchange failed: {error}")]
    TokenExchange { name: String, error: String },
    #[error("Destination \"{name}\" has no URL")]
    DestinationWithoutUrl { name: String },

    /// The transport's error is the source; the message shows its chain (see `Failure`).
    #[error("Backend API unreachable ({url})")]
    BackendUnreachable {
        url: String,
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    #[error("Backend API did not answer in time ({0})")]
    BackendTimeout(String),
    #[error("Backend API refused access (HTTP {status}): {reason}")]
    BackendForbidden { status: u16, reason: String },
    #[error("Backend API failed with HTTP {status}: {reason}")]
    BackendFailed { status: u16, reason: String },
    #[error("Backend API gave an unusable answer: {0}")]
    BackendInvalid(String),
    #[error("Backend API gave an unusable answer: not JSON")]
    BackendNotJson(#[source] Arc<serde_json::Error>),

    #[error("Forbidden: the user's token lacks the scope {0}, which /getToken requires")]
    MissingScope(String),
    #[error("Bad ttl: {0}")]
    BadTtl(String),
    #[error("The token endpoint refused to issue a token: {0}")]
    TokenEndpoint(#[source] OAuthError),
    #[error("The token endpoint did not answer in time ({0})")]
    TokenEndpointTimeout(String),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            MissingToken | InvalidToken(_) | RejectedToken(_) => StatusCode::UNAUTHORIZED,
            BackendForbidden { .. } | MissingScope(_) => StatusCode::FORBIDDEN,
            BadTtl(_) => StatusCode::BAD_REQUEST,
            DestinationServiceTokenTimeout(_)
            | DestinationServiceTimeout(_)
            | BackendTimeout(_)
            | TokenEndpointTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            KeysUnavailable(_)
            | DestinationServiceToken(_)
            | DestinationServiceUnreachable { .. }
            | DestinationServiceFailed { .. }
            | DestinationServiceRejected { .. }
            | DestinationServiceInvalid(_)
            | DestinationNotFound(_)
            | TokenExchange { .. }
            | DestinationWithoutUrl { .. }
            | BackendUnreachable { .. }
            | BackendFailed { .. }
            | BackendInvalid(_)
            | BackendNotJson(_)
            | TokenEndpoint(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// Stable machine-readable name for the JSON form.
    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            MissingToken => "missing_token",
            InvalidToken(_) | RejectedToken(_) => "invalid_token",
            KeysUnavailable(_) => "keys_unavailable",
            DestinationServiceToken(_) => "destination_service_token",
            DestinationServiceTokenTimeout(_) => "destination_service_token_timeout",
            DestinationServiceUnreachable { .. } => "destination_service_unreachable",
            DestinationServiceTimeout(_) => "destination_service_timeout",
            DestinationServiceFailed { .. } => "destination_service_failed",
            DestinationServiceRejected { .. } => "destination_service_rejected",
            DestinationServiceInvalid(_) => "destination_service_invalid",
            DestinationNotFound(_) => "destination_not_found",
            TokenExchange { .. } => "token_exchange_failed",
            DestinationWithoutUrl { .. } => "destination_without_url",
            BackendUnreachable { .. } => "backend_unreachable",
            BackendTimeout(_) => "backend_timeout",
            BackendForbidden { .. } => "backend_forbidden",
            BackendFailed { .. } => "backend_failed",
            BackendInvalid(_) | BackendNotJson(_) => "backend_invalid",
            MissingScope(_) => "missing_scope",
            BadTtl(_) => "bad_ttl",
            TokenEndpoint(_) => "token_endpoint_failed",
            TokenEndpointTimeout(_) => "token_endpoint_timeout",
        }
    }

    pub fn from_jwt(e: JwtError) -> Self {
        match e {
            JwtError::KeyFetch(reason) => Error::KeysUnavailable(reason),
            other => Error::RejectedToken(other),
        }
    }

    pub fn from_destination(e: DestinationError) -> Self {
        match e {
            DestinationError::NotFound { name } => Error::DestinationNotFound(name),
            DestinationError::Unauthorized { status, body } => Error::DestinationServiceRejected {
                status,
                body: render::clip(&body),
            },
            DestinationError::Upstream { status, body } => Error::DestinationServiceFailed {
                status,
                body: render::clip(&body),
            },
            DestinationError::Timeout { url } => Error::DestinationServiceTimeout(url),
            DestinationError::Unreachable { url, reason } => {
                Error::DestinationServiceUnreachable { url, reason }
            }
            DestinationError::TokenRetrieval { name, error } => {
                Error::TokenExchange { name, error }
            }
            DestinationError::ServiceToken(OAuthError::Timeout { url }) => {
                Error::DestinationServiceTokenTimeout(url)
            }
            DestinationError::ServiceToken(e) => Error::DestinationServiceToken(e),
            DestinationError::InvalidResponse { reason } => {
                Error::DestinationServiceInvalid(reason)
            }
        }
    }

    pub fn from_token_endpoint(e: OAuthError) -> Self {
        match e {
            OAuthError::Timeout { url } => Error::TokenEndpointTimeout(url),
            other => Error::TokenEndpoint(other),
        }
    }

    /// The error in the form the request asked for.
    pub fn in_format(self, format: Format) -> Failure {
        Failure {
            error: self,
            format,
        }
    }
}

/// How an answer is rendered: `Accept` decides between HTML (browsers, the default) and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Text,
}

impl Format {
    /// JSON when `application/json` is preferred over `text/html` (by q-value, then by order);
    /// HTML otherwise, including without `Accept`.
    pub fn from_accept(accept: Option<&HeaderValue>) -> Self {
        let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
            return Format::Html;
        };
        let mut html: Option<(f32, usize)> = None;
        let mut json: Option<(f32, usize)> = None;
        for (i, part) in accept.split(',').enumerate() {
            let mut params = part.split(';');
            let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot = match media.as_str() {
                "text/html" | "application/xhtml+xml" => &mut html,
                "application/json" => &mut json,
                _ => continue,
            };
            if q > 0.0 && slot.is_none_or(|(best, _)| q > best) {
                *slot = Some((q, i));
            }
        }
        match (json, html) {
            (Some(_), None) => Format::Json,
            (Some((jq, ji)), Some((hq, hi))) if jq > hq || (jq == hq && ji < hi) => Format::Json,
            _ => Format::Html,
        }
    }
}

/// An [`Error`] with the form to render it in.
#[derive(Debug)]
pub struct Failure {
    pub error: Error,
    pub format: Format,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = self.error.status();
        // The one place a failure is logged and shown: with its causes, each once.
        let message = common::error_chain(&self.error);
        tracing::warn!(status = status.as_u16(), code = self.error.code(), %message, "request failed");
        let mut response = match self.format {
            Format::Html => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                render::error_page(status, &message),
            )
                .into_response(),
            Format::Json => (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({
                    "error": {
                        "status": status.as_u16(),
                        "code": self.error.code(),
                        "message": message,
                    }
                })
                .to_string(),
            )
                .into_response(),
            Format::Text => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{message}\n"),
            )
                .into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self.error {
                Error::MissingToken => "Bearer realm=\"bsclient\"",
                _ => "Bearer realm=\"bsclient\", error=\"invalid_token\"",
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// Without a negotiated form (e.g. `/getToken`, which answers text): plain text.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.in_format(Format::Text).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(accept: &str) -> Format {
        Format::from_accept(Some(&HeaderValue::from_str(accept).unwrap()))
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        assert_eq!(Format::from_accept(None), Format::Html);
        assert_eq!(
            fmt("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Format::Html
        );
        assert_eq!(fmt("application/json"), Format::Json);
        assert_eq!(fmt("application/json, text/plain, */*"), Format::Json);
        assert_eq!(fmt("text/html;q=0.5, application/json"), Format::Json);
        assert_eq!(fmt("application/json;q=0.1, text/html"), Format::Html);
        assert_eq!(fmt("application/json;q=0, text/html"), Format::Html);
        assert_eq!(fmt("*/*"), Format::Html);
    }
}
