//! The Backend API as an app of its own, as it runs on Cloud Foundry (`backend-api`, pushed by
//! `cargo xtask deploy --with-backend`): the same OData `ProductService` as the mock's Backend API,
//! but every request's token is validated as a real XSUAA token against the app's own `xsuaa`
//! binding in `VCAP_SERVICES` (`common::jwt`: signature from the binding's JWKS, `exp`, issuer and
//! zone, audience = the binding's xsappname or client) and must carry `<xsappname>.<scope>`.
//! No `/__mock/*` knobs, no fault injection; writes only with `BACKEND_ALLOW_WRITES=true`.
//!
//! Env: `PORT` (default 8080), `VCAP_SERVICES` (one `xsuaa` binding), `BACKEND_SCOPE` (local
//! scope name, default `AllAccess`), `BACKEND_ALLOW_WRITES` (`true`/`false`, default `false`).

use crate::backend;
use crate::error::Error;
use crate::state::{self, Shared, Urls};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use common::cf::{VcapServices, XsuaaCredentials};
use common::jwt::{JwtError, JwtValidator};
use std::sync::Arc;
use std::time::Duration;

/// Reading a request and answering it; a client that sends its body slower than this gets 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Outbound JWKS fetches.
const JWKS_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct BackendAppConfig {
    pub port: u16,
    pub xsuaa: XsuaaCredentials,
    /// `<xsappname>.<scope>`, as it appears in tokens.
    pub required_scope: String,
    pub allow_writes: bool,
}

impl BackendAppConfig {
    /// From the process env, as Cloud Foundry sets it; every problem is named.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let startup = Error::Environment;
        let port = match var("PORT") {
            None => 8080,
            Some(p) => p
                .trim()
                .parse()
                .map_err(|_| startup(format!("PORT {p:?} is not a port number")))?,
        };
        let vcap = var("VCAP_SERVICES").ok_or_else(|| {
            startup(
                "VCAP_SERVICES is not set: bind an xsuaa instance (cf bind-service, or services: \
                 in manifest.yml)"
                    .into(),
            )
        })?;
        let xsuaa = VcapServices::parse(&vcap)
            .and_then(|v| v.xsuaa())
            .map_err(Error::Binding)?;
        let scope = var("BACKEND_SCOPE").unwrap_or_else(|| "AllAccess".into());
        if scope.is_empty() || scope.contains(char::is_whitespace) || scope.contains('.') {
            return Err(startup(format!(
                "BACKEND_SCOPE {scope:?}: expected the local scope name, e.g. AllAccess"
            )));
        }
        let allow_writes = match var("BACKEND_ALLOW_WRITES").as_deref().map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(startup(format!(
                    "BACKEND_ALLOW_WRITES {other:?}: expected true or false"
                )));
            }
        };
        Ok(Self {
            port,
            required_scope: format!("{}.{scope}", xsuaa.xsappname),
            xsuaa,
            allow_writes,
        })
    }
}

struct App {
    /// The OData engine and its data (the mock's model; its XSUAA side is never served).
    odata: Shared,
    /// `/odata/v2/ProductService/`
    root: String,
    validator: JwtValidator,
    required_scope: String,
    allow_writes: bool,
}

/// The app's routes: `/health` and the OData service; anything else is 404.
pub fn router(config: &BackendAppConfig) -> Result<Router, Error> {
    // The mock's built-in platform brings the product catalogue and the OData model; its signing
    // key and XSUAA are never used here: tokens are checked against the binding only.
    let mock = crate::MockConfig::builtin();
    let unused = "http://127.0.0.1:0".to_string();
    let odata = crate::PlatformState::from_config(
        &mock,
        Urls {
            xsuaa: unused.clone(),
            xsuaa_tls: None,
            destination: unused.clone(),
            backend: unused,
        },
    )?;
    let http = common::http::client_with_timeouts(Duration::from_secs(5), JWKS_TIMEOUT);
    let app = Arc::new(App {
        root: backend::service_root_path(&odata.model.backend),
        odata,
        validator: JwtValidator::from_xsuaa(&config.xsuaa, http),
        required_scope: config.required_scope.clone(),
        allow_writes: config.allow_writes,
    });
    let root = app.root.clone();
    Ok(Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "UP"})) }),
        )
        .route(root.trim_end_matches('/'), any(odata_handler))
        .route(&root, any(odata_handler))
        .route(&format!("{root}{{*path}}"), any(odata_handler))
        .layer(axum::middleware::from_fn(request_timeout))
        .with_state(app))
}

async fn request_timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request not completed in time").into_response(),
    }
}

async fn odata_handler(
    State(app): State<Arc<App>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    backend::odata_answer(serve(&app, method, &headers, &uri, &body).await)
}

async fn serve(
    app: &App,
    method: Method,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<Response, Error> {
    let Some(token) = state::bearer(headers) else {
        return Err(Error::odata(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Authorization required: send Authorization: Bearer <token issued by XSUAA>",
        ));
    };
    let claims = match app
        .validator
        .validate_with_scope(token, &app.required_scope)
        .await
    {
        Ok(claims) => claims,
        Err(JwtError::MissingScope(scope)) => {
            return Err(Error::odata(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                format!("Insufficient scope: the token lacks {scope}"),
            ));
        }
        Err(e @ JwtError::KeyFetch(_)) => {
            // Our problem, not the caller's: XSUAA's keys are unreachable.
            tracing::error!(error = %e, "cannot validate tokens");
            return Err(Error::odata(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "Token keys of the identity provider are unavailable; try again later",
            ));
        }
        Err(e) => {
            return Err(Error::odata(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                format!("Invalid token: {e}"),
            ));
        }
    };
    let reading =
        (method == Method::GET || method == Method::HEAD) && headers.get("x-http-method").is_none();
    if !reading && !app.allow_writes {
        return Err(Error::odata(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "This Backend API is read-only (BACKEND_ALLOW_WRITES is not true)",
        ));
    }
    // The CSRF token is bound to the user (or, for a technical user, the client).
    let subject = claims
        .user_key()
        .or_else(|| claims.client_id().map(str::to_owned))
        .unwrap_or_default();
    backend::serve_authorized(&app.odata, subject, method, headers, uri, body)
}

/// Binds `127.0.0.1`/`0.0.0.0:PORT` (`host`) and serves until SIGTERM/Ctrl-C.
pub async fn run(config: BackendAppConfig, host: std::net::IpAddr) -> Result<(), Error> {
    let router = router(&config)?;
    let listener = tokio::net::TcpListener::bind((host, config.port))
        .await
        .map_err(|source| Error::Listen {
            addr: format!("{host}:{}", config.port),
            source,
        })?;
    tracing::info!(
        port = config.port,
        xsappname = %config.xsuaa.xsappname,
        required_scope = %config.required_scope,
        allow_writes = config.allow_writes,
        "Backend API listening"
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(common::server::shutdown_signal())
        .await
        .map_err(|e| Error::startup("server", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vcap() -> String {
        serde_json::json!({"xsuaa": [{"name": "BackendXsuaa", "label": "xsuaa", "tags": ["xsuaa"],
            "credentials": {"clientid": "sb-Backend-service!t7", "clientsecret": "s",
                "url": "https://demo.authentication.example.com", "uaadomain": "authentication.example.com",
                "xsappname": "Backend-service!t7"}}]})
        .to_string()
    }

    #[test]
    fn the_required_scope_is_the_bindings_xsappname_with_the_scope() {
        let vcap = vcap();
        let config =
            BackendAppConfig::from_vars(|n| (n == "VCAP_SERVICES").then(|| vcap.clone())).unwrap();
        assert_eq!(config.required_scope, "Backend-service!t7.AllAccess");
        assert_eq!(config.port, 8080);
        assert!(!config.allow_writes);
    }

    #[test]
    fn bad_env_is_named() {
        let err = BackendAppConfig::from_vars(|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("VCAP_SERVICES is not set"), "{err}");
        let vcap = vcap();
        let err = BackendAppConfig::from_vars(|n| match n {
            "VCAP_SERVICES" => Some(vcap.clone()),
            "BACKEND_ALLOW_WRITES" => Some("yes".into()),
            _ => None,
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("BACKEND_ALLOW_WRITES \"yes\""), "{err}");
    }
}
