use crate::support::*;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json, Router, extract::State, routing::post};
use base64::Engine;
use common::Secret;
use common::oauth::{ClientAuth, OAuthClient, OAuthError};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ID: &str = "sb-app!t1|clone";
const SECRET: &str = "s3cret+/=";

type Seen = Arc<Mutex<Vec<(HeaderMap, HashMap<String, String>)>>>;

/// A token endpoint that checks client authentication and each grant's parameters like XSUAA.
async fn token(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    seen.lock().unwrap().push((headers.clone(), form.clone()));
    let basic = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let by_form = form.get("client_id").map(String::as_str) == Some(ID)
        && form.get("client_secret").map(String::as_str) == Some(SECRET);
    if basic.as_deref() != Some(&format!("{ID}:{SECRET}")) && !by_form {
        let body = json!({"error": "unauthorized", "error_description": "Bad credentials"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
    let ok = match grant {
        "client_credentials" => true,
        "password" => {
            form.get("username").map(String::as_str) == Some("alice")
                && form.get("password").map(String::as_str) == Some("pw")
        }
        "authorization_code" => {
            form.get("code").map(String::as_str) == Some("the-code")
                && form.get("code_verifier").is_some_and(|v| v.len() >= 43)
                && form.get("redirect_uri").map(String::as_str)
                    == Some("http://127.0.0.1/login/callback")
        }
        "refresh_token" => form.get("refresh_token").map(String::as_str) == Some("r1"),
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            form.get("assertion").map(String::as_str) == Some("user-jwt")
        }
        _ => {
            let body = json!({"error": "unsupported_grant_type", "error_description": grant});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    if !ok {
        let body =
            json!({"error": "invalid_grant", "error_description": "Invalid grant parameters"});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    Json(json!({
        "access_token": format!("at-{grant}"), "token_type": "bearer", "expires_in": 43199,
        "scope": "openid uaa.user", "jti": "j1", "refresh_token": "r2"
    }))
    .into_response()
}

async fn setup() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let router = Router::new()
        .route("/oauth/token", post(token))
        .route(
            "/gateway/oauth/token",
            post(|| async { (StatusCode::BAD_GATEWAY, "<html>Bad Gateway</html>") }),
        )
        .route("/garbage/oauth/token", post(|| async { "not json" }))
        .route("/slow/oauth/token", post(std::future::pending::<String>))
        .with_state(seen.clone());
    (serve(router).await, seen)
}

fn client(url: &str) -> OAuthClient {
    OAuthClient::new(url, ID, Secret::new(SECRET), common::http::client())
}

#[tokio::test]
async fn every_grant_with_form_client_auth() {
    let (url, seen) = setup().await;
    let c = client(&url);
    let t = c.client_credentials(None).await.unwrap();
    assert_eq!(t.access_token.expose(), "at-client_credentials");
    assert_eq!(
        (t.expires_in, t.scopes()),
        (43199, vec!["openid", "uaa.user"])
    );
    assert_eq!(
        c.password("alice", &Secret::new("pw"))
            .await
            .unwrap()
            .access_token
            .expose(),
        "at-password"
    );
    let t = c
        .exchange_code(
            "the-code",
            "http://127.0.0.1/login/callback",
            &Secret::new("v".repeat(43)),
        )
        .await
        .unwrap();
    assert_eq!(t.refresh_token.unwrap().expose(), "r2");
    assert_eq!(
        c.refresh(&Secret::new("r1"))
            .await
            .unwrap()
            .access_token
            .expose(),
        "at-refresh_token"
    );
    let t = c.jwt_bearer("user-jwt").await.unwrap();
    assert_eq!(
        t.access_token.expose(),
        "at-urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 5);
    assert!(
        seen.iter().all(|(h, _)| h.get("authorization").is_none()),
        "form auth sends no header"
    );
}

#[tokio::test]
async fn basic_client_auth_sends_the_raw_id_and_secret() {
    let (url, seen) = setup().await;
    let c = client(&url).client_auth(ClientAuth::Basic);
    c.client_credentials(Some("uaa.resource")).await.unwrap();
    let seen = seen.lock().unwrap();
    let (headers, form) = &seen[0];
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{ID}:{SECRET}"));
    assert_eq!(
        headers["authorization"],
        format!("Basic {expected}").as_str()
    );
    assert!(!form.contains_key("client_secret"));
    assert_eq!(form["scope"], "uaa.resource");
}

#[tokio::test]
async fn rfc6749_errors_are_typed() {
    let (url, _) = setup().await;
    let wrong = OAuthClient::new(&url, ID, Secret::new("wrong"), common::http::client());
    let err = wrong.client_credentials(None).await.unwrap_err();
    assert_eq!(
        err,
        OAuthError::Rejected {
            url: format!("{url}/oauth/token"),
            status: 401,
            error: "unauthorized".into(),
            description: "Bad credentials".into()
        }
    );
    assert!(!err.to_string().contains("wrong"));
    let err = client(&url)
        .refresh(&Secret::new("stale"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{url}/oauth/token rejected the request (400): invalid_grant: Invalid grant parameters"
        )
    );
}

#[tokio::test]
async fn non_json_answers_and_network_failures() {
    let (url, _) = setup().await;
    let err = client(&format!("{url}/gateway"))
        .client_credentials(None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid answer from {url}/gateway/oauth/token: HTTP 502 Bad Gateway: <html>Bad Gateway</html>"
        )
    );
    let err = client(&format!("{url}/garbage"))
        .client_credentials(None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::InvalidResponse { reason, .. } if reason.starts_with("not a token response")),
        "{err}"
    );

    let closed = closed_port_url();
    let err = client(&closed).client_credentials(None).await.unwrap_err();
    assert!(
        matches!(&err, OAuthError::Unreachable { url, .. } if *url == format!("{closed}/oauth/token")),
        "{err}"
    );

    let http =
        common::http::client_with_timeouts(Duration::from_secs(5), Duration::from_millis(300));
    let slow = OAuthClient::with_token_url(
        &format!("{url}/slow/oauth/token"),
        ID,
        Secret::new(SECRET),
        http,
    );
    let err = slow.client_credentials(None).await.unwrap_err();
    assert_eq!(
        err,
        OAuthError::Timeout {
            url: format!("{url}/slow/oauth/token")
        }
    );
}

#[tokio::test]
async fn from_xsuaa_uses_the_binding() {
    let (url, seen) = setup().await;
    let mut creds = xsuaa_creds(&url, "localhost:1");
    creds.clientid = ID.into();
    creds.clientsecret = Secret::new(SECRET);
    let c = OAuthClient::from_xsuaa(&creds, common::http::client());
    assert_eq!(c.client_id(), ID);
    c.client_credentials(None).await.unwrap();
    assert_eq!(seen.lock().unwrap()[0].1["client_id"], ID);
}
