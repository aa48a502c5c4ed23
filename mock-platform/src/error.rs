//! The crate's one error type. Each service answers in its own wire format (RFC 6749 JSON at
//! XSUAA, `{"ErrorMessage"}` at the Destination service, OData JSON at the Backend API), so the
//! variant says which format, and `IntoResponse` renders it in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid configuration: names the file, the key and what is wrong.
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),

    /// `--names`: the scenario's names file.
    #[error("{0}")]
    Names(#[from] common::names::NamesError),

    /// Start-up failures (generating keys, TLS set-up, writing the ready file): what was being
    /// done, with the error that stopped it as the source (also in the message, which is what
    /// the process prints; `common::error_chain` does not repeat it).
    #[error("{what}: {source}")]
    Startup {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A port that cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },

    /// A token the mock cannot sign (a broken key).
    #[error("token signing: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),

    /// The stand-alone Backend API's environment (`PORT`, `BACKEND_*`): names the variable.
    #[error("{0}")]
    Environment(String),

    /// The stand-alone Backend API's xsuaa binding.
    #[error("VCAP_SERVICES: {0}")]
    Binding(#[source] common::cf::CfError),

    /// RFC 6749 §5.2 error from the token endpoint (and `/userinfo`).
    #[error("{error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },

    /// An error XSUAA shows to the browser as a page (invalid client or `redirect_uri` at
    /// `/oauth/authorize`: RFC 6749 §4.1.2.1 forbids redirecting then).
    #[error("{message}")]
    Page { status: StatusCode, message: String },

    /// Destination service error body: `{"ErrorMessage": "..."}`.
    #[error("{message}")]
    Destination { status: StatusCode, message: String },

    /// OData v2 error: `{"error":{"code","message":{"lang","value"}}}`.
    #[error("{message}")]
    OData {
        status: StatusCode,
        code: &'static str,
        message: String,
        /// `x-csrf-token: Required` on a failed CSRF check, as SAP Gateway sends it.
        csrf_required: bool,
    },

    /// HERE authentication API error: `{"errorId","httpStatus","errorCode","message","error",
    /// "error_description"}` (`errorCode` is HERE's six-digit code, e.g. 401300).
    #[error("{code}: {message}")]
    Here {
        status: StatusCode,
        code: u32,
        message: String,
    },

    /// Failure injected with `POST /__mock/fail`.
    #[error("injected failure ({status})")]
    Injected { status: StatusCode },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A start-up step that failed, keeping the error that made it fail.
    pub fn startup(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Startup {
            what: what.into(),
            source: source.into(),
        }
    }

    pub fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Error::OAuth {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::oauth(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::oauth(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    pub fn destination(status: StatusCode, message: impl Into<String>) -> Self {
        Error::Destination {
            status,
            message: message.into(),
        }
    }

    pub fn odata(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Error::OData {
            status,
            code,
            message: message.into(),
            csrf_required: false,
        }
    }

    pub fn page(status: StatusCode, message: impl Into<String>) -> Self {
        Error::Page {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::Config(_)
            | Error::Names(_)
            | Error::Startup { .. }
            | Error::Listen { .. }
            | Error::Environment(_)
            | Error::Binding(_)
            | Error::Signing(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
            }
            Error::OAuth {
                status,
                error,
                description,
            } => {
                let mut response = (
                    status,
                    [(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
                    axum::Json(json!({"error": error, "error_description": description})),
                )
                    .into_response();
                if status == StatusCode::UNAUTHORIZED {
                    // RFC 6749 §5.2: a 401 carries the scheme the client should authenticate with.
                    let value = if error == "invalid_client" {
                        "Basic realm=\"UAA/client\", error=\"unauthorized\""
                    } else {
                        "Bearer realm=\"UAA/oauth\", error=\"invalid_token\""
                    };
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
                }
                response
            }
            Error::Page { status, message } => (
                status,
                Html(crate::xsuaa::pages::error_page(&message)),
            )
                .into_response(),
            Error::Here {
                status,
                code,
                message,
            } => {
                let error = if status == StatusCode::UNAUTHORIZED {
                    "invalid_client"
                } else {
                    "invalid_request"
                };
                (
                    status,
                    [(header::CACHE_CONTROL, "no-store")],
                    axum::Json(json!({
                        "errorId": format!("ERROR-{}", crate::ids::random_id(32)),
                        "httpStatus": status.as_u16(),
                        "errorCode": code,
                        "message": message,
                        "error": error,
                        "error_description": format!("errorCode: '{code}'. {message}"),
                    })),
                )
                    .into_response()
            }
            Error::Destination { status, message } => {
                (status, axum::Json(json!({"ErrorMessage": message}))).into_response()
            }
            Error::OData {
                status,
                code,
                message,
                csrf_required,
            } => {
                let mut response = (
                    status,
                    axum::Json(json!({
                        "error": {"code": code, "message": {"lang": "en", "value": message}}
                    })),
                )
                    .into_response();
                if csrf_required {
                    response
                        .headers_mut()
                        .insert("x-csrf-token", HeaderValue::from_static("Required"));
                }
                if status == StatusCode::UNAUTHORIZED {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"Backend API\""),
                    );
                }
                response
            }
            Error::Injected { status } => (
                status,
                axum::Json(json!({"error": "injected_failure", "error_description": "failure injected with POST /__mock/fail"})),
            )
                .into_response(),
        }
    }
}
