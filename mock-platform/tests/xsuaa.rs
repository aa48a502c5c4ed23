//! The mock XSUAA over HTTP on loopback: login, the grants, keys, and the mistakes it catches.

mod support;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::*;

const REDIRECT: &str = "http://127.0.0.1:5000/login/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-0123456789";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn request_id(html: &str) -> String {
    let at = html
        .find("name=\"request_id\" value=\"")
        .expect("the login form has a request_id");
    let rest = &html[at + "name=\"request_id\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn query_param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Opens the authorize URL and returns the login page's request id.
async fn open_login(http: &reqwest::Client, base: &str, client_id: &str, redirect: &str) -> String {
    let response = http
        .get(format!("{base}/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("state", "xyz-state"),
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("type=\"password\""), "a login form: {html}");
    request_id(&html)
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    request_id: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    http.post(format!("{base}/login.do"))
        .form(&[
            ("request_id", request_id),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn redeem(
    p: &mock_platform::RunningPlatform,
    code: &str,
    redirect: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    token_request(
        p,
        &xsuaa_client(p),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn alice_logs_in_with_code_pkce_and_state_and_gets_the_backend_scope() {
    let p = start().await;
    let http = client();
    let client_id = xsuaa_client(&p).id;
    let id = open_login(&http, &p.xsuaa_url, &client_id, REDIRECT).await;

    let wrong = login(&http, &p.xsuaa_url, &id, "alice", "nope").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let html = wrong.text().await.unwrap();
    assert!(
        html.contains("Unable to verify email or password"),
        "{html}"
    );
    assert!(html.contains("type=\"password\""), "the form again");

    let ok = login(&http, &p.xsuaa_url, &id, "alice", "alice-pass").await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let location = ok.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some("xyz-state")
    );
    let code = query_param(&location, "code").unwrap();

    let (status, body) = redeem(&p, &code, REDIRECT, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 3600);
    assert!(body["refresh_token"].is_string());
    assert!(body["id_token"].is_string());
    assert!(body["jti"].is_string());
    let token = body["access_token"].as_str().unwrap();
    let header = header(token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["jku"], format!("{}/token_keys", p.xsuaa_url));
    assert!(header["kid"].is_string());
    let claims = claims(token);
    for claim in [
        "iss",
        "zid",
        "sub",
        "user_id",
        "user_name",
        "email",
        "origin",
        "given_name",
        "family_name",
        "client_id",
        "cid",
        "azp",
        "aud",
        "scope",
        "grant_type",
        "iat",
        "exp",
        "ext_attr",
        "xs.user.attributes",
        "xs.system.attributes",
    ] {
        assert!(!claims[claim].is_null(), "claim {claim} missing: {claims}");
    }
    assert_eq!(claims["iss"], format!("{}/oauth/token", p.xsuaa_url));
    assert_eq!(claims["user_name"], "alice");
    assert_eq!(claims["grant_type"], "authorization_code");
    assert_eq!(claims["cid"], "sb-XsuaaForScenario!t1");
    assert_eq!(claims["ext_attr"]["enhancer"], "XSUAA");
    assert_eq!(claims["ext_attr"]["zdn"], "scenario");
    assert_eq!(
        claims["xs.system.attributes"]["xs.rolecollections"],
        json!(["BackendServiceAllAccess", "UaaUser", "TokenProviderUser"])
    );
    let scopes = scopes(token);
    assert!(
        scopes.contains(&"Backend-service!t6131.AllAccess".to_string()),
        "{scopes:?}"
    );
    assert!(scopes.contains(&"uaa.user".to_string()));
    assert!(scopes.contains(&"openid".to_string()));
    assert_eq!(body["scope"], scopes.join(" "));
    let aud: Vec<&str> = claims["aud"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        aud.contains(&"sb-XsuaaForScenario!t1") && aud.contains(&"Backend-service!t6131"),
        "{aud:?}"
    );

    // A code works once.
    let (status, body) = redeem(&p, &code, REDIRECT, VERIFIER).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(
        p.stats(mock_platform::Service::Xsuaa)["token.authorization_code"],
        1
    );
}

#[tokio::test]
async fn bob_logs_in_but_his_token_lacks_the_backend_scope() {
    let p = start().await;
    let token = user_token(&p, "bob").await;
    let scopes = scopes(&token);
    assert!(
        !scopes.iter().any(|s| s.ends_with(".AllAccess")),
        "{scopes:?}"
    );
    assert!(scopes.contains(&"uaa.user".to_string()));
}

#[tokio::test]
async fn authorize_rejects_a_redirect_uri_outside_the_registered_patterns_without_redirecting() {
    let p = start().await;
    let client_id = xsuaa_client(&p).id;
    for bad in [
        "https://evil.example.com/cb",
        "http://127.0.0.1.evil.com:5000/cb",
        "http://user@127.0.0.1:5000/cb",
    ] {
        let response = client()
            .get(format!("{}/oauth/authorize", p.xsuaa_url))
            .query(&[
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", bad),
                ("state", "s"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            response.headers().get("location").is_none(),
            "never redirect to an unregistered URI"
        );
        assert!(response.text().await.unwrap().contains("did not match"));
    }
    // Other errors go back to the (valid) redirect URI with state.
    let response = client()
        .get(format!("{}/oauth/authorize", p.xsuaa_url))
        .query(&[
            ("response_type", "token"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap();
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(query_param(location, "state").as_deref(), Some("s1"));
    let unknown = client()
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id=nobody",
            p.xsuaa_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn login_session_skips_the_form_until_logout() {
    let p = start().await;
    let http = client();
    let client_id = xsuaa_client(&p).id;
    let id = open_login(&http, &p.xsuaa_url, &client_id, REDIRECT).await;
    let response = login(&http, &p.xsuaa_url, &id, "alice", "alice-pass").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    let authorize = format!(
        "{}/oauth/authorize?response_type=code&client_id={}&redirect_uri={}",
        p.xsuaa_url, client_id, REDIRECT
    );
    let again = http
        .get(&authorize)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        StatusCode::SEE_OTHER,
        "single sign-on: straight back with a code"
    );
    assert!(query_param(again.headers()["location"].to_str().unwrap(), "code").is_some());
    let forced = http
        .get(format!("{authorize}&prompt=login"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forced.status(),
        StatusCode::OK,
        "prompt=login shows the form"
    );

    let logout = http
        .get(format!("{}/logout.do", p.xsuaa_url))
        .query(&[
            ("redirect", "http://127.0.0.1:5000/logged-out"),
            ("client_id", client_id.as_str()),
        ])
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        logout.headers()["location"],
        "http://127.0.0.1:5000/logged-out"
    );
    let after = http
        .get(&authorize)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK, "the login form again");

    let not_allowed = http
        .get(format!(
            "{}/logout.do?redirect=https://evil.example.com/",
            p.xsuaa_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(not_allowed.status(), StatusCode::OK);
    assert!(not_allowed.headers().get("location").is_none());
}

#[tokio::test]
async fn client_credentials_with_raw_and_form_encoded_basic_auth() {
    let p = start().await;
    let dest = destination_client(&p);
    assert!(dest.id.contains('!') && dest.id.contains('|'));
    // The tutorial's way: raw id in Basic, `scope=` empty, as client-oauth2 sends it.
    let basic = STANDARD.encode(format!("{}:{}", dest.id, dest.secret));
    let response = client()
        .post(format!("{}/oauth/token", p.xsuaa_url))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    let claims = claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["grant_type"], "client_credentials");
    assert_eq!(claims["sub"], dest.id.as_str());
    assert!(claims.get("user_name").is_none());
    assert_eq!(claims["scope"], json!(["uaa.resource"]));

    // RFC 6749 form-encoded Basic credentials work too.
    let encoded = STANDARD.encode(format!(
        "{}:{}",
        url::form_urlencoded::byte_serialize(dest.id.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(dest.secret.as_bytes()).collect::<String>()
    ));
    let response = client()
        .post(format!("{}/oauth/token", p.xsuaa_url))
        .header("authorization", format!("Basic {encoded}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn password_grant_and_refresh_tokens_that_rotate() {
    let p = start().await;
    let app = xsuaa_client(&p);
    let (_, first) = token_request(
        &p,
        &app,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pass"),
        ],
    )
    .await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let (status, second) = token_request(
        &p,
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(
        claims(second["access_token"].as_str().unwrap())["grant_type"],
        "refresh_token"
    );
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "a new refresh token"
    );
    // That the old one is spent: see the refusals below.
}

#[tokio::test]
async fn jwt_bearer_exchanges_a_user_token_for_another_client() {
    let p = start().await;
    let alice = user_token(&p, "alice").await;
    let dest = destination_client(&p);
    let (status, body) = token_request(
        &p,
        &dest,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &alice),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let exchanged = body["access_token"].as_str().unwrap();
    let claims = claims(exchanged);
    assert_eq!(claims["cid"], dest.id.as_str());
    assert_eq!(claims["user_name"], "alice");
    assert_eq!(
        claims["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    // The destination client may not hold the backend's scope; the user keeps uaa.user.
    assert_eq!(scopes(exchanged), vec!["openid", "uaa.user"]);

    // And back to the app's client: the user's scopes that client may hold.
    let (status, body) = token_request(
        &p,
        &xsuaa_client(&p),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", exchanged),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        scopes(body["access_token"].as_str().unwrap())
            .contains(&"Backend-service!t6131.AllAccess".to_string())
    );
}

#[tokio::test]
async fn token_keys_verify_the_tokens_independently() {
    let p = start().await;
    let jwks: Value = client()
        .get(format!("{}/token_keys", p.xsuaa_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    for field in ["kty", "kid", "alg", "use", "n", "e", "value"] {
        assert!(key[field].is_string(), "{field} in {key}");
    }
    assert!(
        key["value"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let token = user_token(&p, "alice").await;
    assert_eq!(header(&token)["kid"], key["kid"]);
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
        key["n"].as_str().unwrap(),
        key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
        .expect("signed with the published key");
    let pem =
        jsonwebtoken::DecodingKey::from_rsa_pem(key["value"].as_str().unwrap().as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(&token, &pem, &validation)
        .expect("the PEM value is the same key");
    assert_eq!(
        p.xsuaa_credentials()["verificationkey"]
            .as_str()
            .unwrap()
            .trim(),
        key["value"].as_str().unwrap()
    );

    let rotated: Value = client()
        .post(format!("{}/__mock/rotate-keys", p.xsuaa_url))
        .json(&json!({"keep_old": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_token = user_token(&p, "alice").await;
    assert_eq!(header(&new_token)["kid"], rotated["kid"]);
    assert_ne!(rotated["kid"], key["kid"]);
    let (status, _) = token_request(
        &p,
        &destination_client(&p),
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &token),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "tokens of a dropped key no longer verify"
    );
}

#[tokio::test]
async fn userinfo_and_openid_configuration() {
    let p = start().await;
    let token = user_token(&p, "alice").await;
    let info: Value = client()
        .get(format!("{}/userinfo", p.xsuaa_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["user_name"], "alice");
    assert_eq!(info["email"], "alice@example.com");
    let none = client()
        .get(format!("{}/userinfo", p.xsuaa_url))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let technical = client_credentials(&p, &destination_client(&p)).await;
    let forbidden = client()
        .get(format!("{}/userinfo", p.xsuaa_url))
        .bearer_auth(&technical)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let config: Value = client()
        .get(format!("{}/.well-known/openid-configuration", p.xsuaa_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config["token_endpoint"],
        format!("{}/oauth/token", p.xsuaa_url)
    );
    assert_eq!(config["jwks_uri"], format!("{}/token_keys", p.xsuaa_url));
    assert_eq!(config["issuer"], claims(&token)["iss"]);
}

#[tokio::test]
async fn https_listener_serves_the_zone_named_by_x_zid() {
    let p = start().await;
    let ca = reqwest::Certificate::from_pem(p.ca_pem.as_ref().unwrap().as_bytes()).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let tls = p.xsuaa_tls_url.clone().unwrap();
    assert_eq!(tls, format!("https://{}", p.uaadomain));
    let zid = p.xsuaa_credentials()["identityzoneid"]
        .as_str()
        .unwrap()
        .to_string();
    let keys = https
        .get(format!("{tls}/token_keys?zid={zid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), StatusCode::OK);
    let app = xsuaa_client(&p);
    let token = https
        .post(format!("{tls}/oauth/token"))
        .header("x-zid", &zid)
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pass"),
            ("client_id", &app.id),
            ("client_secret", &app.secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let body: Value = token.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["iss"],
        format!("{}/oauth/token", p.xsuaa_url),
        "one issuer whatever the listener"
    );
    let other = https
        .get(format!("{tls}/token_keys"))
        .header("x-zid", "other-zone")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let ca_file = std::fs::read_to_string(p.ca_cert_file.as_ref().unwrap()).unwrap();
    assert!(ca_file.starts_with("-----BEGIN CERTIFICATE-----"));
}

#[tokio::test]
async fn injected_failures_and_stats() {
    let p = start().await;
    let http = client();
    let set = http
        .post(format!("{}/__mock/fail", p.xsuaa_url))
        .json(&json!({"status": 503, "count": 2, "path_prefix": "/oauth/token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let dest = destination_client(&p);
    for _ in 0..2 {
        let (status, _) = token_request(&p, &dest, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        http.get(format!("{}/token_keys", p.xsuaa_url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "other paths unaffected"
    );
    let (status, _) = token_request(&p, &dest, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "the fault is used up");
    let stats = stats(&p.xsuaa_url).await;
    assert_eq!(stats["token.client_credentials"], 1);
    assert_eq!(stats["injected"], 2);
    assert_eq!(stats["requests"], 4);
    http.delete(format!("{}/__mock/stats", p.xsuaa_url))
        .send()
        .await
        .unwrap();
    assert_eq!(support::stats(&p.xsuaa_url).await["requests"], 0);
    assert_eq!(
        http.get(format!("{}/health", p.xsuaa_url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

// ---- The token endpoint's refusals: one row each --------------------------------------------

/// What a row prepares before its token request; the form's [`GIVEN`] stands for it.
#[derive(Clone, Copy)]
enum Given {
    Nothing,
    /// A fresh authorization code of alice's login (with PKCE, for [`REDIRECT`]).
    Code,
    /// The app client's refresh token that was already used once.
    SpentRefreshToken,
    /// A fresh refresh token of the app client.
    RefreshToken,
    /// Alice's token, expired.
    ExpiredUserToken,
    /// The destination client's client-credentials token.
    TechnicalToken,
    /// Alice's token with `openid` only (no `uaa.user`).
    TokenWithoutUaaUser,
}

/// Stands for the row's prepared value in its form.
const GIVEN: &str = "{given}";

/// Who authenticates at the token endpoint.
#[derive(Clone, Copy)]
enum Who {
    App,
    Destination,
    DestinationWithAWrongSecret,
    Nobody,
}

struct Refusal {
    name: &'static str,
    given: Given,
    who: Who,
    form: Vec<(&'static str, String)>,
    status: StatusCode,
    /// RFC 6749 §5.2 `error`, when the row pins it.
    error: Option<&'static str>,
    /// Words the `error_description` must contain.
    description: Option<&'static str>,
}

fn refusals() -> Vec<Refusal> {
    let jwt_bearer = |assertion: &str| {
        vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
            ),
            ("assertion", assertion.to_string()),
        ]
    };
    let code = |redirect: &str, verifier: Option<String>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", GIVEN.to_string()),
            ("redirect_uri", redirect.to_string()),
        ];
        form.extend(verifier.map(|v| ("code_verifier", v)));
        form
    };
    let client_credentials = vec![("grant_type", "client_credentials".to_string())];
    let refresh = vec![
        ("grant_type", "refresh_token".to_string()),
        ("refresh_token", GIVEN.to_string()),
    ];
    vec![
        Refusal {
            name: "code with the wrong PKCE verifier",
            given: Given::Code,
            who: Who::App,
            form: code(REDIRECT, Some(format!("{VERIFIER}x"))),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_grant"),
            description: Some("PKCE"),
        },
        Refusal {
            name: "code for another redirect_uri",
            given: Given::Code,
            who: Who::App,
            form: code("http://127.0.0.1:5000/other", Some(VERIFIER.to_string())),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_grant"),
            description: Some("Redirect URI mismatch."),
        },
        Refusal {
            name: "code without its PKCE verifier",
            given: Given::Code,
            who: Who::App,
            form: code(REDIRECT, None),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_grant"),
            description: None,
        },
        Refusal {
            name: "client credentials with a wrong secret",
            given: Given::Nothing,
            who: Who::DestinationWithAWrongSecret,
            form: client_credentials.clone(),
            status: StatusCode::UNAUTHORIZED,
            error: Some("invalid_client"),
            description: None,
        },
        Refusal {
            name: "client credentials without credentials",
            given: Given::Nothing,
            who: Who::Nobody,
            form: client_credentials.clone(),
            status: StatusCode::UNAUTHORIZED,
            error: None,
            description: None,
        },
        Refusal {
            name: "the implicit grant",
            given: Given::Nothing,
            who: Who::Destination,
            form: vec![("grant_type", "implicit".to_string())],
            status: StatusCode::BAD_REQUEST,
            error: Some("unsupported_grant_type"),
            description: None,
        },
        Refusal {
            name: "client credentials for a scope the client may not hold",
            given: Given::Nothing,
            who: Who::Destination,
            form: vec![
                ("grant_type", "client_credentials".to_string()),
                ("scope", "Backend-service!t6131.AllAccess".to_string()),
            ],
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_scope"),
            description: None,
        },
        Refusal {
            name: "password grant with a wrong password",
            given: Given::Nothing,
            who: Who::App,
            form: vec![
                ("grant_type", "password".to_string()),
                ("username", "alice".to_string()),
                ("password", "wrong".to_string()),
            ],
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_grant"),
            description: None,
        },
        Refusal {
            name: "a refresh token used twice",
            given: Given::SpentRefreshToken,
            who: Who::App,
            form: refresh.clone(),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_grant"),
            description: None,
        },
        Refusal {
            name: "another client's refresh token",
            given: Given::RefreshToken,
            who: Who::Destination,
            form: refresh,
            status: StatusCode::BAD_REQUEST,
            error: None,
            description: None,
        },
        Refusal {
            name: "jwt-bearer with an expired assertion",
            given: Given::ExpiredUserToken,
            who: Who::Destination,
            form: jwt_bearer(GIVEN),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_grant"),
            description: Some("expired"),
        },
        Refusal {
            name: "jwt-bearer with a client-credentials token as assertion",
            given: Given::TechnicalToken,
            who: Who::Destination,
            form: jwt_bearer(GIVEN),
            status: StatusCode::BAD_REQUEST,
            error: None,
            description: None,
        },
        Refusal {
            name: "jwt-bearer with an assertion without uaa.user",
            given: Given::TokenWithoutUaaUser,
            who: Who::Destination,
            form: jwt_bearer(GIVEN),
            status: StatusCode::BAD_REQUEST,
            error: Some("invalid_grant"),
            description: Some("uaa.user"),
        },
    ]
}

/// Every refusal gets its status, RFC 6749 `error` and reason; rows run concurrently on one mock,
/// and the test names every row that failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_endpoint_refuses_with_the_rfc_6749_error() {
    let p = std::sync::Arc::new(start().await);
    let rows: Vec<_> = refusals()
        .into_iter()
        .map(|row| (row.name, tokio::spawn(refuse(p.clone(), row))))
        .collect();
    testkit::table::all_rows_pass(rows).await;
}

async fn refuse(p: std::sync::Arc<mock_platform::RunningPlatform>, row: Refusal) {
    let name = row.name;
    let app = xsuaa_client(&p);
    let given = match row.given {
        Given::Nothing => String::new(),
        Given::Code => {
            let http = client();
            let id = open_login(&http, &p.xsuaa_url, &app.id, REDIRECT).await;
            let response = login(&http, &p.xsuaa_url, &id, "alice", "alice-pass").await;
            query_param(response.headers()["location"].to_str().unwrap(), "code").unwrap()
        }
        Given::SpentRefreshToken | Given::RefreshToken => {
            let password = [
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-pass"),
            ];
            let (_, first) = token_request(&p, &app, &password).await;
            let refresh = first["refresh_token"].as_str().unwrap().to_string();
            if let Given::SpentRefreshToken = row.given {
                let (status, _) = token_request(
                    &p,
                    &app,
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{name}: the first use");
            }
            refresh
        }
        Given::ExpiredUserToken => mock_token(&p, json!({"user": "alice", "expires_in": -5})).await,
        Given::TechnicalToken => client_credentials(&p, &destination_client(&p)).await,
        Given::TokenWithoutUaaUser => {
            mock_token(&p, json!({"user": "alice", "scopes": ["openid"]})).await
        }
    };
    let form: Vec<(&str, String)> = row
        .form
        .iter()
        .map(|(k, v)| (*k, v.replace(GIVEN, &given)))
        .collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = match row.who {
        Who::App => token_request(&p, &app, &form).await,
        Who::Destination => token_request(&p, &destination_client(&p), &form).await,
        Who::DestinationWithAWrongSecret => {
            let wrong = Client {
                id: destination_client(&p).id,
                secret: "wrong".into(),
            };
            token_request(&p, &wrong, &form).await
        }
        Who::Nobody => {
            let response = client()
                .post(format!("{}/oauth/token", p.xsuaa_url))
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(status, row.status, "{name}: {body}");
    if let Some(error) = row.error {
        assert_eq!(body["error"], error, "{name}: {body}");
    }
    if let Some(words) = row.description {
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(words), "{name}: {body}");
    }
}
