//! Tokens: reading a JWT's parts without verification, and getting tokens from the mock XSUAA.

use base64::Engine;
use serde_json::Value;

fn part(token: &str, index: usize) -> Value {
    let part = token
        .split('.')
        .nth(index)
        .unwrap_or_else(|| panic!("a JWT has three parts: {token}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_else(|e| panic!("JWT part {index} is not base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT part {index} is not JSON: {e}"))
}

/// The claims of a JWT, without verification.
pub fn claims(token: &str) -> Value {
    part(token, 1)
}

/// The header of a JWT.
pub fn header(token: &str) -> Value {
    part(token, 0)
}

/// The `scope` claim as strings.
pub fn scopes(token: &str) -> Vec<String> {
    claims(token)["scope"]
        .as_array()
        .expect("a scope claim")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `POST {xsuaa_url}/__mock/token`: a token with chosen lifetime, scopes or claims.
pub async fn mock_token(xsuaa_url: &str, body: &Value) -> String {
    let response = crate::net::client()
        .post(format!("{xsuaa_url}/__mock/token"))
        .json(body)
        .send()
        .await
        .expect("the mock XSUAA answers");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "/__mock/token: {status} {body}");
    access_token(&body)
}

/// `POST {xsuaa_url}/oauth/token` with the password grant for `user`, the client authenticating
/// with HTTP Basic: what a service does to call the App Router with its own token.
pub async fn password_grant(
    xsuaa_url: &str,
    client_id: &str,
    client_secret: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    crate::net::client()
        .post(format!("{xsuaa_url}/oauth/token"))
        .basic_auth(client_id, Some(client_secret))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("the token endpoint answers")
}

/// The `access_token` of a token endpoint's JSON answer.
pub fn access_token(body: &Value) -> String {
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {body}"))
        .to_string()
}
