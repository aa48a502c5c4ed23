//! Shared helpers: start the platform on free loopback ports and talk to it over HTTP.
#![allow(dead_code)]

use base64::Engine;
use mock_platform::{MockConfig, Ports, RunningPlatform};
use reqwest::StatusCode;
use serde_json::Value;

pub async fn start() -> RunningPlatform {
    start_with(MockConfig::builtin()).await
}

pub async fn start_with(config: MockConfig) -> RunningPlatform {
    mock_platform::start(config, Ports::default())
        .await
        .unwrap_or_else(|e| panic!("the platform did not start: {e}"))
}

/// No redirects followed, so tests see each hop.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
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
    body["access_token"].as_str().unwrap().to_string()
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
    let response = client()
        .post(format!("{}/__mock/token", p.xsuaa_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// The claims of a JWT, without verification.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn scopes(token: &str) -> Vec<String> {
    claims(token)["scope"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

pub async fn stats(url: &str) -> Value {
    client()
        .get(format!("{url}/__mock/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
