//! The mock Destination service (`/destination-configuration/v1/...`). Lookups are protected by
//! a token of a destination binding's client; for OAuth destinations the service fetches the
//! target token from the token service URL over real HTTP, as the real service does, and answers
//! it in `authTokens` (or a failure in `authTokens[0].error`, still with 200).

use crate::error::{Error, Result};
use crate::model::{Destination, DestinationInstance};
use crate::state::{self, Service, Shared, VerifiedToken};
use crate::xsuaa::tokens::{ClaimsExt, GRANT_JWT_BEARER};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub const NOT_FOUND: &str = "Configuration with the specified name was not found";

pub fn router(state: Shared) -> Router {
    let routes = Router::new()
        .route(
            "/destination-configuration/v1/destinations/{name}",
            get(find),
        )
        .route(
            "/destination-configuration/v1/subaccountDestinations",
            get(list_subaccount),
        )
        .route(
            "/destination-configuration/v1/subaccountDestinations/{name}",
            get(get_subaccount),
        )
        .route(
            "/destination-configuration/v1/instanceDestinations",
            get(list_instance),
        )
        .route(
            "/destination-configuration/v1/instanceDestinations/{name}",
            get(get_instance),
        );
    state::finish(routes, state, Service::Destination)
}

/// The caller: the destination instance whose binding's client the bearer token belongs to,
/// and the token's claims.
struct Caller<'a> {
    instance: &'a DestinationInstance,
    claims: Arc<VerifiedToken>,
    token: String,
}

fn authenticate<'a>(state: &'a Shared, headers: &HeaderMap) -> Result<Caller<'a>> {
    let unauthorized = |message: String| {
        state.stats.destination.incr("unauthorized");
        Error::destination(StatusCode::UNAUTHORIZED, message)
    };
    let token = state::bearer(headers).ok_or_else(|| {
        unauthorized(
            "Unauthorized: a bearer token of the destination service binding is required".into(),
        )
    })?;
    let claims = state
        .verify(token, 0)
        .map_err(|e| unauthorized(format!("Unauthorized: {e}")))?;
    let client = claims.client_id().unwrap_or_default().to_string();
    let instance = state
        .model
        .destination_instances
        .iter()
        .find(|i| state.model.apps[i.app].client_id == client)
        .ok_or_else(|| {
            state.stats.destination.incr("unauthorized");
            Error::destination(
                StatusCode::FORBIDDEN,
                format!(
                    "Forbidden: client {client} is not bound to a destination service instance"
                ),
            )
        })?;
    Ok(Caller {
        instance,
        claims,
        token: token.to_string(),
    })
}

fn owner(state: &Shared, instance: Option<&DestinationInstance>) -> Value {
    json!({
        "SubaccountId": state.model.zone.id,
        "InstanceId": instance.map(|i| crate::model::stable_guid(&format!("instance/{}", i.name))),
    })
}

fn properties(d: &Destination) -> Value {
    json!(d.properties)
}

async fn list_subaccount(State(state): State<Shared>, headers: HeaderMap) -> Result<Json<Value>> {
    authenticate(&state, &headers)?;
    state.stats.destination.incr("listings");
    Ok(Json(Value::Array(
        state
            .model
            .subaccount_destinations
            .iter()
            .map(properties)
            .collect(),
    )))
}

async fn list_instance(State(state): State<Shared>, headers: HeaderMap) -> Result<Json<Value>> {
    let caller = authenticate(&state, &headers)?;
    state.stats.destination.incr("listings");
    Ok(Json(Value::Array(
        caller
            .instance
            .destinations
            .iter()
            .map(properties)
            .collect(),
    )))
}

fn not_found(state: &Shared) -> Error {
    state.stats.destination.incr("not_found");
    Error::destination(StatusCode::NOT_FOUND, NOT_FOUND)
}

async fn get_subaccount(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    authenticate(&state, &headers)?;
    state
        .model
        .subaccount_destinations
        .iter()
        .find(|d| d.name() == name)
        .map(|d| Json(properties(d)))
        .ok_or_else(|| not_found(&state))
}

async fn get_instance(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>> {
    let caller = authenticate(&state, &headers)?;
    caller
        .instance
        .destinations
        .iter()
        .find(|d| d.name() == name)
        .map(|d| Json(properties(d)))
        .ok_or_else(|| not_found(&state))
}

/// "Find destination": instance level first, then subaccount level, with the auth tokens.
async fn find(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>> {
    let caller = authenticate(&state, &headers)?;
    state.stats.destination.incr("lookups");
    state.stats.destination.incr(&format!("lookups.{name}"));
    let (destination, instance) = match caller
        .instance
        .destinations
        .iter()
        .find(|d| d.name() == name)
    {
        Some(d) => (d, Some(caller.instance)),
        None => (
            state
                .model
                .subaccount_destinations
                .iter()
                .find(|d| d.name() == name)
                .ok_or_else(|| not_found(&state))?,
            None,
        ),
    };
    let mut answer = json!({
        "owner": owner(&state, instance),
        "destinationConfiguration": properties(destination),
    });
    let skip = query
        .get("$skipTokenRetrieval")
        .is_some_and(|v| v == "true");
    if !skip && let Some(token) = auth_token(&state, destination, &caller, &headers).await {
        answer["authTokens"] = json!([token]);
    }
    Ok(Json(answer))
}

/// The user token for exchange: `X-user-token` (the tutorial's way), else a user token in
/// `Authorization` (SAP Cloud SDK sends the user's token exchanged for the binding's client).
fn user_token<'a>(caller: &'a Caller<'_>, headers: &'a HeaderMap) -> Option<&'a str> {
    headers
        .get("x-user-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        .map(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .unwrap_or(v)
        })
        .filter(|v| !v.is_empty())
        .or_else(|| {
            caller
                .claims
                .is_user_token()
                .then_some(caller.token.as_str())
        })
}

async fn auth_token(
    state: &Shared,
    d: &Destination,
    caller: &Caller<'_>,
    headers: &HeaderMap,
) -> Option<Value> {
    let prop = |k: &str| d.get(k).unwrap_or_default().to_string();
    let form: Vec<(&str, String)> = match d.authentication() {
        "NoAuthentication" => return None,
        "BasicAuthentication" => {
            let value = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                prop("User"),
                prop("Password")
            ));
            return Some(json!({
                "type": "Basic", "value": value,
                "http_header": {"key": "Authorization", "value": format!("Basic {value}")}
            }));
        }
        "OAuth2ClientCredentials" => vec![("grant_type", "client_credentials".into())],
        "OAuth2Password" => vec![
            ("grant_type", "password".into()),
            ("username", prop("User")),
            ("password", prop("Password")),
        ],
        auth @ ("OAuth2UserTokenExchange" | "OAuth2JWTBearer") => match user_token(caller, headers)
        {
            Some(token) => vec![
                ("grant_type", GRANT_JWT_BEARER.into()),
                ("assertion", token.to_string()),
            ],
            None => {
                state.stats.destination.incr("exchange_errors");
                return Some(token_error(&format!(
                    "{auth} needs the user's token: send it in the X-user-token header (or authenticate with a user token)"
                )));
            }
        },
        other => {
            return Some(token_error(&format!(
                "authentication type {other} is not supported"
            )));
        }
    };
    let mut form = form;
    form.push(("client_id", prop("clientId")));
    form.push(("client_secret", prop("clientSecret")));
    if let Some(scope) = d.get("scope") {
        form.push(("scope", scope.to_string()));
    }
    let url = prop("tokenServiceURL");
    state.stats.destination.incr("exchanges");
    match fetch_token(state, &url, &form).await {
        Ok((token_type, value, expires_in)) => Some(json!({
            "type": token_type,
            "value": value,
            "http_header": {"key": "Authorization", "value": format!("{} {value}", capitalize(&token_type))},
            "expires_in": expires_in.to_string(),
        })),
        Err(reason) => {
            state.stats.destination.incr("exchange_errors");
            tracing::info!(destination = d.name(), %reason, "token retrieval failed");
            Some(token_error(&reason))
        }
    }
}

fn token_error(reason: &str) -> Value {
    json!({"type": "", "value": "", "error": format!("Retrieval of OAuthToken failed due to: {reason}"), "expires_in": "0"})
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn fetch_token(
    state: &Shared,
    url: &str,
    form: &[(&str, String)],
) -> std::result::Result<(String, String, i64), String> {
    let response = state
        .http
        .post(url)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("timeout calling the token service URL {url}")
            } else {
                format!("cannot reach the token service URL {url}: {e}")
            }
        })?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("reading the answer of {url}: {e}"))?;
    if !status.is_success() {
        let description = serde_json::from_str::<Value>(&body)
            .ok()
            .map(|v| {
                format!(
                    "{}: {}",
                    v["error"].as_str().unwrap_or("error"),
                    v["error_description"].as_str().unwrap_or_default()
                )
            })
            .unwrap_or_else(|| body.chars().take(200).collect());
        return Err(format!(
            "Unable to fetch token from the token service URL {url}. Response was {status}: {description}"
        ));
    }
    let json: Value =
        serde_json::from_str(&body).map_err(|e| format!("invalid answer of {url}: {e}"))?;
    let value = json["access_token"]
        .as_str()
        .ok_or_else(|| format!("the answer of {url} has no access_token"))?;
    Ok((
        json["token_type"].as_str().unwrap_or("bearer").to_string(),
        value.to_string(),
        json["expires_in"].as_i64().unwrap_or_default(),
    ))
}
