//! The mock XSUAA (Authorization & Trust Management service).

pub mod authorize;
pub(crate) mod grants;
pub(crate) mod pages;
pub(crate) mod store;
pub(crate) mod tokens;

use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::state::{self, Service, Shared};
use crate::xsuaa::tokens::{ClaimsExt, TokenRequest};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Marks requests that came in over the TLS listener (`https://{uaadomain}`).
#[derive(Clone, Copy)]
pub struct ViaTls;

/// The XSUAA routes (served on the http listener and, with [`ViaTls`], on the https one).
pub fn router(state: Shared) -> Router {
    let routes = Router::new()
        .route("/oauth/authorize", get(authorize::authorize))
        .route("/login", get(authorize::login_get))
        .route("/login.do", post(authorize::login_post))
        .route("/oauth/token", post(grants::token))
        .route("/token_keys", get(token_keys))
        .route("/userinfo", get(userinfo))
        .route("/logout.do", get(authorize::logout))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/__mock/token", post(mock_token))
        .route("/__mock/rotate-keys", post(rotate_keys))
        .route("/__mock/logout", post(mock_logout))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            zone_check,
        ));
    state::finish(routes, state, Service::Xsuaa)
}

/// SAP's libraries call `https://{uaadomain}` and name the zone in `x-zid` or `?zid=`; a zone
/// this XSUAA does not host is rejected as the real one does.
async fn zone_check(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let header_zid = request
        .headers()
        .get("x-zid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query_zid = request.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "zid")
            .map(|(_, v)| v.into_owned())
    });
    for zid in [header_zid, query_zid].into_iter().flatten() {
        if zid != state.model.zone.id {
            return Error::oauth(
                StatusCode::NOT_FOUND,
                "invalid_request",
                format!("identity zone {zid} does not exist on this XSUAA"),
            )
            .into_response();
        }
    }
    next.run(request).await
}

async fn token_keys(State(state): State<Shared>) -> Json<Value> {
    state.stats.xsuaa.incr("token_keys");
    Json(state.keys.jwks())
}

async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Result<Json<Value>> {
    state.stats.xsuaa.incr("userinfo");
    let token = state::bearer(&headers).ok_or_else(|| {
        Error::oauth(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Full authentication is required to access this resource",
        )
    })?;
    let claims = state
        .verify(token, 0)
        .map_err(|e| Error::oauth(StatusCode::UNAUTHORIZED, "invalid_token", e))?;
    let user = claims
        .str_claim("user_id")
        .and_then(|id| state.model.user_by_id(id))
        .filter(|_| claims.has_scope(crate::model::OPENID))
        .ok_or_else(|| {
            Error::oauth(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "Insufficient scope for this resource (a user token with openid is required)",
            )
        })?;
    Ok(Json(json!({
        "user_id": user.id, "sub": user.id, "user_name": user.name, "given_name": user.given_name,
        "family_name": user.family_name, "name": format!("{} {}", user.given_name, user.family_name),
        "email": user.email, "email_verified": true, "origin": user.origin,
        "zid": state.model.zone.id, "previous_logon_time": null,
        // As UAA: the user's custom attributes (the App Router's user API `attributes` reads them).
        "user_attributes": user.attributes,
    })))
}

async fn openid_configuration(State(state): State<Shared>, request: Request) -> Json<Value> {
    let base = match (request.extensions().get::<ViaTls>(), &state.urls.xsuaa_tls) {
        (Some(_), Some(tls)) => tls.clone(),
        _ => state.urls.xsuaa.clone(),
    };
    Json(json!({
        "issuer": state.urls.issuer(),
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/token_keys"),
        "end_session_endpoint": format!("{base}/logout.do"),
        "scopes_supported": ["openid"],
        "response_types_supported": ["code"],
        "grant_types_supported": crate::xs_security::DEFAULT_GRANT_TYPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "claims_supported": ["sub", "user_name", "origin", "iss", "auth_time", "amr", "azp", "acr",
            "client_id", "aud", "zid", "grant_type", "user_id", "cid", "scope", "exp", "iat", "jti",
            "email", "given_name", "family_name"],
    }))
}

/// `POST /__mock/token`: a token with a chosen lifetime (e.g. negative: already expired),
/// scopes or claims, for failure tests. Body:
/// `{"user": "alice", "client_id": "...", "expires_in": -120, "scopes": [...], "claims": {...}}`;
/// without `user` a client-credentials token; without `client_id` the first bound app's client.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MockTokenRequest {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    claims: Option<Map<String, Value>>,
}

async fn mock_token(State(state): State<Shared>, body: axum::body::Bytes) -> Result<Json<Value>> {
    let request: MockTokenRequest =
        serde_json::from_slice(if body.is_empty() { b"{}" } else { &body })
            .map_err(|e| Error::invalid_request(format!("body: {e}")))?;
    let app = match &request.client_id {
        Some(id) => state.model.app_by_client(id),
        None => state.model.bound_apps().next().or(state.model.apps.first()),
    }
    .ok_or_else(|| Error::invalid_request("unknown client_id"))?;
    let user = match &request.user {
        Some(name) => Some(
            state
                .model
                .user(name)
                .ok_or_else(|| Error::invalid_request(format!("unknown user {name}")))?,
        ),
        None => None,
    };
    let grant_type = if user.is_some() {
        "authorization_code"
    } else {
        "client_credentials"
    };
    let issued = state
        .issue(TokenRequest {
            app,
            user,
            grant_type,
            requested: None,
            validity: request.expires_in,
            auth_time: None,
            scopes_override: request.scopes,
            extra_claims: request.claims,
        })
        .map_err(|e| Error::oauth(StatusCode::BAD_REQUEST, "invalid_scope", e))?;
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.validity.max(0),
        "scope": issued.scopes.join(" "),
        "jti": issued.jti,
    })))
}

/// `POST /__mock/rotate-keys` `{"keep_old": true}`: a new signing key (new `kid`); with
/// `keep_old: false` tokens signed with the old key stop verifying.
async fn rotate_keys(State(state): State<Shared>, body: axum::body::Bytes) -> Result<Json<Value>> {
    let options: HashMap<String, bool> = if body.is_empty() {
        HashMap::new()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::invalid_request(format!("body: {e}")))?
    };
    let keep_old = options.get("keep_old").copied().unwrap_or(true);
    let key = tokio::task::spawn_blocking(SigningKey::generate)
        .await
        .map_err(|e| Error::startup("key generation", e))??;
    let kid = key.kid.clone();
    state.keys.rotate(key, keep_old);
    Ok(Json(json!({"kid": kid})))
}

/// `POST /__mock/logout` `{"user": "alice"}`: ends the user's login sessions and revokes their
/// refresh tokens (as an administrator would).
async fn mock_logout(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>> {
    let body: HashMap<String, String> = if body.is_empty() {
        query
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::invalid_request(format!("body: {e}")))?
    };
    let user = body
        .get("user")
        .ok_or_else(|| Error::invalid_request("user is required"))?;
    state.xsuaa.end_sessions_of(user);
    let revoked = state.xsuaa.revoke_refresh_of(user);
    Ok(Json(
        json!({"user": user, "revoked_refresh_tokens": revoked}),
    ))
}
