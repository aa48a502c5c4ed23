//! `bsclient`: the tutorial's client app (seed 000, section 6) and the server-side token provider
//! (seed 003), done properly.
//!
//! - `GET /mainentry`: validates the user's JWT (forwarded by the App Router), looks up the
//!   token-exchange destination (`BACKEND_DESTINATION`, default `BackendServiceAPI`) with
//!   `X-user-token`, calls the Backend API with `authTokens[0]` and answers the products as an HTML
//!   table, or the backend's JSON for `Accept: application/json`.
//! - `GET /getToken?ttl=SECONDS`: a cached token from the token endpoint (HERE's signed request or
//!   XSUAA's client credentials, see [`token_provider`]), as `text/plain`; needs the token
//!   provider's scope.
//! - `GET /health`.
//!
//! Configuration: [`config::BsClientConfig`] (Cloud Foundry env only).

mod auth;
mod backend;
mod config;
mod cors;
mod error;
mod mainentry;
mod render;
mod state;
mod token_provider;
mod tokens;

pub use config::BsClientConfig;
pub use error::Error;
pub use state::AppState;

use axum::Router;
use axum::routing::get;
use std::future::Future;
use tower_http::trace::TraceLayer;

pub fn router(state: AppState) -> Router {
    let cors = axum::middleware::from_fn_with_state(
        cors::Cors::new(&state.config.allowed_origins),
        cors::middleware,
    );
    Router::new()
        .route("/mainentry", get(mainentry::mainentry))
        .route("/getToken", get(token_provider::get_token).layer(cors))
        .route("/health", get(health))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// One span per request, with the correlation id the App Router or the CF router sent; the path
/// only (no query, no headers), so no token can end up in a log line.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(64).collect::<String>())
    };
    let correlation_id = header("x-correlationid")
        .or_else(|| header("x-correlation-id"))
        .or_else(|| header("x-request-id"))
        .or_else(|| header("x-vcap-request-id"))
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        correlation_id = %correlation_id,
    )
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "UP" }))
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests finish;
/// with the timeouts and connection limit of `config.server` (see `common::server`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config.server.clone();
    common::server::serve(listener, router(state), &limits, shutdown).await
}

/// Resolves on SIGTERM or Ctrl-C, then logs that in-flight requests are being finished.
pub async fn shutdown_signal() {
    common::server::shutdown_signal().await;
    tracing::info!("stop signal received: finishing in-flight requests");
}
