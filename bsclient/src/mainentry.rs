//! `GET /mainentry`: the tutorial's flow (seed 000, section 6) with validation, a per-user cache and
//! one clear answer per failure.
//!
//! Cold: service token (XSUAA) -> destination lookup with `X-user-token` (the Destination service
//! exchanges the user token at XSUAA) -> Backend API. Warm: only the Backend API call, because the
//! lookup result (URL + exchanged token) is cached per user token until the exchanged token is about
//! to expire, and never beyond the user token's own `exp`.

use crate::auth::UserToken;
use crate::backend::{Target, call_backend, lookup};
use crate::error::{Error, Format};
use crate::render;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::destination::DestinationClient;
use std::time::{Duration, SystemTime};

pub async fn mainentry(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = Format::from_accept(headers.get(header::ACCEPT));
    match products(&state, &headers, format).await {
        Ok(response) => response,
        Err(e) => e.in_format(format).into_response(),
    }
}

async fn products(
    state: &AppState,
    headers: &HeaderMap,
    format: Format,
) -> Result<Response, Error> {
    let user = state.auth.authenticate(headers).await?;
    let target = target(state, &user).await?;
    let backend = match call_backend(&state.backend, state.config.upstream_timeout, &target).await {
        Ok(answer) => answer,
        Err(e) => {
            // A rejected exchanged token must not stay cached: the next request exchanges again.
            if matches!(e, Error::BackendForbidden { status: 401, .. })
                && !state.config.disable_cache
            {
                state.lookups.invalidate(&user.hash);
            }
            return Err(e);
        }
    };

    let private = [
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ),
        (
            header::VARY,
            HeaderValue::from_static("Accept, Authorization"),
        ),
    ];
    match format {
        Format::Json => {
            // We asked for JSON; anything else is passed on as what it is not.
            let content_type = match backend.content_type {
                None => HeaderValue::from_static("application/json"),
                Some(ct) if ct.to_str().is_ok_and(|s| s.contains("json")) => ct,
                Some(ct) => {
                    return Err(Error::BackendInvalid(format!(
                        "answered {} instead of JSON",
                        render::clip(ct.to_str().unwrap_or("a binary content type"))
                    )));
                }
            };
            Ok((
                StatusCode::OK,
                private,
                [(header::CONTENT_TYPE, content_type)],
                backend.body,
            )
                .into_response())
        }
        Format::Html | Format::Text => {
            let odata: serde_json::Value = serde_json::from_slice(&backend.body)
                .map_err(|e| Error::BackendNotJson(e.into()))?;
            let page = render::products_page(&state.config.backend_destination, &odata)
                .ok_or_else(|| {
                    Error::BackendInvalid("not an OData result (no \"d\" or \"value\")".into())
                })?;
            Ok((
                StatusCode::OK,
                private,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                page,
            )
                .into_response())
        }
    }
}

/// The destination lookup for this user, from the cache when warm (single flight when cold).
async fn target(state: &AppState, user: &UserToken) -> Result<Target, Error> {
    let name = state.config.backend_destination.clone();
    // The entry's expiry is fixed when it is fetched (not a per-caller max age, which would be
    // measured from the fetch and so shrink with every later request).
    let user_token_left = user
        .claims
        .expires_at()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    if state.config.disable_cache {
        // Benchmark "cold": like the tutorial's app, a fresh service token on every request.
        let client = DestinationClient::new(&state.config.destination, state.http.clone());
        return lookup(client, name, user.raw.clone(), user_token_left).await;
    }
    let client = state.destinations.clone();
    let raw = user.raw.clone();
    state
        .lookups
        .get_or_fetch(user.hash, None, move || {
            lookup(client, name, raw, user_token_left)
        })
        .await
}
