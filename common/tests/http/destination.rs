use crate::support::*;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get, routing::post};
use common::Secret;
use common::cf::DestinationCredentials;
use common::destination::{DestinationClient, DestinationError};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// (raw path, X-user-token) of each lookup
type Lookups = Arc<Mutex<Vec<(String, Option<String>)>>>;

#[derive(Clone, Default)]
struct Platform {
    tokens_issued: Arc<AtomicUsize>,
    lookups: Lookups,
    /// the service token the Destination service accepts
    valid_token: Arc<Mutex<String>>,
}

async fn service_token(State(p): State<Platform>) -> Json<serde_json::Value> {
    let n = p.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({"access_token": format!("svc-{n}"), "token_type": "bearer", "expires_in": 3600}))
}

async fn lookup(
    State(p): State<Platform>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let user = headers
        .get("x-user-token")
        .map(|v| v.to_str().unwrap().to_owned());
    p.lookups
        .lock()
        .unwrap()
        .push((uri.path().to_owned(), user.clone()));
    let expected = format!("Bearer {}", p.valid_token.lock().unwrap());
    if headers.get("authorization").and_then(|h| h.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let config = |name: &str| {
        json!({"Name": name, "Type": "HTTP", "URL": "http://127.0.0.1:9/odata/v2/ProductService/Products",
               "Authentication": "OAuth2UserTokenExchange", "ProxyType": "Internet"})
    };
    match name.as_str() {
        "BackendServiceAPI" | "With Space/Slash" => Json(json!({
            "owner": {"SubaccountId": "sa", "InstanceId": null},
            "destinationConfiguration": config(&name),
            "authTokens": [{"type": "bearer", "value": format!("exchanged-for-{}", user.unwrap_or_default()),
                            "http_header": {"key": "Authorization", "value": "Bearer exchanged"}, "expires_in": "43199"}]
        }))
        .into_response(),
        "FailingExchange" => Json(json!({
            "destinationConfiguration": config(&name),
            "authTokens": [{"type": "", "value": "", "error": "Retrieval of OAuthToken failed due to: invalid_grant", "expires_in": "0"}]
        }))
        .into_response(),
        "Boom" => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        "Garbage" => "not json".into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"ErrorMessage": "Configuration with the specified name was not found"})),
        )
            .into_response(),
    }
}

async fn setup() -> (Platform, DestinationClient) {
    let platform = Platform::default();
    *platform.valid_token.lock().unwrap() = "svc-1".into();
    let router = Router::new()
        .route("/oauth/token", post(service_token))
        .route(
            "/destination-configuration/v1/destinations/{name}",
            get(lookup),
        )
        .with_state(platform.clone());
    let url = serve(router).await;
    let creds = DestinationCredentials {
        clientid: "sb-clone-dest!b1".into(),
        clientsecret: Secret::new("dsecret"),
        uri: url.clone(),
        url,
        uaadomain: None,
        xsappname: None,
    };
    (
        platform,
        DestinationClient::new(&creds, common::http::client()),
    )
}

#[tokio::test]
async fn finds_a_destination_with_a_cached_service_token() {
    let (platform, client) = setup().await;
    let l = client
        .find("BackendServiceAPI", Some("user-jwt"))
        .await
        .unwrap();
    assert_eq!(l.destination_configuration.name, "BackendServiceAPI");
    assert_eq!(l.auth_tokens[0].value.expose(), "exchanged-for-user-jwt");
    let (k, v) = l.authorization().unwrap().unwrap();
    assert_eq!(
        (k.as_str(), v.expose()),
        ("Authorization", "Bearer exchanged")
    );
    client
        .find("BackendServiceAPI", Some("user-jwt"))
        .await
        .unwrap();
    client
        .clone()
        .find("BackendServiceAPI", None)
        .await
        .unwrap();
    assert_eq!(
        platform.tokens_issued.load(Ordering::SeqCst),
        1,
        "service token is cached"
    );
    let lookups = platform.lookups.lock().unwrap();
    assert_eq!(lookups[0].1.as_deref(), Some("user-jwt"));
    assert_eq!(lookups[2].1, None, "no X-user-token without a user");
}

#[tokio::test]
async fn the_name_is_url_encoded() {
    let (platform, client) = setup().await;
    client.find("With Space/Slash", None).await.unwrap();
    assert_eq!(
        platform.lookups.lock().unwrap()[0].0,
        "/destination-configuration/v1/destinations/With%20Space%2FSlash"
    );
}

#[tokio::test]
async fn unknown_destination_is_not_found() {
    let (_, client) = setup().await;
    let err = client.find("Nope", None).await.unwrap_err();
    assert_eq!(
        err,
        DestinationError::NotFound {
            name: "Nope".into()
        }
    );
    assert_eq!(err.to_string(), "destination \"Nope\" not found");
}

#[tokio::test]
async fn failed_token_exchange_is_an_error() {
    let (_, client) = setup().await;
    let err = client
        .find("FailingExchange", Some("user-jwt"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "destination \"FailingExchange\": token retrieval failed: Retrieval of OAuthToken failed due to: invalid_grant"
    );
}

#[tokio::test]
async fn upstream_failures() {
    let (_, client) = setup().await;
    assert_eq!(
        client.find("Boom", None).await.unwrap_err(),
        DestinationError::Upstream {
            status: 500,
            body: "internal error".into()
        }
    );
    assert!(matches!(
        client.find("Garbage", None).await,
        Err(DestinationError::InvalidResponse { .. })
    ));
}

#[tokio::test]
async fn rejected_service_token_is_renewed_next_time() {
    let (platform, client) = setup().await;
    client.find("BackendServiceAPI", None).await.unwrap();
    *platform.valid_token.lock().unwrap() = "svc-2".into();
    assert_eq!(
        client.find("BackendServiceAPI", None).await.unwrap_err(),
        DestinationError::Unauthorized {
            status: 401,
            body: "Unauthorized".into()
        }
    );
    client.find("BackendServiceAPI", None).await.unwrap();
    assert_eq!(platform.tokens_issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn service_token_and_network_errors() {
    let closed = closed_port_url();
    let creds = DestinationCredentials {
        clientid: "c".into(),
        clientsecret: Secret::new("s"),
        uri: closed.clone(),
        url: closed.clone(),
        uaadomain: None,
        xsappname: None,
    };
    let client = DestinationClient::new(&creds, common::http::client());
    let err = client.find("X", None).await.unwrap_err();
    assert!(matches!(err, DestinationError::ServiceToken(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("cannot get a token for the Destination service: cannot reach ")
    );

    // token endpoint fine, Destination service down
    let platform = Platform::default();
    let url = serve(
        Router::new()
            .route("/oauth/token", post(service_token))
            .with_state(platform),
    )
    .await;
    let creds = DestinationCredentials {
        uri: closed.clone(),
        url,
        ..creds
    };
    let err = DestinationClient::new(&creds, common::http::client())
        .find("X", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DestinationError::Unreachable { url, .. } if url.starts_with(&closed)),
        "{err}"
    );
}
