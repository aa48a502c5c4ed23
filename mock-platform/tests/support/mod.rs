//! The platform's own clients and grants over HTTP. Starting the platform (with its TLS listener),
//! the client, JWT and stats helpers are `testkit`'s.
#![allow(dead_code, unused_imports)]

use mock_platform::{MockConfig, RunningPlatform};
use reqwest::StatusCode;
use serde_json::Value;
pub use testkit::net::client;
pub use testkit::platform::stats;
pub use testkit::tokens::{claims, header, scopes};

pub async fn start() -> RunningPlatform {
    start_with(MockConfig::builtin()).await
}

pub async fn start_with(config: MockConfig) -> RunningPlatform {
    testkit::platform::start_with_tls(config).await
}

pub struct Client {
    pub id: String,
    pub secret: String,
}

pub fn xsuaa_client(p: &RunningPlatform) -> Client {
    let c = p.xsuaa_credentials();
    Client {
        id: c["clientid"].as_str().unwrap().into(),
        secret: c["clientsecret"].as_str().unwrap().into(),
    }
}

pub fn destination_client(p: &RunningPlatform) -> Client {
    let c = p.destination_credentials();
    Client {
        id: c["clientid"].as_str().unwrap().into(),
        secret: c["clientsecret"].as_str().unwrap().into(),
    }
}

/// POST /oauth/token with client credentials in the form; returns (status, JSON body).
pub async fn token_request(
    p: &RunningPlatform,
    client: &Client,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    form.push(("client_id", &client.id));
    form.push(("client_secret", &client.secret));
    let response = self::client()
        .post(format!("{}/oauth/token", p.xsuaa_url))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn password_token(
    p: &RunningPlatform,
    client: &Client,
    user: &str,
    password: &str,
) -> String {
    let (status, body) = token_request(
        p,
        client,
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    testkit::tokens::access_token(&body)
}

pub async fn user_token(p: &RunningPlatform, user: &str) -> String {
    let password = format!("{user}-pass");
    password_token(p, &xsuaa_client(p), user, &password).await
}

pub async fn client_credentials(p: &RunningPlatform, client: &Client) -> String {
    let (status, body) = token_request(p, client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// A token from `POST /__mock/token`.
pub async fn mock_token(p: &RunningPlatform, body: Value) -> String {
    testkit::tokens::mock_token(&p.xsuaa_url, &body).await
}
