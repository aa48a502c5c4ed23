use super::*;
use crate::token_cache::Expiring;
use std::time::{Duration, Instant};

fn client() -> OAuthClient {
    OAuthClient::new(
        "http://127.0.0.1:1/",
        "sb-app!t1",
        Secret::new("s"),
        crate::http::client(),
    )
}

#[test]
fn authorization_request_has_pkce_s256_and_state() {
    let req = client().authorization_request("http://127.0.0.1:5000/login/callback");
    let url = url::Url::parse(&req.url).unwrap();
    assert_eq!(url.path(), "/oauth/authorize");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "sb-app!t1");
    assert_eq!(q["redirect_uri"], "http://127.0.0.1:5000/login/callback");
    assert_eq!(q["state"], req.state);
    assert_eq!(q["code_challenge_method"], "S256");
    // challenge = BASE64URL(SHA256(verifier))
    let challenge = oauth2::PkceCodeChallenge::from_code_verifier_sha256(
        &oauth2::PkceCodeVerifier::new(req.pkce_verifier.expose().to_owned()),
    );
    assert_eq!(q["code_challenge"], challenge.as_str());
    assert!(req.state.len() >= 16);
    let other = client().authorization_request("http://x/cb");
    assert_ne!(other.state, req.state);
    assert!(!format!("{req:?}").contains(req.pkce_verifier.expose()));
}

#[test]
fn endpoints_from_base_or_token_url() {
    assert_eq!(client().token_url(), "http://127.0.0.1:1/oauth/token");
    let c = OAuthClient::with_token_url(
        "http://h:8/oauth/token",
        "id",
        Secret::new("s"),
        crate::http::client(),
    );
    assert!(
        c.authorization_request("http://cb")
            .url
            .starts_with("http://h:8/oauth/authorize?")
    );
    let c = OAuthClient::with_token_url(
        "https://account.api.here.com/oauth2/token",
        "id",
        Secret::new("s"),
        crate::http::client(),
    );
    assert_eq!(c.token_url(), "https://account.api.here.com/oauth2/token");
}

#[test]
fn token_response_parsing() {
    let t: TokenResponse = serde_json::from_str(
        r#"{"access_token":"eyJ","token_type":"bearer","expires_in":43199,"scope":"openid uaa.user","jti":"abc","refresh_token":"r"}"#,
    )
    .unwrap();
    assert_eq!(t.scopes(), vec!["openid", "uaa.user"]);
    assert_eq!(t.expires_in, 43199);
    assert!(t.expires_at() > Instant::now() + Duration::from_secs(43000));
    assert!(!format!("{t:?}").contains("eyJ"));
    let t: TokenResponse =
        serde_json::from_str(r#"{"accessToken":"x","tokenType":"bearer","expiresIn":"600"}"#)
            .unwrap();
    assert_eq!(t.expires_in, 600);
    assert!(t.scopes().is_empty());
}

#[test]
fn error_display() {
    let e = OAuthError::Rejected {
        url: "http://x/oauth/token".into(),
        status: 401,
        error: "invalid_client".into(),
        description: "Bad credentials".into(),
    };
    assert_eq!(
        e.to_string(),
        "http://x/oauth/token rejected the request (401): invalid_client: Bad credentials"
    );
}
