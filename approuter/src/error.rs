//! The one error type of the App Router, and how each variant looks to a browser or a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Start-up configuration (xs-app.json, env): the message names the file or variable, the key
    /// and the reason.
    #[error("{0}")]
    Config(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A non-browser request to a protected route without a usable session.
    #[error("authentication required")]
    Unauthorized,
    /// The login at XSUAA did not complete (state mismatch, rejected code, invalid token...).
    #[error("login failed: {0}")]
    LoginFailed(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// `@sap/approuter` answers a missing or wrong CSRF token with 403 and `x-csrf-token: Required`.
    #[error("CSRF token validation failed")]
    CsrfRequired,
    #[error("not found")]
    NotFound,
    #[error("destination {destination}: {reason}")]
    BadGateway { destination: String, reason: String },
    #[error("destination {destination} did not answer within {millis} ms")]
    GatewayTimeout { destination: String, millis: u128 },
    /// XSUAA could not be reached or answered nonsense while we tried to log in or refresh.
    /// XSUAA could not be asked (unreachable, timed out, an answer that is no token answer); a
    /// refusal is [`Error::LoginFailed`]. 504 when it timed out, else 502.
    #[error("XSUAA: {doing}")]
    Xsuaa {
        doing: &'static str,
        #[source]
        source: common::oauth::OAuthError,
    },
    /// The session store (Redis) failed; nothing can be decided about the user.
    #[error("session store unavailable")]
    SessionStore(#[from] tower_sessions::session_store::Error),
    /// A broken invariant: the message says which.
    #[error("internal error: {0}")]
    Internal(String),
    /// A step that failed for a reason the router cannot act on, with that reason kept.
    #[error("internal error: {what}")]
    InternalCause {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Config(_) | Error::Internal(_) | Error::InternalCause { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized | Error::LoginFailed(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) | Error::CsrfRequired => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Xsuaa {
                source: common::oauth::OAuthError::Timeout { .. },
                ..
            }
            | Error::GatewayTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Error::BadGateway { .. } | Error::Xsuaa { .. } => StatusCode::BAD_GATEWAY,
            Error::SessionStore(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The page's heading: the status's own name, but for a failed login.
    fn title(&self) -> &'static str {
        match self {
            Error::LoginFailed(_) => "Login failed",
            _ => self.status().canonical_reason().unwrap_or("Error"),
        }
    }
}

impl Error {
    /// What the browser is told: a short reason in the user's terms. Internal URLs, upstream
    /// error text and XSUAA's answers stay in the log, under the request's correlation id.
    fn public_message(&self) -> String {
        match self {
            Error::Internal(_) | Error::InternalCause { .. } | Error::Config(_) => {
                "The App Router failed to handle the request.".into()
            }
            Error::BadRequest(reason) | Error::Forbidden(reason) => reason.clone(),
            Error::Unauthorized => "Authentication required.".into(),
            Error::LoginFailed(_) => {
                "The login did not complete; open the application again.".into()
            }
            Error::CsrfRequired => "CSRF token validation failed.".into(),
            Error::NotFound => "Not found.".into(),
            Error::BadGateway { destination, .. } => {
                format!(
                    "The destination {destination} could not be reached or gave no valid answer."
                )
            }
            Error::GatewayTimeout {
                destination,
                millis,
            } => format!("The destination {destination} did not answer within {millis} ms."),
            Error::Xsuaa {
                source: common::oauth::OAuthError::Timeout { .. },
                ..
            } => "The login service (XSUAA) did not answer in time.".into(),
            Error::Xsuaa { .. } => {
                "The login service (XSUAA) could not be reached or gave no valid answer.".into()
            }
            Error::SessionStore(_) => {
                "The session store is unavailable; try again in a moment.".into()
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        // Inside the request's span: the details are logged under its correlation id.
        if status.is_server_error() {
            let error = common::error_chain(&self);
            tracing::warn!(status = status.as_u16(), %error, "request failed");
        } else if matches!(self, Error::LoginFailed(_)) {
            tracing::warn!(status = status.as_u16(), error = %self, "login failed");
        }
        let correlation = crate::correlation::current();
        let reference = match correlation.as_ref().and_then(|c| c.to_str().ok()) {
            Some(id) => format!("<p>Correlation id: <code>{}</code></p>", html_escape(id)),
            None => String::new(),
        };
        let body = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{code} {title}</title></head>\
             <body><h1>{code} {title}</h1><p>{message}</p>{reference}</body></html>\n",
            code = status.as_u16(),
            title = self.title(),
            message = html_escape(&self.public_message()),
        );
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // `@sap/approuter`'s error handler sends exactly this.
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store, must-revalidate"),
        );
        if matches!(self, Error::CsrfRequired) {
            headers.insert("x-csrf-token", HeaderValue::from_static("Required"));
        }
        response
    }
}

pub use common::html::escape as html_escape;

/// Configuration values echoed in a message are cut to this many characters.
pub const ECHO_LIMIT: usize = 100;

/// `text` as a message may echo it: at most `max` characters, then `… (N bytes)`. A 2 MB regex
/// in `xs-app.json` must not become a 2 MB log line.
pub fn excerpt(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => {
            std::borrow::Cow::Owned(format!("{}… ({} bytes)", &text[..cut], text.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_error_carries_the_required_header() {
        let response = Error::CsrfRequired.into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.headers()["x-csrf-token"], "Required");
    }

    #[test]
    fn pages_name_their_status_and_an_xsuaa_timeout_is_504() {
        let timeout = Error::Xsuaa {
            doing: "refreshing the token",
            source: common::oauth::OAuthError::Timeout {
                url: "http://xsuaa.internal/oauth/token".into(),
            },
        };
        let unreachable = Error::Xsuaa {
            doing: "refreshing the token",
            source: common::oauth::OAuthError::Unreachable {
                url: "http://xsuaa.internal/oauth/token".into(),
                reason: "connection refused".into(),
            },
        };
        for (error, status, title) in [
            (Error::LoginFailed("x".into()), 401, "Login failed"),
            (Error::Unauthorized, 401, "Unauthorized"),
            (Error::CsrfRequired, 403, "Forbidden"),
            (Error::NotFound, 404, "Not Found"),
            (timeout, 504, "Gateway Timeout"),
            (unreachable, 502, "Bad Gateway"),
            (Error::Internal("x".into()), 500, "Internal Server Error"),
        ] {
            assert_eq!(error.status().as_u16(), status, "{error}");
            assert_eq!(error.title(), title, "{error}");
            assert!(
                !error.public_message().contains("xsuaa.internal"),
                "{error}"
            );
        }
    }

    #[test]
    fn echoed_values_are_cut() {
        assert_eq!(excerpt("short", 10), "short");
        let long = "é".repeat(300);
        let cut = excerpt(&long, ECHO_LIMIT);
        assert!(
            cut.starts_with(&"é".repeat(ECHO_LIMIT)) && cut.ends_with("… (600 bytes)"),
            "{cut}"
        );
    }

    #[test]
    fn messages_are_escaped() {
        assert_eq!(
            html_escape("<a href='x'>&"),
            "&lt;a href=&#39;x&#39;&gt;&amp;"
        );
    }
}
