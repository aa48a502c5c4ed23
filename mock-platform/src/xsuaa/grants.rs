//! `POST /oauth/token`: the grants `authorization_code` (+ PKCE), `refresh_token`,
//! `client_credentials`, `password` and `urn:ietf:params:oauth:grant-type:jwt-bearer`, with
//! client authentication by HTTP Basic (raw or form-encoded id) or form parameters, and RFC 6749
//! errors.

use crate::clock::now;
use crate::error::{Error, Result};
use crate::model::{App, User};
use crate::state::Shared;
use crate::xsuaa::store::RefreshGrant;
use crate::xsuaa::tokens::{ClaimsExt, GRANT_JWT_BEARER, TokenRequest, assertion_has_uaa_user};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The stats key of each grant type.
fn stats_key(grant: &str) -> &'static str {
    match grant {
        "authorization_code" => "token.authorization_code",
        "refresh_token" => "token.refresh_token",
        "client_credentials" => "token.client_credentials",
        "password" => "token.password",
        GRANT_JWT_BEARER => "token.jwt_bearer",
        _ => "token.other",
    }
}

pub async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let result = handle(&state, &headers, &body);
    match result {
        Ok(response) => response,
        Err(e) => {
            state.stats.xsuaa.incr("token.errors");
            tracing::info!(error = %e, "token request rejected");
            e.into_response()
        }
    }
}

fn handle(state: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Error::invalid_request(
            "the token request must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| Error::invalid_request(format!("malformed form body: {e}")))?;
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in pairs {
        if params.insert(k.clone(), v).is_some() {
            return Err(Error::invalid_request(format!("parameter {k} is repeated")));
        }
    }
    let app = authenticate_client(state, headers, &params)?;
    let grant = params
        .get("grant_type")
        .map(String::as_str)
        .ok_or_else(|| Error::invalid_request("Missing grant type"))?;
    let known = [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
        GRANT_JWT_BEARER,
    ];
    if !known.contains(&grant) {
        return Err(Error::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant}"),
        ));
    }
    if !app.allows_grant(grant) {
        return Err(Error::oauth(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            format!("Unauthorized grant type: {grant}"),
        ));
    }
    let requested: Option<Vec<String>> = params
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|s| !s.is_empty());
    let response = match grant {
        "client_credentials" => issue(state, app, None, grant, requested.as_deref(), None, None)?,
        "password" => {
            let username = param(&params, "username")?;
            let password = param(&params, "password")?;
            let user = state
                .model
                .user(username)
                .filter(|u| u.password == password)
                .ok_or_else(|| Error::invalid_grant("Bad credentials"))?;
            issue(
                state,
                app,
                Some(user),
                grant,
                requested.as_deref(),
                Some(now()),
                None,
            )?
        }
        "authorization_code" => authorization_code(state, app, &params)?,
        "refresh_token" => {
            let token = param(&params, "refresh_token")?;
            let grant_data = state
                .xsuaa
                .take_refresh(token)
                .filter(|g| g.expires_at > now())
                .ok_or_else(|| {
                    Error::invalid_grant("Invalid refresh token (expired or already used)")
                })?;
            if grant_data.client_id != app.client_id {
                return Err(Error::invalid_grant("Wrong client for this refresh token"));
            }
            let user = state.model.user(&grant_data.user).ok_or_else(|| {
                Error::invalid_grant("The user of this refresh token no longer exists")
            })?;
            let scopes = requested.or(grant_data.scopes);
            issue(
                state,
                app,
                Some(user),
                grant,
                scopes.as_deref(),
                Some(grant_data.auth_time),
                None,
            )?
        }
        _ => jwt_bearer(state, app, &params, requested.as_deref())?,
    };
    state.stats.xsuaa.incr(stats_key(grant));
    tracing::info!(grant_type = grant, client_id = %app.client_id, "token issued");
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(response),
    )
        .into_response())
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::invalid_request(format!("Missing parameter: {name}")))
}

/// The client, authenticated by HTTP Basic or by `client_id`/`client_secret` in the body. The
/// Basic user may be raw (`sb-x!t1`, as SAP's samples send it) or form-encoded (RFC 6749 §2.3.1).
fn authenticate_client<'a>(
    state: &'a Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<&'a App> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, value)| value.trim());
    let (id, secret) = match basic {
        Some(encoded) => {
            let decoded = STANDARD
                .decode(encoded)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Error::invalid_client("Malformed Basic authorization header"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| Error::invalid_client("Malformed Basic authorization header"))?;
            (id.to_string(), secret.to_string())
        }
        None => match (params.get("client_id"), params.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            (Some(_), None) => return Err(Error::invalid_client("Bad credentials")),
            _ => {
                return Err(Error::invalid_client(
                    "Full authentication is required to access this resource",
                ));
            }
        },
    };
    let candidates = [
        (id.clone(), secret.clone()),
        (form_decode(&id), form_decode(&secret)),
    ];
    for (id, secret) in candidates {
        if let Some(app) = state.model.app_by_client(&id) {
            if app.client_secret == secret {
                return Ok(app);
            }
            return Err(Error::invalid_client("Bad credentials"));
        }
    }
    Err(Error::invalid_client("Bad credentials"))
}

fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn issue(
    state: &Shared,
    app: &App,
    user: Option<&User>,
    grant: &str,
    requested: Option<&[String]>,
    auth_time: Option<i64>,
    nonce: Option<&str>,
) -> Result<Value> {
    let issued = state
        .issue(TokenRequest {
            app,
            user,
            grant_type: grant,
            requested,
            validity: None,
            auth_time,
            scopes_override: None,
            extra_claims: None,
        })
        .map_err(|e| {
            if e.starts_with("Invalid scope") {
                Error::oauth(StatusCode::BAD_REQUEST, "invalid_scope", e)
            } else {
                Error::oauth(StatusCode::INTERNAL_SERVER_ERROR, "server_error", e)
            }
        })?;
    let mut response = json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.validity.max(0),
        "scope": issued.scopes.join(" "),
        "jti": issued.jti,
    });
    if let Some(user) = user {
        let refresh = state.xsuaa.add_refresh(RefreshGrant {
            client_id: app.client_id.clone(),
            user: user.name.clone(),
            scopes: requested.map(<[String]>::to_vec),
            auth_time: auth_time.unwrap_or_else(now),
            expires_at: now() + app.refresh_token_validity,
        });
        response["refresh_token"] = json!(refresh);
        if grant == "authorization_code" || grant == "password" {
            let id_token = state
                .id_token(app, user, grant, auth_time.unwrap_or_else(now), nonce)
                .map_err(|e| Error::oauth(StatusCode::INTERNAL_SERVER_ERROR, "server_error", e))?;
            response["id_token"] = json!(id_token);
        }
    }
    Ok(response)
}

fn authorization_code(
    state: &Shared,
    app: &App,
    params: &HashMap<String, String>,
) -> Result<Value> {
    let code = param(params, "code")?;
    let grant = state.xsuaa.take_code(code).ok_or_else(|| {
        Error::invalid_grant("Invalid authorization code (unknown or already used)")
    })?;
    if grant.expires_at <= now() {
        return Err(Error::invalid_grant("Invalid authorization code (expired)"));
    }
    if grant.request.client_id != app.client_id {
        return Err(Error::invalid_grant(
            "The authorization code was issued to another client",
        ));
    }
    let redirect_uri = params.get("redirect_uri");
    match (&grant.request.redirect_uri_param, redirect_uri) {
        (Some(expected), Some(given)) if expected == given => {}
        (Some(_), _) => {
            return Err(Error::invalid_grant("Redirect URI mismatch."));
        }
        (None, Some(given)) if *given != grant.request.redirect_uri => {
            return Err(Error::invalid_grant("Redirect URI mismatch."));
        }
        (None, _) => {}
    }
    let verifier = params.get("code_verifier");
    match (&grant.request.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let valid_format = (43..=128).contains(&verifier.len())
                && verifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c));
            let computed = match grant.request.code_challenge_method.as_deref() {
                Some("S256") => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
                _ => verifier.clone(),
            };
            if !valid_format || computed != *challenge {
                return Err(Error::invalid_grant(
                    "PKCE verification failed: code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => {
            return Err(Error::invalid_grant(
                "PKCE: code_verifier is required (the authorization request had a code_challenge)",
            ));
        }
        (None, Some(_)) => {
            return Err(Error::invalid_grant(
                "PKCE: code_verifier given but the authorization request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    let user = state
        .model
        .user(&grant.user)
        .ok_or_else(|| Error::invalid_grant("The user no longer exists"))?;
    issue(
        state,
        app,
        Some(user),
        "authorization_code",
        grant.request.scopes.as_deref(),
        Some(grant.auth_time),
        grant.request.nonce.as_deref(),
    )
}

/// Exchanges a user token of this XSUAA (`assertion`) for a token of the requesting client
/// carrying the user's scopes that client may hold. The assertion must carry `uaa.user`.
fn jwt_bearer(
    state: &Shared,
    app: &App,
    params: &HashMap<String, String>,
    requested: Option<&[String]>,
) -> Result<Value> {
    let assertion = param(params, "assertion")?;
    let claims = state
        .verify(assertion, 0)
        .map_err(|e| Error::invalid_grant(format!("Invalid assertion: {e}")))?;
    if !claims.is_user_token() {
        return Err(Error::invalid_grant(
            "Invalid assertion: not a user token (client credentials tokens cannot be exchanged)",
        ));
    }
    if !assertion_has_uaa_user(&claims) {
        return Err(Error::invalid_grant(
            "Invalid assertion: the user token lacks the scope uaa.user, which the token exchange requires",
        ));
    }
    let user = claims
        .str_claim("user_id")
        .and_then(|id| state.model.user_by_id(id))
        .ok_or_else(|| Error::invalid_grant("Invalid assertion: unknown user"))?;
    let auth_time = claims.get("auth_time").and_then(Value::as_i64);
    issue(
        state,
        app,
        Some(user),
        GRANT_JWT_BEARER,
        requested,
        auth_time,
        None,
    )
}
